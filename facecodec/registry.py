"""The one table from model names to architectures and weights.

Nothing outside this module constructs a model: the CLI, the API, training,
benchmarks and the Pillow plugin all call :func:`create_model`. Names are
kebab-case with a version (``face-hp-v1``) and are never renamed; each model
also has a numeric id, stored in ``.ffc`` files, that is never reused. A
superseded classifier can be *retired* (its weights leave ``weights/``; name
and id stay reserved); codecs never are, since files name them.

Importing this module does not import torch; architectures load lazily.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UnknownModel, WeightsError

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
    codec: str | None = None  # latent classifiers: the codec whose latent they read
    # latent classifiers: later codecs with the same latent, whose files they read too
    # (face-fer-v5 is face-fer-v4 plus a tier whose training leaves the code head as it was)
    also_reads: tuple[str, ...] = ()
    # a model that extends another one's weights (face-fer-v5: face-fer-v4 plus a tier) ships
    # only the tensors that differ from that model's; loading puts them on top of its weights
    weights_base: str | None = None
    # set when a superseded model's weights stop shipping (never for a codec: files
    # name their codec). The name and id stay reserved and the architecture stays
    # trainable; loading pretrained weights fails with this reason.
    retired: str = ""
    # "float16": large weight tensors are stored in half precision (computed in float32;
    # export rounds the model first, so the file *is* the measured model). Existing
    # models keep "float32": changing a codec's stored weights would change its files.
    weights_dtype: str = "float32"
    # recognizers (the measuring panel, weights in benchmarks/panel/): "training" members may
    # enter a codec's loss and its model selection; "held-out" members are only ever measured
    panel: str = ""

    @property
    def reads_pixels(self) -> bool:
        """Whether the model classifies pixels (a classifier or a panel recognizer)."""
        return self.kind in ("classifier", "recognizer")

    def reads(self, codec: str) -> bool:
        """Whether this latent classifier reads ``codec``'s files."""
        return codec == self.codec or codec in self.also_reads

    @property
    def quality_min(self) -> float:
        """The lowest quality the model codes (codecs with an expression-only tier go below 1)."""
        return float(self.kwargs.get("tier_min", 1.0))

    @property
    def weights_file(self) -> str:
        return f"{self.name}.safetensors"

    @property
    def channels(self) -> int:
        return int(self.kwargs.get("in_channels", 1))


#: architectures shared by more than one model (same layers, other weights)
_EXPRESSION_CODE_CODEC = {  # face-fer-v3, -v4: face-fer-v2's guided codec + a 2×6×6 code
    "in_channels": 1,
    "N": 64,
    "M": 96,
    "levels": 8,
    "guide_width": 32,
    "sem_channels": 2,
}
_EXPRESSION_CODE_HEAD = {"latent_channels": 98, "sem_channels": 2, "hidden": 128}  # reads that code

