"""The model zoo: one :class:`ModelSpec` per model facecodec ships, the recognizer panel,
and the names and ids of removed models.

This module is data. Looking models up, building them and listing them is
:mod:`facecodec.registry`'s job; nothing else reads these tables. Adding a codec
is one :class:`ModelSpec` with its ``classifier`` and ``latent_head`` (and a head
entry if it has a head of its own). Names and ids are never reused.

Importing this module does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    """How to build one registered model."""

    name: str
    model_id: int
    kind: str  # "codec", "classifier" (pixels), "latent-classifier" (a codec's y_hat) or "recognizer"
    architecture: str  # "module:Class" under facecodec.models
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # codecs: what the codec is for, in a few words (``facecodec models``)
    role: str = ""
    # codecs: the pixel classifier for faces decoded from its files
    classifier: str | None = None
    # codecs: the latent head that classifies its files without decoding pixels (None: pixels)
    latent_head: str | None = None
    # "float16": large weight tensors are stored in half precision (computed in float32;
    # export rounds the model first, so the file *is* the measured model). Models stored
    # in float32 stay so: changing a codec's stored weights would change its files.
    weights_dtype: str = "float32"
    # a classifier shipped inside a codec's file, as that codec's frozen expression guide:
    # it has no file of its own (its weights load from the codec's, sha256-checked)
    weights_in: str | None = None
    # recognizers (the measuring panel, weights in benchmarks/panel/): "training" members may
    # enter a codec's loss and its model selection; "held-out" members are only ever measured
    panel: str = ""

    @property
    def reads_pixels(self) -> bool:
        """Whether the model classifies pixels (a classifier or a panel recognizer)."""
        return self.kind in ("classifier", "recognizer")

    @property
    def codec(self) -> str | None:
        """Latent heads: the codec whose latent they read (the codec entry naming them)."""
        if self.kind != "latent-classifier":
            return None
        return next((s.name for s in SPECS if s.latent_head == self.name), None)

    def reads(self, codec: str) -> bool:
        """Whether this latent head reads ``codec``'s files."""
        return self.kind == "latent-classifier" and self.codec == codec

    @property
    def weights_file(self) -> str:
        return f"{self.weights_in or self.name}.safetensors"

    @property
    def channels(self) -> int:
        return int(self.kwargs.get("in_channels", 1))


#: the expression-code codec's layers (face-fer-v3, face-fer-v9 and their successors)
_EXPRESSION_CODE_CODEC = {
    "in_channels": 1,
    "N": 64,
    "M": 96,
    "levels": 8,
    "guide_width": 32,
    "sem_channels": 2,
}
_EXPRESSION_CODE_HEAD = {"latent_channels": 98, "sem_channels": 2, "hidden": 128}  # reads that code
_FERNET = {"in_channels": 1, "width": 32}

SPECS: tuple[ModelSpec, ...] = (
    # --- codecs -------------------------------------------------------------------------
    ModelSpec(
        name="face-fer-v10",
        model_id=11,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v9 trained further with a detail floor (decoded fine detail must be "
        "the original's at every quality) and without its co-trained classifier's term: the "
        "training panel's agreement and the face discriminator, fainter stripes",
        role="faces that recognizers it never saw still read, with fewer invented patterns",
        classifier="fer-cnn-joint-v1",
        latent_head="fer-latent-v14",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="face-fer-v9",
        model_id=10,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v3 trained further for faces rather than for one classifier: agreement "
        "with the training panel of recognizers under random views, and a face discriminator "
        "(adversarial and feature-matching terms)",
        role="the previous default: reads and writes its files (quality 1 draws stripes around the mouth)",
        classifier="fer-cnn-joint-v1",
        latent_head="fer-latent-v13",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="face-fer-v3",
        model_id=4,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="mean-scale hyperprior whose encoder sees a frozen expression classifier "
        "(fer-cnn-joint-v1) and writes a 2×6×6 expression code into the latent; trained jointly "
        "for rate, distortion and expression",
        role="the 0.1 default: reads and writes its files, about 10 % smaller than face-fer-v9's at each quality",
        classifier="fer-cnn-joint-v4",
        latent_head="fer-latent-v8",
    ),
    ModelSpec(
        name="face-hp-v1",
        model_id=1,
        kind="codec",
        architecture="hyperprior:FaceHyperprior",
        kwargs={"in_channels": 1, "N": 64, "M": 96, "levels": 8},
        description="grey mean-scale hyperprior with gain units, trained for rate and distortion (MSE)",
        role="fidelity first: the best PSNR per byte, no expression terms",
        classifier="fer-cnn-joint-v1",
    ),
    # --- pixel classifiers ---------------------------------------------------------------
    ModelSpec(
        name="fer-cnn-joint-v1",
        model_id=102,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs=_FERNET,
        description="VGG-style expression classifier (48×48 grey, 7 FER2013 classes), trained "
        "on original faces and then together with a codec on decoded and original ones; the "
        "default for images, and face-fer-v3's frozen guide (it ships inside that file)",
        weights_in="face-fer-v3",
    ),
    ModelSpec(
        name="fer-cnn-joint-v4",
        model_id=105,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs=_FERNET,
        description="fer-cnn-joint-v1's architecture trained further together with the "
        "expression-code codec, on decoded and original faces: reads face-fer-v3's files",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-latent-v8",
        model_id=208,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v3's expression code (the latent's last two channels); "
        "trained inside the codec's joint run",
    ),
    ModelSpec(
        name="fer-latent-v14",
        model_id=214,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v10's expression code (the latent's last two channels); "
        "trained inside the codec's run (no pixel synthesis)",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-latent-v13",
        model_id=213,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v9's expression code (the latent's last two channels); "
        "trained inside the codec's run (no pixel synthesis)",
        weights_dtype="float16",
    ),
)

