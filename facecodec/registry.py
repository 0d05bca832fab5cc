"""The one registry: model names to architectures and weights, defaults, lookups.

The table itself (one :class:`~facecodec.zoo.ModelSpec` per model) is
:mod:`facecodec.zoo`; this module is the only reader of it. Nothing outside this
module constructs a model: the CLI, the API, training,
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
from typing import TYPE_CHECKING, Any

from .errors import UnknownModel
from .zoo import READ_BY, REMOVED, REMOVED_CODEC_IDS, SPECS, ModelSpec

__all__ = ["READ_BY", "REMOVED", "ModelSpec"]  # the zoo's names that callers take from here

if TYPE_CHECKING:
    import torch

_BY_NAME = {s.name: s for s in SPECS}
_BY_ID = {s.model_id: s for s in SPECS}
_REMOVED_BY_ID = {i: n for n, i in REMOVED.items()}
DEFAULT_CODEC = "face-fer-v10"
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
    return [s.name for s in SPECS if (s.kind == kind if kind else s.kind != "recognizer")]


def model_ids() -> frozenset[int]:
    """Every numeric id a ``.ffc`` file may name: the codecs', and removed codecs' (which
    :func:`spec_for_id` refuses with the release that reads them)."""
    return frozenset(s.model_id for s in SPECS if s.kind == "codec") | REMOVED_CODEC_IDS


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
    return [s.name for s in SPECS if s.kind == "recognizer" and s.panel == role]


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


def weights_owner(spec: ModelSpec) -> ModelSpec:
    """The model whose weights file holds ``spec``'s weights (a codec for ``weights_in``)."""
    return get_spec(spec.weights_in) if spec.weights_in else spec


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