_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="face-hp-v1",
        model_id=1,
        kind="codec",
        architecture="hyperprior:FaceHyperprior",
        kwargs={"in_channels": 1, "N": 64, "M": 96, "levels": 8},
        description="grey mean-scale hyperprior, gain units, rate-distortion (MSE) trained",
    ),
    ModelSpec(
        name="face-fer-v1",
        model_id=2,
        kind="codec",
        architecture="hyperprior:FaceHyperprior",
        kwargs={"in_channels": 1, "N": 64, "M": 96, "levels": 8},
        description="grey mean-scale hyperprior fine-tuned jointly with fer-cnn-joint-v1 "
        "(rate + distortion + expression cross-entropy): the FER-optimised codec",
    ),
    ModelSpec(
        name="face-fer-v2",
        model_id=3,
        kind="codec",
        architecture="guided:GuidedFaceHyperprior",
        kwargs={"in_channels": 1, "N": 64, "M": 96, "levels": 8, "guide_width": 32},
        description="face-fer-v1 whose encoder also sees fer-cnn-joint-v1's first three stages "
        "(frozen, projected into the latent), trained jointly: decoding unchanged",
    ),
    ModelSpec(
        name="face-fer-v3",
        model_id=4,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v2 plus a 2×6×6 expression code in the latent (same at every quality) "
        "from the whole classifier in the encoder; the decoder and a latent head read it",
    ),
    ModelSpec(
        name="face-fer-v4",
        model_id=5,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v3 trained further with fer-cnn-joint-v4 (larger expression terms, "
        "augmented faces, smaller λ at q1): smaller files that its own classifier and head read "
        "almost as well as originals, at lower PSNR",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="face-fer-v5",
        model_id=6,
        kind="codec",
        architecture="expression_tier:ExpressionTierHyperprior",
        kwargs={**_EXPRESSION_CODE_CODEC, "tier_min": 0.25},
        description="face-fer-v4 (the same files from quality 1 up) plus an expression-only tier "
        "at qualities 0.25..1: files that carry only the 2×6×6 expression code (about 20 bytes)",
        weights_dtype="float16",
        weights_base="face-fer-v4",
    ),
    ModelSpec(
        name="face-fer-v6",
        model_id=7,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v4 trained further with twice the expression term and a classifier "
        "taught consistency (no tier): 8–14 % smaller files at qualities 1–4, decoded faces that "
        "fer-cnn-joint-v6 reads within 1.1 points of the originals up to quality 2.5, PSNR 0.2–0.9 dB lower",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="face-fer-v7",
        model_id=8,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v6 trained further with twice its expression and agreement terms: "
        "files 6–9 % larger, decoded faces that fer-cnn-joint-v6 reads within 1.5 points of the "
        "originals at every quality up to 0.3 bpp, and 1 point better at quality 5",
        weights_dtype="float16",
        weights_base="face-fer-v6",
    ),
    ModelSpec(
        name="face-fer-v8",
        model_id=9,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v7 trained further with 1.5× its expression and agreement terms: "
        "files about 5 % larger, decoded faces that fer-cnn-joint-v6 reads within 1.1 points of "
        "the originals at every quality up to 0.3 bpp",
        weights_dtype="float16",
        weights_base="face-fer-v6",
    ),
    ModelSpec(
        name="face-fer-v9",
        model_id=10,
        kind="codec",
        architecture="semantic:SemanticFaceHyperprior",
        kwargs=_EXPRESSION_CODE_CODEC,
        description="face-fer-v3 trained further for faces rather than for one classifier: agreement "
        "with a panel of recognizers of two families under random views, a face discriminator "
        "(adversarial + feature matching), more weight on distortion at the top qualities",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-cnn-v1",
        model_id=101,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="VGG-style expression classifier, 48×48 grey, 7 FER2013 classes, "
        "trained on original faces",
    ),
    ModelSpec(
        name="fer-cnn-joint-v1",
        model_id=102,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="fer-cnn-v1 trained further together with face-fer-v1, on decoded and "
        "original faces: accurate on both",
    ),
    ModelSpec(
        name="fer-cnn-joint-v2",
        model_id=103,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="fer-cnn-joint-v1 trained further together with face-fer-v2, on decoded and "
        "original faces",
        retired="the 50 MB weights budget (fer-cnn-joint-v5 came in): face-fer-v2 is superseded, and "
        "fer-cnn-joint-v1 reads its files within 1.3 points (q1) and 0.4 points (q3 and up) of this one",
    ),
    ModelSpec(
        name="fer-cnn-joint-v3",
        model_id=104,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="fer-cnn-joint-v2 trained further together with face-fer-v3, on decoded and "
        "original faces",
        retired="superseded by fer-cnn-joint-v4, which also reads face-fer-v3's decoded faces "
        "better (+0.1 to +1.7 points at qualities 1, 2, 3, 4, 8); its 4.7 MB did not fit the "
        "50 MB weights budget",
    ),
    ModelSpec(
        name="fer-cnn-joint-v4",
        model_id=105,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="fer-cnn-joint-v3 trained further together with face-fer-v4, on decoded and "
        "original faces",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-cnn-joint-v5",
        model_id=106,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="fer-cnn-joint-v4 trained further on face-fer-v4's decoded faces (codec frozen) "
        "and on originals, with augmentation; its weights are the run's moving average",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-cnn-joint-v6",
        model_id=107,
        kind="classifier",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="fer-cnn-joint-v5 trained further on face-fer-v5's decoded faces (codec frozen), "
        "its expression-only tier included, and on originals, with augmentation; moving-average weights",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-latent-v1",
        model_id=201,
        kind="latent-classifier",
        architecture="latent_classifier:LatentFerNet",
        kwargs={"latent_channels": 96, "width": 192},
        description="expression head on face-fer-v1's decoded latent (no pixel synthesis)",
        codec="face-fer-v1",
        retired="superseded by fer-latent-v3 (more accurate at every quality)",
    ),
    ModelSpec(
        name="fer-latent-v2",
        model_id=202,
        kind="latent-classifier",
        architecture="latent_classifier:LatentFerNet",
        kwargs={"latent_channels": 96, "width": 192, "blocks": 2, "pool": 6, "hidden": 256},
        description="expression head on face-fer-v1's decoded latent, position-aware, "
        "distilled from fer-cnn-joint-v1 on cached latents (no pixel synthesis)",
        codec="face-fer-v1",
        retired="superseded by fer-latent-v3 (more accurate at every quality)",
    ),
    ModelSpec(
        name="fer-latent-v3",
        model_id=203,
        kind="latent-classifier",
        architecture="latent_classifier:LatentFerNet",
        kwargs={"latent_channels": 96, "width": 192, "blocks": 2, "pool": 6, "hidden": 256,
                "dropout": 0.1, "quality_input": True},
        description="fer-latent-v2 told each file's quality (one more input plane), "
        "less dropout (no pixel synthesis)",
        codec="face-fer-v1",
        retired="superseded by fer-latent-v5 for face-fer-v1 files (3–4 points more accurate, about "
        "10 % slower) and by face-fer-v3 + fer-latent-v8 as the default path; its 9.8 MB did not fit "
        "the 50 MB weights budget",
    ),
    ModelSpec(
        name="fer-latent-v5",
        model_id=205,
        kind="latent-classifier",
        architecture="latent_classifier:LatentTailNet",
        kwargs={"latent_channels": 96, "width": 128, "blocks": 1, "stage_channels": 128, "out_channels": 256},
        description="adapter from face-fer-v1's latent to fer-cnn-joint-v1's third-stage features, "
        "then that classifier's last stage (no pixel synthesis, no full-resolution layers)",
        codec="face-fer-v1",
    ),
    ModelSpec(
        name="fer-latent-v7",
        model_id=207,
        kind="latent-classifier",
        architecture="latent_classifier:LatentTailNet",
        kwargs={"latent_channels": 96, "width": 128, "blocks": 0, "stage_channels": 128, "out_channels": 256},
        description="face-fer-v2's latent (which carries a projection of the classifier's third-stage map) "
        "through a 1×1 adapter to that map, then fer-cnn-joint-v2's last stage (no pixel synthesis)",
        codec="face-fer-v2",
        retired="superseded by face-fer-v3 + fer-latent-v8 (a code in the latent instead of a copy of "
        "the stage map); 4–11 points below the pixel domain from quality 3 up, so face-fer-v2 files "
        "now classify in the pixel domain",
    ),
    ModelSpec(
        name="fer-latent-v8",
        model_id=208,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v3's expression code (the latent's last two channels); "
        "trained inside the codec's joint run (no pixel synthesis)",
        codec="face-fer-v3",
    ),
    ModelSpec(
        name="fer-latent-v9",
        model_id=209,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v4's expression code (the latent's last two channels); "
        "trained inside the codec's joint run (no pixel synthesis)",
        codec="face-fer-v4",
        also_reads=("face-fer-v5",),
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-latent-v10",
        model_id=210,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v6's expression code (the latent's last two channels); "
        "trained inside the codec's joint run (no pixel synthesis)",
        codec="face-fer-v6",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-latent-v11",
        model_id=211,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v7's expression code (the latent's last two channels); "
        "trained inside the codec's joint run (no pixel synthesis)",
        codec="face-fer-v7",
        weights_dtype="float16",
    ),
    ModelSpec(
        name="fer-latent-v12",
        model_id=212,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v8's expression code (the latent's last two channels); "
        "trained inside the codec's joint run (no pixel synthesis)",
        codec="face-fer-v8",
        weights_dtype="float16",
    ),
)