#: the recognizer panel: FER classifiers of several architecture families, trained on
#: FER2013 ``train`` originals only, that measure what decoded faces still show. The split
#: into a training and a held-out panel is fixed here, once; nothing that trains or tunes a
#: codec may take a held-out member (:func:`training_panel_spec` refuses them).
PANEL: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="panel-vgg-v1",
        model_id=301,
        kind="recognizer",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="VGG-style (the weights of fer-cnn-v1 of facecodec 0.1, in float16), trained on original faces",
        weights_dtype="float16",
        panel="training",
    ),
    ModelSpec(
        name="panel-resnet-v1",
        model_id=302,
        kind="recognizer",
        architecture="recognizers:ResFerNet",
        kwargs={"width": 16, "blocks": 1},
        description="ResNet-style, basic blocks at 48/24/12/6 px, trained on original faces",
        weights_dtype="float16",
        panel="training",
    ),
    ModelSpec(
        name="panel-vgg-v2",
        model_id=303,
        kind="recognizer",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 16},
        description="VGG-style, half panel-vgg-v1's width, another seed, trained on original faces",
        weights_dtype="float16",
        panel="training",
    ),
    ModelSpec(
        name="panel-mobile-v1",
        model_id=311,
        kind="recognizer",
        architecture="recognizers:MobileFerNet",
        kwargs={"width": 12, "expand": 4},
        description="MobileNetV2-style inverted residuals, trained on original faces",
        weights_dtype="float16",
        panel="held-out",
    ),
    ModelSpec(
        name="panel-inception-v1",
        model_id=312,
        kind="recognizer",
        architecture="recognizers:InceptionFerNet",
        kwargs={"width": 24},
        description="GoogLeNet-style Inception blocks on the face resized to 56×56, trained on original faces",
        weights_dtype="float16",
        panel="held-out",
    ),
    ModelSpec(
        name="panel-dense-v1",
        model_id=313,
        kind="recognizer",
        architecture="recognizers:DenseFerNet",
        kwargs={"growth": 12, "layers": (4, 6, 6)},
        description="DenseNet-BC-style dense blocks, trained on original faces",
        weights_dtype="float16",
        panel="held-out",
    ),
)
SPECS = (*SPECS, *PANEL)

#: the release line that reads files and weights of removed models
READ_BY = "facecodec 0.1.x"
#: models of earlier releases (name → id): names and ids reserved forever, never reused
REMOVED: dict[str, int] = {
    "face-fer-v1": 2, "face-fer-v2": 3, "face-fer-v4": 5, "face-fer-v5": 6, "face-fer-v6": 7,
    "face-fer-v7": 8, "face-fer-v8": 9, "fer-cnn-v1": 101, "fer-cnn-joint-v2": 103,
    "fer-cnn-joint-v3": 104, "fer-cnn-joint-v5": 106, "fer-cnn-joint-v6": 107,
    "fer-latent-v1": 201, "fer-latent-v2": 202, "fer-latent-v3": 203, "fer-latent-v5": 205,
    "fer-latent-v7": 207, "fer-latent-v9": 209, "fer-latent-v10": 210, "fer-latent-v11": 211,
    "fer-latent-v12": 212,
}  # fmt: skip
#: ids of removed codecs: ``.ffc`` files may name them
REMOVED_CODEC_IDS = frozenset({2, 3, 5, 6, 7, 8, 9})
