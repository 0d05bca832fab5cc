"""What every point of a bench run is measured against: the dataset and its labels, the
reference classifier and its readings of the originals, and the recognizer panels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError, FacecodecError
from . import metrics


@dataclass
class Context:
    """The originals and what reads them: labels, classifier, its predictions, the panels."""

    images: np.ndarray
    labels: np.ndarray | None
    classifier: Any
    device: Any
    original_preds: np.ndarray | None
    original_accuracy: float | None
    panels: list[Any] = field(default_factory=list)  # facecodec.panel.Panel, held-out first


def load_dataset(path: str | Path, split: str | None) -> tuple[Any, str]:
    """The dataset and the split actually used (``auto``: ``val`` when it has one)."""
    from ..train.data import load_faces

    path = Path(path)
    if path.is_dir() or split in (None, "", "all"):
        return load_faces(path), "all"
    if split == "auto":
        try:
            return load_faces(path, "val"), "val"
        except DatasetError:
            return load_faces(path), "all"
    return load_faces(path, split), split


def load_classifier(name: str, device: Any) -> Any:
    """A registered classifier: float (B, 1, 48, 48) in [0, 1] → logits (B, classes)."""
    from .. import registry

    spec = registry.get_spec(name)
    if not spec.reads_pixels:
        raise FacecodecError(f"{name!r} is a {spec.kind}, not a classifier")
    return registry.create_model(name, device=device).eval()


def resolve_classifier(name: str | None) -> str | None:
    """``--classifier``: a name, ``none``, or None for the first registered one."""
    if name is not None:
        return None if name.lower() == "none" else name
    from .. import registry

    names = registry.model_names("classifier")
    return names[0] if names else None


def map_labels(
    dataset: Any, known: Sequence[str], subset: bool = True
) -> tuple[np.ndarray | None, str | None]:
    """The dataset's labels as indices into the classes ``known`` (a classifier's, or the
    panel's: FER2013's), or None and why. ``subset``: a dataset with some of ``known``'s
    classes maps onto them (the panel takes only datasets of exactly its classes)."""
    labels, classes = dataset.labels, dataset.classes
    if labels is None:
        return None, "dataset has no labels (accuracy not measured; agreement is)"
    classes, known = tuple(classes), tuple(known)
    if classes == known:
        return labels, None
    if subset and classes and set(classes) <= set(known):
        lookup = np.array([known.index(c) for c in classes])
        return lookup[labels], None
    return None, f"dataset classes {list(classes)} are not the classifier's {list(known)}"


def load_panels(images: np.ndarray, labels: np.ndarray | None, device: Any, notes: list[str]) -> list[Any]:
    """The held-out and training recognizer panels, loaded (none, with a note, when absent)."""
    from .. import panel
    from ..errors import WeightsError

    loaded = []
    for role in panel.ROLES:
        try:
            loaded.append(panel.load(role, images, labels, device))
        except WeightsError as exc:
            notes.append(f"{role} recognizer panel not measured: {exc}")
    return loaded


def own_classifier(codec: str, ctx: Context) -> tuple[str, Any] | None:
    """The pixel classifier a codec's entry names for its decoded faces, loaded; None when the run
    measures no accuracy (no classifier, or no labels it can read)."""
    from .. import registry

    if ctx.labels is None or ctx.classifier is None:
        return None
    name = registry.pixel_classifier_for(codec)
    return name, metrics.prepare_classifier(load_classifier(name, ctx.device))


def make_context(
    images: np.ndarray, dataset: Any, name: str | None, device: Any, notes: list[str]
) -> Context:
    """Load the classifier (if any) and its predictions on the originals."""
    if name is None:
        return Context(images, None, None, device, None, None)
    from ..train.data import FER2013_CLASSES

    model = metrics.prepare_classifier(load_classifier(name, device))
    labels, why = map_labels(dataset, getattr(model, "classes", FER2013_CLASSES))
    if why:
        notes.append(why)
    preds = metrics.predict(model, images, device)
    accuracy = None if labels is None else round(float(np.mean(preds == labels) * 100), 2)
    return Context(images, labels, model, device, preds, accuracy)