#: the recognizer panel: FER classifiers of several architecture families, trained on
#: FER2013 ``train`` originals only, that measure what decoded faces still show. The split
#: into a training and a held-out panel is fixed here, once; nothing that trains or tunes a
#: codec may take a held-out member (:func:`training_panel_spec` refuses them).
_PANEL: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="rec-vgg-a",
        model_id=301,
        kind="recognizer",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 32},
        description="VGG-style (fer-cnn-v1's weights, float16), trained on original faces",
        weights_dtype="float16",
        panel="training",
    ),
    ModelSpec(
        name="rec-resnet-a",
        model_id=302,
        kind="recognizer",
        architecture="recognizers:ResFerNet",
        kwargs={"width": 16, "blocks": 1},
        description="ResNet-style, basic blocks at 48/24/12/6 px, trained on original faces",
        weights_dtype="float16",
        panel="training",
    ),
    ModelSpec(
        name="rec-vgg-b",
        model_id=303,
        kind="recognizer",
        architecture="classifier:FerNet",
        kwargs={"in_channels": 1, "width": 16},
        description="VGG-style, half fer-cnn-v1's width, another seed, trained on original faces",
        weights_dtype="float16",
        panel="training",
    ),
    ModelSpec(
        name="rec-mobile-a",
        model_id=311,
        kind="recognizer",
        architecture="recognizers:MobileFerNet",
        kwargs={"width": 12, "expand": 4},
        description="MobileNetV2-style inverted residuals, trained on original faces",
        weights_dtype="float16",
        panel="held-out",
    ),
    ModelSpec(
        name="rec-inception-a",
        model_id=312,
        kind="recognizer",
        architecture="recognizers:InceptionFerNet",
        kwargs={"width": 24},
        description="GoogLeNet-style Inception blocks on the face resized to 56×56, trained on original faces",
        weights_dtype="float16",
        panel="held-out",
    ),
    ModelSpec(
        name="rec-dense-a",
        model_id=313,
        kind="recognizer",
        architecture="recognizers:DenseFerNet",
        kwargs={"growth": 12, "layers": (4, 6, 6)},
        description="DenseNet-BC-style dense blocks, trained on original faces",
        weights_dtype="float16",
        panel="held-out",
    ),
)
_SPECS = _SPECS + _PANEL

_SPECS = (
    *_SPECS,
    ModelSpec(
        name="fer-latent-v13",
        model_id=213,
        kind="latent-classifier",
        architecture="latent_classifier:SemanticLatentHead",
        kwargs=_EXPRESSION_CODE_HEAD,
        description="reads face-fer-v9's expression code (the latent's last two channels); "
        "trained inside the codec's run (no pixel synthesis)",
        codec="face-fer-v9",
        weights_dtype="float16",
    ),
)
_BY_NAME = {s.name: s for s in _SPECS}
_BY_ID = {s.model_id: s for s in _SPECS}
DEFAULT_CODEC = "face-fer-v3"  # the FER-optimised codec (expression code + latent head)
DEFAULT_CLASSIFIER = "fer-cnn-joint-v1"
#: every registered model is trained on FACE_SIZE×FACE_SIZE face crops
FACE_SIZE = 48
#: the pixel classifier for a codec's decoded files when none is named (else
#: DEFAULT_CLASSIFIER): the one trained jointly with that codec
CODEC_CLASSIFIERS = {
    "face-fer-v2": "fer-cnn-joint-v1",  # fer-cnn-joint-v2 retired: within 0.4 points from q3 up
    "face-fer-v3": "fer-cnn-joint-v4",  # fer-cnn-joint-v3 retired: v4 reads its files better
    "face-fer-v4": "fer-cnn-joint-v5",
    "face-fer-v5": "fer-cnn-joint-v6",  # trained on its tier faces too: +1.5 points at q0.25
    "face-fer-v6": "fer-cnn-joint-v6",  # reads them within about 1 point of the originals
    "face-fer-v7": "fer-cnn-joint-v6",  # within 1.5 points up to 0.3 bpp (session 15)
    "face-fer-v8": "fer-cnn-joint-v6",  # within 1.1 points up to 0.3 bpp (session 16)
}


def model_names(kind: str | None = None, *, retired: bool = False) -> list[str]:
    """Registered names, optionally of one kind, in registration order (retired ones on request)."""
    return [
        s.name for s in _SPECS if (kind is None or s.kind == kind) and (retired or not s.retired)
    ]


def model_ids() -> frozenset[int]:
    """Every numeric id a ``.ffc`` file may name (the codecs')."""
    return frozenset(s.model_id for s in _SPECS if s.kind == "codec")


def get_spec(name: str) -> ModelSpec:
    """The spec for ``name``; an unknown name lists the valid ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
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
        names = [s.name for s in _SPECS if s.kind in CLASSIFYING_KINDS and not s.retired]
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
    """The latent-domain head ``classify`` uses for ``codec``'s files: its latest registered, not retired one, if any."""
    heads = [s for s in _SPECS if s.kind == "latent-classifier" and s.reads(codec) and not s.retired]
    return heads[-1] if heads else None


def pixel_classifier_for(codec: str) -> str:
    """The pixel classifier for faces decoded from ``codec``'s files (:data:`CODEC_CLASSIFIERS`)."""
    return CODEC_CLASSIFIERS.get(codec, DEFAULT_CLASSIFIER)


def spec_for_id(model_id: int) -> ModelSpec:
    """The spec whose id a ``.ffc`` file stores."""
    try:
        return _BY_ID[model_id]
    except KeyError:
        raise UnknownModel(
            f"unknown model id {model_id}; this facecodec knows ids "
            f"{', '.join(str(i) for i in sorted(_BY_ID))}"
        ) from None


def build_architecture(spec: ModelSpec) -> torch.nn.Module:
    """An untrained instance of the spec's architecture (for training)."""
    module_name, class_name = spec.architecture.split(":")
    module = importlib.import_module(f"facecodec.models.{module_name}")
    return getattr(module, class_name)(**spec.kwargs)


def weights_bases(spec: ModelSpec) -> tuple[ModelSpec, ...]:
    """The models whose weights ``spec``'s extend (:attr:`ModelSpec.weights_base`), first to last."""
    if not spec.weights_base:
        return ()
    base = get_spec(spec.weights_base)
    return (*weights_bases(base), base)


def create_model(
    name: str, *, pretrained: bool = True, device: str | torch.device = "cpu"
) -> torch.nn.Module:
    """Build model ``name``; with ``pretrained`` load its shipped weights (sha256-checked)."""
    spec = get_spec(name)
    if pretrained and spec.retired:
        raise WeightsError(f"model {name!r} is retired, its weights no longer ship: {spec.retired}")
    model = build_architecture(spec)
    if pretrained:
        from .weights import load_weights

        load_weights(model, spec, weights_bases(spec))
    model.eval()
    return model.to(device)


def list_models() -> list[dict[str, Any]]:
    """One record per model: name, id, kind, channels, parameters, weights and measured figures."""
    from .weights import read_manifest

    manifest = read_manifest()  # once, not once per model
    shipped, retired = manifest.get("models", {}), manifest.get("retired", {})
    records = []
    for spec in _SPECS:
        entry = shipped.get(spec.name) or {}
        past = (retired.get(spec.name) or {}) if spec.retired else {}
        records.append(
            {
                "name": spec.name,
                "id": spec.model_id,
                "kind": spec.kind,
                "channels": spec.channels,
                "codec": spec.codec,
                "description": spec.description,
                "qualities": entry.get("qualities"),
                "parameters": entry.get("parameters", past.get("parameters")),
                "weights_bytes": entry.get("bytes"),
                "sha256": entry.get("sha256"),
                "training_data": entry.get("training_data"),
                "measured": entry.get("measured"),
                "weights_available": bool(entry),
                "retired": spec.retired or None,
            }
        )
    return records
