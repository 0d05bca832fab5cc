"""Face datasets for training and benchmarks.

Supported layouts (``load_faces``):

* ``.npz`` in the layout of ``shared/data/fer2013``: ``images`` uint8
  (N, H, W[, C]), optional ``labels`` int (N,) and ``split`` str (N,).
* FER2013's original ``.csv``: ``emotion,pixels,Usage`` with 48×48
  space-separated grey pixels; ``Usage`` Training → ``train``, PublicTest →
  ``val``, PrivateTest → ``test``.
* a folder of images: class-per-folder (``root/<class>/*.png`` and no images
  beside the class folders; labels are the sorted folder names), or else
  unlabelled: every image under the folder, sub-folders included. Images are
  resized to ``size``.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatasetError

FER2013_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
_USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm"}


@dataclass
class FaceSet:
    """Images (N, H, W, C) uint8, labels (N,) int64 or None, class names."""

    images: np.ndarray
    labels: np.ndarray | None
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, limit: int | None) -> FaceSet:
        if limit is None or limit >= len(self):
            return self
        labels = None if self.labels is None else self.labels[:limit]
        return FaceSet(self.images[:limit], labels, self.classes)


def _with_channels(images: np.ndarray) -> np.ndarray:
    if images.ndim == 3:
        return images[..., None]
    if images.ndim == 4 and images.shape[-1] in (1, 3):
        return images
    raise DatasetError(f"images must be (N, H, W) or (N, H, W, 1|3), got {images.shape}")


def _load_npz(path: Path, split: str | None) -> FaceSet:
    try:
        with np.load(path, allow_pickle=False) as data:
            images = data["images"]
            labels = data["labels"].astype(np.int64) if "labels" in data.files else None
            splits = data["split"] if "split" in data.files else None
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"cannot read {path} as a face npz: {exc}") from None
    if images.dtype != np.uint8:
        raise DatasetError(f"{path}: images must be uint8, got {images.dtype}")
    for field, values in (("labels", labels), ("split", splits)):
        if values is not None and values.shape != images.shape[:1]:
            raise DatasetError(f"{path}: {field} has shape {values.shape}, expected ({len(images)},)")
    if split is not None:
        if splits is None:
            raise DatasetError(f"{path} has no 'split' array; drop --split")
        mask = splits == split
        if not mask.any():
            raise DatasetError(f"{path}: no images in split {split!r} (have {sorted(set(splits))})")
        images = images[mask]
        labels = None if labels is None else labels[mask]
    return FaceSet(_with_channels(images), labels, FER2013_CLASSES)


def _load_fer_csv(path: Path, split: str | None) -> FaceSet:
    images, labels = [], []
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"emotion", "pixels"} <= set(reader.fieldnames):
                raise DatasetError(f"{path}: expected FER2013 columns emotion,pixels[,Usage]")
            for row_number, row in enumerate(reader, start=2):
                usage = _USAGE_TO_SPLIT.get(row.get("Usage", ""), row.get("Usage", ""))
                if split is not None and usage != split:
                    continue
                pixels = np.array((row["pixels"] or "").split(), dtype=np.int64)
                if pixels.size != 48 * 48 or pixels.min() < 0 or pixels.max() > 255:
                    raise DatasetError(f"{path}:{row_number}: expected 2304 pixels in 0..255")
                images.append(pixels.astype(np.uint8).reshape(48, 48))
                labels.append(int(row["emotion"]))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path} as FER2013 CSV: {exc}") from None
    if not images:
        raise DatasetError(f"{path}: no rows" + (f" in split {split!r}" if split else ""))
    return FaceSet(np.stack(images)[..., None], np.array(labels, np.int64), FER2013_CLASSES)


def _load_folder(root: Path, size: int, channels: int) -> FaceSet:
    from PIL import Image

    mode = "L" if channels == 1 else "RGB"
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir())
    if any(p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES for p in root.iterdir()):
        class_dirs = []  # images beside the folders: not class-per-folder; count every image
    groups = [(d.name, sorted(d.iterdir())) for d in class_dirs] or [
        ("", sorted(p for p in root.rglob("*") if p.is_file()))
    ]
    images, labels = [], []
    for label, (_, files) in enumerate(groups):
        for f in files:
            if f.suffix.lower() not in _IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(f) as im:
                    im = im.convert(mode).resize((size, size), Image.Resampling.LANCZOS)
                    images.append(np.asarray(im))
            except OSError as exc:
                raise DatasetError(f"cannot read image {f}: {exc}") from None
            labels.append(label)
    if not images:
        raise DatasetError(f"no images found in {root}")
    classes = tuple(name for name, _ in groups) if class_dirs else ()
    return FaceSet(
        _with_channels(np.stack(images)),
        np.array(labels, np.int64) if class_dirs else None,
        classes,
    )


def load_faces(
    path: str | Path, split: str | None = None, size: int = 48, channels: int = 1
) -> FaceSet:
    """Load a dataset in any supported layout (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"dataset not found: {path}")
    if path.is_dir():
        return _load_folder(path, size, channels)
    if path.suffix == ".npz":
        return _load_npz(path, split)
    if path.suffix == ".csv":
        return _load_fer_csv(path, split)
    raise DatasetError(f"unsupported dataset {path}: expected .npz, FER2013 .csv or a folder")
