"""The codecs a benchmark compares, behind one small interface.

Every codec has a ``name``, the meaning and range of its quality knob, a
default sweep, and ``encode(uint8 (H, W, C)) -> bytes`` /
``decode(bytes) -> uint8 (H, W, C)``. The bytes are the whole file a user
would store (container headers included), so rates compare like for like.

Classical codecs run one image at a time (the runner spreads their sweep
points over processes); :class:`FacecodecCodec` also codes whole batches
through :func:`facecodec.api.encode_batch` / :func:`~facecodec.api.decode_batch`.

Baseline settings (what each quality value means):

* ``jpeg``: Pillow/libjpeg-turbo, ``quality`` 1..95, ``optimize=True``
  (optimal Huffman tables: smallest baseline JPEG files), JFIF header.
* ``jpeg2000``: Pillow/OpenJPEG, irreversible (9/7 wavelet) rate-driven mode;
  the value is the compression ratio against raw 8-bit pixels (20 = 1/20 of
  the raw size); bare J2K codestream (``.j2k``, no JP2 boxes).
* ``webp``: Pillow/libwebp lossy, ``quality`` 0..100, ``method=6``.
* ``avif``: Pillow/libavif (AV1), ``quality`` 0..100, ``speed=6`` (Pillow's
  default), grey images as 4:0:0, one thread.
* ``jxl``: imagecodecs/libjxl, Butteraugli ``distance`` (0.5 .. 25; lower is
  better), ``effort=7``, bare codestream; only with the ``jxl`` extra
  (``pip install facecodec[jxl]``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import FacecodecError, QualityError
from ..quality import QUALITY_MAX, QUALITY_MIN, quality_code, quality_from_code

BASELINES = ("jpeg", "jpeg2000", "webp", "avif", "jxl")


def _as_channels(arr: np.ndarray, channels: int) -> np.ndarray:
    """A decoded (H, W) / (H, W, C) array as uint8 (H, W, channels)."""
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.shape[2] == channels:
        return np.ascontiguousarray(arr)
    if channels == 1:  # ITU-R 601 luma, as Pillow's convert("L")
        from PIL import Image

        return np.asarray(Image.fromarray(np.ascontiguousarray(arr)).convert("L"))[..., None]
    return np.ascontiguousarray(np.repeat(arr, channels, axis=2))


def _pil(arr: np.ndarray):
    from PIL import Image

    return Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)


class Codec:
    """One codec: ``encode`` an image to file bytes and ``decode`` them back."""

    name: ClassVar[str] = ""
    knob: ClassVar[str] = "quality"  # what the quality value means
    default_qualities: ClassVar[tuple[float, ...]] = ()
    low: ClassVar[float] = 0.0
    high: ClassVar[float] = 100.0
    family: ClassVar[str] = "baseline"

    def check_quality(self, q: float) -> float:
        if not self.low <= q <= self.high:
            raise QualityError(
                f"{self.name}: {self.knob} {q:g} is outside {self.low:g}..{self.high:g}"
            )
        return q

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes, channels: int) -> np.ndarray:
        raise NotImplementedError


class _PillowCodec(Codec):
    fmt: ClassVar[str] = ""

    def options(self, quality: float) -> dict[str, Any]:
        return {"quality": round(quality)}

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        buf = io.BytesIO()
        _pil(image).save(buf, format=self.fmt, **self.options(quality))
        return buf.getvalue()

    def decode(self, data: bytes, channels: int) -> np.ndarray:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            im.load()
            return _as_channels(np.asarray(im), channels)


class JpegCodec(_PillowCodec):
    name = "jpeg"
    fmt = "JPEG"
    low, high = 1, 95
    default_qualities = (1, 3, 5, 10, 20, 30, 50, 75)

    def options(self, quality: float) -> dict[str, Any]:
        return {"quality": round(quality), "optimize": True}


class Jpeg2000Codec(_PillowCodec):
    name = "jpeg2000"
    fmt = "JPEG2000"
    knob = "compression ratio"
    low, high = 1.0, 1000.0
    # below ~1/16 of the raw size the codestream stops shrinking at 48×48
    default_qualities = (16, 12, 10, 8, 6, 4, 3, 2)

    def options(self, quality: float) -> dict[str, Any]:
        return {
            "irreversible": True,
            "quality_mode": "rates",
            "quality_layers": [float(quality)],
            "no_jp2": True,
        }


class WebpCodec(_PillowCodec):
    name = "webp"
    fmt = "WEBP"
    default_qualities = (0, 5, 10, 20, 35, 50, 70, 90)

    def options(self, quality: float) -> dict[str, Any]:
        return {"quality": round(quality), "method": 6}


class AvifCodec(_PillowCodec):
    name = "avif"
    fmt = "AVIF"
    default_qualities = (0, 10, 20, 30, 40, 50, 65, 80)

    def options(self, quality: float) -> dict[str, Any]:
        return {"quality": round(quality), "speed": 6, "max_threads": 1}


def imagecodecs_jxl() -> Any | None:
    """The ``imagecodecs`` module when it can write JPEG XL, else None."""
    try:
        import imagecodecs
    except ImportError:
        return None
    jpegxl = getattr(imagecodecs, "JPEGXL", None)
    return imagecodecs if jpegxl is not None and getattr(jpegxl, "available", True) else None


class JxlCodec(Codec):
    name = "jxl"
    knob = "distance"
    low, high = 0.0, 25.0
    default_qualities = (25, 15, 10, 7, 5, 3, 2, 1)

    def __init__(self) -> None:
        self._ic = imagecodecs_jxl()
        if self._ic is None:
            raise FacecodecError("jxl needs imagecodecs: pip install 'facecodec[jxl]'")

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        arr = image[..., 0] if image.shape[2] == 1 else image
        return bytes(
            self._ic.jpegxl_encode(
                arr, distance=float(quality), effort=7, usecontainer=False, numthreads=1
            )
        )

    def decode(self, data: bytes, channels: int) -> np.ndarray:
        return _as_channels(np.asarray(self._ic.jpegxl_decode(data, numthreads=1)), channels)


_BASELINE_CLASSES: dict[str, type[Codec]] = {
    c.name: c for c in (JpegCodec, Jpeg2000Codec, WebpCodec, AvifCodec, JxlCodec)
}


def baseline(name: str) -> Codec:
    """A classical codec by name (``jpeg``, ``jpeg2000``, ``webp``, ``avif``, ``jxl``)."""
    try:
        cls = _BASELINE_CLASSES[name]
    except KeyError:
        raise FacecodecError(
            f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}"
        ) from None
    return cls()


def baseline_available(name: str) -> str | None:
    """None when baseline ``name`` can run here, else why not."""
    if name == "jxl" and imagecodecs_jxl() is None:
        return "JPEG XL skipped: imagecodecs is not installed (pip install 'facecodec[jxl]')"
    if name in ("jpeg2000", "webp", "avif"):
        from PIL import features

        feature = {"jpeg2000": "jpg_2000", "webp": "webp", "avif": "avif"}[name]
        if not features.check(feature):
            return f"{name} skipped: this Pillow was built without {feature}"
    return None


@dataclass
class FacecodecCodec(Codec):
    """A registered facecodec codec; the file is the ``.ffc`` (``Encoded.data``)."""

    model: str = "face-hp-v1"
    device: str = "auto"
    batch_size: int = 256

    family: ClassVar[str] = "facecodec"
    low, high = QUALITY_MIN, QUALITY_MAX
    default_qualities = (1, 2, 3, 4, 5, 6, 7, 8)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.model

    def __post_init__(self) -> None:
        from .. import registry

        registry.codec_spec(self.model)  # a registered codec, or one line naming them

    def check_quality(self, q: float) -> float:
        return quality_from_code(quality_code(q))

    def encode_many(self, images: Sequence[np.ndarray], quality: float) -> list[bytes]:
        from .. import api

        coded = api.encode_batch(list(images), self.model, quality, self.device, self.batch_size)
        return [e.data for e in coded]

    def decode_many(self, datas: Sequence[bytes]) -> list[np.ndarray]:
        from .. import api

        out = api.decode_batch(list(datas), self.device, self.batch_size)
        for item in out:
            if isinstance(item, FacecodecError):
                raise item
        return out  # type: ignore[return-value]

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        return self.encode_many([image], quality)[0]

    def decode(self, data: bytes, channels: int) -> np.ndarray:
        return _as_channels(self.decode_many([data])[0], channels)

    def warm_up(self, images: np.ndarray, quality: float, rounds: int = 2) -> None:
        """Load the model and code one full batch twice so timings exclude start-up.

        The first calls of each batch shape pay for kernel selection and
        TorchScript's profiling runs; a batch of the shape the sweep uses most,
        coded ``rounds`` times, takes that out of the timings.
        """
        batch = list(images[: self.batch_size])
        for _ in range(rounds):
            self.decode_many(self.encode_many(batch, quality))


def parse_qualities(specs: Sequence[str]) -> dict[str, list[float]]:
    """``["jpeg=5,10,20", "face-hp-v1=1,2.5,4"]`` → ``{"jpeg": [5, 10, 20], ...}``.

    Each item names one codec; values are comma-separated numbers, or a range
    ``a..b`` (whole steps) / ``a..b:step``. Several items may be joined by ``;``.
    """
    out: dict[str, list[float]] = {}
    for spec in specs:
        for item in filter(None, (s.strip() for s in spec.split(";"))):
            name, sep, values = item.partition("=")
            if not sep or not name.strip() or not values.strip():
                raise QualityError(f"--qualities expects CODEC=Q1,Q2,..., got {item!r}")
            try:
                out[name.strip()] = [q for part in values.split(",") for q in _expand(part.strip())]
            except ValueError:
                raise QualityError(f"--qualities: cannot read numbers in {item!r}") from None
    return out


def _expand(part: str) -> list[float]:
    if ".." not in part:
        return [float(part)]
    lo_text, hi_text = part.split("..", 1)
    hi_text, _, step_text = hi_text.partition(":")
    lo, hi, step = float(lo_text), float(hi_text), float(step_text or 1)
    if step <= 0 or hi < lo:
        raise ValueError(part)
    count = round((hi - lo) / step) + 1
    return [round(lo + i * step, 6) for i in range(count)]
