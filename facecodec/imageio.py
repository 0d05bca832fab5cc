"""Reading and writing images, the colour policy, and atomic file output.

Colour policy: every input becomes uint8 (H, W, C) with C = 1 (grey: Pillow
modes 1, L, LA, I, I;16, F) or C = 3 (everything else, alpha dropped). A grey
model given a colour image codes its ITU-R 601 luma (Pillow's ``convert("L")``)
and the caller is told (``converted_to_grey``); the file remembers the original
3 channels and decodes to a grey RGB image, so the output has the input's mode.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np

from .container import MAX_SIDE
from .errors import ImageError, LimitExceeded, OutputExists

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}


def to_array(image: object) -> np.ndarray:
    """A PIL image or an array (H, W) / (H, W, 1|3) uint8 → uint8 (H, W, C)."""
    from PIL import Image

    if isinstance(image, Image.Image):
        if image.mode in _GREY_MODES:
            arr = np.asarray(image.convert("L"))
        else:
            arr = np.asarray(image.convert("RGB"))
    elif isinstance(image, np.ndarray):
        arr = image
    else:
        raise ImageError(f"expected a PIL image or a numpy array, got {type(image).__name__}")
    if arr.dtype != np.uint8:
        raise ImageError(f"image arrays must be uint8, got {arr.dtype}")
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3):
        raise ImageError(f"image must be (H, W), (H, W, 1) or (H, W, 3), got {arr.shape}")
    h, w = arr.shape[:2]
    if h == 0 or w == 0:
        raise ImageError("image is empty")
    if h > MAX_SIDE or w > MAX_SIDE:
        raise LimitExceeded(f"image {w}×{h} is larger than the {MAX_SIDE}×{MAX_SIDE} cap")
    return np.ascontiguousarray(arr)


def load_image(data: bytes) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, ...) to uint8 (H, W, C).

    ``.ffc`` data is refused: re-encoding a decoded file would silently stack
    a second generation of loss (decode it first if that is what you want).
    """
    from PIL import Image, UnidentifiedImageError

    if data[:3] == b"FFC":
        raise ImageError("input is already a .ffc file (decode it first to re-encode)")
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if h > MAX_SIDE or w > MAX_SIDE:
                raise LimitExceeded(f"image {w}×{h} is larger than the {MAX_SIDE}×{MAX_SIDE} cap")
            im.load()
            return to_array(im)
    except UnidentifiedImageError:
        raise ImageError("not a readable image (unknown or unsupported format)") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"not a readable image ({exc})") from None


def to_pil(array: np.ndarray):
    """uint8 (H, W, C) → PIL image in mode L or RGB."""
    from PIL import Image

    return Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)


def encode_png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    """uint8 (H, W, C) → encoded image bytes (PNG by default)."""
    buf = io.BytesIO()
    to_pil(array).save(buf, format=fmt)
    return buf.getvalue()


def format_for(path: Path) -> str:
    """Pillow format name for an output path's suffix (PNG when unknown or none)."""
    from PIL import Image

    Image.init()
    fmt = Image.EXTENSION.get(path.suffix.lower(), "PNG")
    if fmt == "FFC":
        raise ImageError(f"{path}: decode writes images; choose .png, .bmp, .tif, ... not .ffc")
    return fmt


def write_atomic(path: Path, data: bytes, force: bool = False) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename.

    Refuses to replace an existing file unless ``force``. A failure (or an
    interrupt) leaves no partial file behind.
    """
    path = Path(path)
    if path.exists() and not force:
        raise OutputExists(f"{path} exists (use --force to overwrite)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ImageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, default_file_mode())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ImageError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask
