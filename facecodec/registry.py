"""The one table from model names to architectures and weights.

Nothing outside this module constructs a model: the CLI, the API, training,
benchmarks and the Pillow plugin all call :func:`create_model`. Names are
kebab-case with a version (``face-hp-v1``) and are never renamed; each model
also has a numeric id, stored in ``.ffc`` files, that is never reused.

Each codec entry names the pixel classifier and the latent head that read its
files (``classifier``, ``latent_head``): nothing else decides it. Adding a codec
is one :class:`ModelSpec` with those two fields (and a head entry if it has a
head of its own). Models of earlier releases are listed in :data:`REMOVED`:
their names and ids stay reserved, and a file or a ``--model`` naming one
fails with one line saying which release reads it.

Importing this module does not import torch; architectures load lazily.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UnknownModel

if TYPE_CHECKING:
    import torch


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
        return next((s.name for s in _SPECS if s.latent_head == self.name), None)

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

_SPECS: tuple[ModelSpec, ...] = (
    # --- codecs -------------------------------------------------------------------------
    ModelSpec(
        name="face-fer-v9",
        model_id=10,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v3 trained further for faces rather than for one classifier: agreement "
        "with the training panel of recognizers under random views, and a face discriminator "
        "(adversarial and feature-matching terms)",
        role="faces that recognizers it never saw still read",
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
_PANEL: tuple[ModelSpec, ...] = (
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
_SPECS = (*_SPECS, *_PANEL)

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
_REMOVED_CODEC_IDS = frozenset({2, 3, 5, 6, 7, 8, 9})

_BY_NAME = {s.name: s for s in _SPECS}
_BY_ID = {s.model_id: s for s in _SPECS}
_REMOVED_BY_ID = {i: n for n, i in REMOVED.items()}
DEFAULT_CODEC = "face-fer-v9"
DEFAULT_CLASSIFIER = "fer-cnn-joint-v1"  # for images (faces that were never coded)
#: every registered model is trained on FACE_SIZE×FACE_SIZE face crops
FACE_SIZE = 48
#: the expression classes every registered classifier reads (FER2013's, in its label order)
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def _removed_error(name: str) -> UnknownModel:
    return UnknownModel(f"model {name!r} was removed in facecodec 0.2; {READ_BY} reads its files")


def model_names(kind: str | None = None) -> list[str]:
    """Registered names of one kind, or (``None``) of every model the package ships: the codecs,
    classifiers and latent heads, not the recognizer panel; in registration order."""
    return [s.name for s in _SPECS if (s.kind == kind if kind else s.kind != "recognizer")]


def model_ids() -> frozenset[int]:
    """Every numeric id a ``.ffc`` file may name: the codecs', and removed codecs' (which
    :func:`spec_for_id` refuses with the release that reads them)."""
    return frozenset(s.model_id for s in _SPECS if s.kind == "codec") | _REMOVED_CODEC_IDS


def get_spec(name: str) -> ModelSpec:
    """The spec for ``name``; a removed name says which release reads it, an unknown one
    lists the valid ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        if name in REMOVED:
            raise _removed_error(name) from None
        raise UnknownModel(
            f"unknown model {name!r}; valid models: {', '.join(model_names())}"
        ) from None


def codec_spec(name: str) -> ModelSpec:
    """Like :func:`get_spec`, but the model must be a codec."""
    spec = get_spec(name)
    if spec.kind != "codec":
        raise UnknownModel(
            f"{name!r} is a {spec.kind}, not a codec; codecs: {', '.join(model_names('codec'))}"
        )
    return spec


CLASSIFYING_KINDS = ("classifier", "latent-classifier", "recognizer")


def classifier_spec(name: str) -> ModelSpec:
    """Like :func:`get_spec`, but the model must classify (pixels or latents; panel recognizers too)."""
    spec = get_spec(name)
    if spec.kind not in CLASSIFYING_KINDS:
        names = [n for kind in CLASSIFYING_KINDS for n in model_names(kind)]
        raise UnknownModel(
            f"{name!r} is a {spec.kind}, not a classifier; classifiers: {', '.join(names)}"
        )
    return spec


def panel_names(role: str) -> list[str]:
    """The recognizers of one panel: ``"training"`` or ``"held-out"``."""
    if role not in ("training", "held-out"):
        raise UnknownModel(f"unknown panel {role!r}; panels: training, held-out")
    return [s.name for s in _SPECS if s.kind == "recognizer" and s.panel == role]


def training_panel_spec(name: str) -> ModelSpec:
    """The spec of a recognizer that may enter training; a held-out one is refused."""
    spec = get_spec(name)
    if spec.kind != "recognizer" or spec.panel != "training":
        allowed = ", ".join(panel_names("training"))
        why = "is held out: it is only ever measured" if spec.panel == "held-out" else f"is a {spec.kind}"
        raise UnknownModel(f"{name!r} {why}; the training panel: {allowed}")
    return spec


def latent_classifier_for(codec: str) -> ModelSpec | None:
    """The latent head ``classify`` uses for ``codec``'s files: its entry's ``latent_head``."""
    head = codec_spec(codec).latent_head
    return get_spec(head) if head else None


def pixel_classifier_for(codec: str) -> str:
    """The pixel classifier for faces decoded from ``codec``'s files: its entry's ``classifier``."""
    return codec_spec(codec).classifier or DEFAULT_CLASSIFIER


def spec_for_id(model_id: int) -> ModelSpec:
    """The spec whose id a ``.ffc`` file stores; a removed codec's id says which release reads it."""
    try:
        return _BY_ID[model_id]
    except KeyError:
        if model_id in _REMOVED_BY_ID:
            raise _removed_error(_REMOVED_BY_ID[model_id]) from None
        raise UnknownModel(
            f"unknown model id {model_id}; this facecodec knows ids "
            f"{', '.join(str(i) for i in sorted(_BY_ID))}"
        ) from None


def build_architecture(spec: ModelSpec) -> torch.nn.Module:
    """An untrained instance of the spec's architecture (for training)."""
    module_name, class_name = spec.architecture.split(":")
    module = importlib.import_module(f"facecodec.models.{module_name}")
    return getattr(module, class_name)(**spec.kwargs)


def create_model(
    name: str, *, pretrained: bool = True, device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """Build model ``name``; with ``pretrained`` load its shipped weights (sha256-checked)."""
    spec = get_spec(name)
    model = build_architecture(spec)
    if pretrained:
        from .weights import load_weights

        load_weights(model, spec, get_spec(spec.weights_in) if spec.weights_in else None)
    model.eval()
    return model.to(device)


def _summary(points: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """A codec's measured points at its lowest, middle and top quality."""
    if not points:
        return None
    picked = [points[0], points[len(points) // 2], points[-1]] if len(points) > 2 else points
    keys = ("quality", "bytes", "bpp", "psnr", "heldout_agreement", "heldout_agreement_worst", "heldout_accuracy")
    return [{k: p[k] for k in keys if k in p} for p in picked]


def list_models() -> list[dict[str, Any]]:
    """One record per model: name, id, kind, role, readers, parameters, weights and measured figures."""
    from .weights import read_manifest

    shipped = read_manifest().get("models", {})  # once, not once per model
    records = []
    for spec in map(get_spec, model_names()):  # the recognizer panel does not ship (docs/panel.md)
        entry = shipped.get(spec.name) or {}
        measured = entry.get("measured")
        records.append(
            {
                "name": spec.name,
                "id": spec.model_id,
                "kind": spec.kind,
                "default": spec.name in (DEFAULT_CODEC, DEFAULT_CLASSIFIER),
                "role": spec.role or None,
                "channels": spec.channels,
                "classifier": spec.classifier,
                "latent_head": spec.latent_head,
                "codec": spec.codec,
                "description": spec.description,
                "qualities": entry.get("qualities"),
                "parameters": entry.get("parameters"),
                "weights_file": entry.get("file"),
                "weights_bytes": entry.get("bytes"),
                "sha256": entry.get("sha256"),
                "training_data": entry.get("training_data"),
                "measured": measured,
                "low_mid_top": _summary((measured or {}).get("points")) if spec.kind == "codec" else None,
                "weights_available": bool(entry),
            }
        )
    return records
