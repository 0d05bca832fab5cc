"""The Python API: images in, ``.ffc`` bytes out, and back.

This is the one place that turns images into batches and back: colour policy,
padding, model calls, cropping. The CLI, benchmarks and the Pillow plugin call
these functions.

Any image size is accepted (up to ``MAX_SIDE`` per side): the image is padded
on the right and bottom to a multiple of 16 by repeating its edge pixels,
coded, and the decoded image is cropped back to the original size. Images of
the same padded size are coded in one batch.

Quality is a number in [1, 8] (1 smallest files, 8 best fidelity); any value in
between works and is rounded to a multiple of 1/16, the resolution the file
stores.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backends, container, registry
from .errors import FacecodecError, QualityError
from .imageio import to_array, to_pil
from .quality import (  # noqa: F401  (QUALITY_* and quality_code are part of the API)
    DEFAULT_QUALITY,
    QUALITY_MAX,
    QUALITY_MIN,
    QUALITY_RESOLUTION,
    codec_quality_code,
    quality_code,
    quality_from_code,
)
from .runtime.codec import LATENT_STRIDE, PAD_MULTIPLE, Codec, CodedFace

if TYPE_CHECKING:
    import torch
    from PIL import Image

DEFAULT_BATCH = 64


@functools.lru_cache(maxsize=8)
def load_model(name: str, device: str = "cpu") -> torch.nn.Module:
    """A registry model as a PyTorch module with shipped weights, cached per (name, device)
    (training, benchmarks; coding goes through :mod:`facecodec.backends`)."""
    return registry.create_model(name, device=device)


def file_qualities(files: Sequence[container.FfcFile]) -> np.ndarray:
    """The quality stored in each parsed file's header (B,), float32."""
    return np.array([quality_from_code(f.quality_code) for f in files], dtype=np.float32)


@dataclass(frozen=True)
class Encoded:
    """One encoded image: the ``.ffc`` bytes and what was done to the input."""

    data: bytes
    width: int
    height: int
    channels: int
    quality: float
    model: str
    converted_to_grey: bool

    @property
    def bpp(self) -> float:
        """Bits per pixel of the whole file, header included."""
        return len(self.data) * 8 / (self.width * self.height)


def _match_channels(arr: np.ndarray, model_channels: int) -> np.ndarray:
    if arr.shape[2] == model_channels:
        return arr
    if model_channels == 1:
        return np.asarray(to_pil(arr).convert("L"))[..., None]
    return np.repeat(arr, 3, axis=2)


def _padded_batch(arrays: Sequence[np.ndarray], multiple: int = PAD_MULTIPLE) -> np.ndarray:
    """(B, C, H, W) float32 in [0, 1], padded right and bottom to ``multiple`` by edge repetition."""
    x = np.stack(arrays).transpose(0, 3, 1, 2).astype(np.float32) / 255
    h, w = x.shape[2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if pad_h or pad_w:
        x = np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode="edge")
    return x


def _groups(shapes: Sequence[tuple], batch_size: int) -> list[list[int]]:
    """Indices grouped by shape, each group cut into batches of ``batch_size``."""
    by_shape: dict[tuple, list[int]] = {}
    for i, shape in enumerate(shapes):
        by_shape.setdefault(shape, []).append(i)
    out = []
    for idx in by_shape.values():
        out.extend(idx[s : s + batch_size] for s in range(0, len(idx), batch_size))
    return out


def encode_batch(
    images: Sequence[Any],
    model: str = registry.DEFAULT_CODEC,
    quality: float | Sequence[float] = DEFAULT_QUALITY,
    device: str = "auto",
    batch_size: int = DEFAULT_BATCH,
) -> list[Encoded]:
    """Encode many images (PIL images or uint8 arrays); one quality or one per image."""
    spec = registry.codec_spec(model)
    qualities = [quality] * len(images) if np.isscalar(quality) else list(quality)
    if len(qualities) != len(images):
        raise QualityError("give one quality, or one per image")
    codes = [codec_quality_code(spec.name, q) for q in qualities]
    arrays = [to_array(im) for im in images]
    net = backends.codec(spec.name, device)
    coded = [_match_channels(a, spec.channels) for a in arrays]
    results: list[Encoded | None] = [None] * len(arrays)
    for idx in _groups([a.shape for a in coded], batch_size):
        x = _padded_batch([coded[i] for i in idx])
        q = np.array([quality_from_code(codes[i]) for i in idx], dtype=np.float32)
        for i, stream in zip(idx, net.compress(x, q)):
            h, w, c = arrays[i].shape
            data = container.pack(
                container.FfcFile(
                    model_id=spec.model_id,
                    quality_code=codes[i],
                    width=w,
                    height=h,
                    channels=c,
                    stream=stream,
                )
            )
            results[i] = Encoded(
                data, w, h, c, quality_from_code(codes[i]), spec.name,
                converted_to_grey=c == 3 and spec.channels == 1,
            )  # fmt: skip
    return results  # type: ignore[return-value]


def encode(
    image: Any,
    model: str = registry.DEFAULT_CODEC,
    quality: float = DEFAULT_QUALITY,
    device: str = "auto",
) -> bytes:
    """Encode one image (PIL image or uint8 array) to ``.ffc`` bytes."""
    return encode_batch([image], model=model, quality=quality, device=device)[0].data


def parse(data: bytes) -> container.FfcFile:
    """Validate ``.ffc`` bytes (magic, version, lengths, model id, CRC) without decoding."""
    f = container.unpack(data, known_model_ids=registry.model_ids())
    registry.spec_for_id(f.model_id)  # a removed codec's file: which release reads it
    return f


def parse_all(datas: Sequence[bytes]) -> tuple[dict[int, container.FfcFile], dict[int, FacecodecError]]:
    """Parse many ``.ffc`` files: (index → parsed file, index → the error of each that failed)."""
    parsed: dict[int, container.FfcFile] = {}
    errors: dict[int, FacecodecError] = {}
    for i, data in enumerate(datas):
        try:
            parsed[i] = parse(data)
        except FacecodecError as exc:
            errors[i] = exc
    return parsed, errors


def _file_groups(
    parsed: dict[int, container.FfcFile], device: str, batch_size: int
) -> Iterator[tuple[list[int], Codec, list[CodedFace]]]:
    """Parsed files in batches of one model and padded size: (keys of ``parsed``, the
    codec, their :class:`~facecodec.runtime.codec.CodedFace`)."""
    order = list(parsed)
    keys = []
    for i in order:
        f = parsed[i]
        keys.append((f.model_id, -(-f.height // PAD_MULTIPLE) * PAD_MULTIPLE, -(-f.width // PAD_MULTIPLE) * PAD_MULTIPLE))
    for group in _groups(keys, batch_size):
        members = [order[g] for g in group]
        net = backends.codec(registry.spec_for_id(parsed[members[0]].model_id).name, device)
        _, ph, pw = keys[group[0]]
        yield members, net, [
            CodedFace(parsed[i].streams, container.CODINGS[parsed[i].version], ph // LATENT_STRIDE, pw // LATENT_STRIDE)
            for i in members
        ]


def decoded_groups(
    parsed: dict[int, container.FfcFile], device: str, batch_size: int, synthesize: bool = True
) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """Entropy-decode parsed files in batches of one model and padded size.

    Yields (keys of ``parsed``, the files' qualities (B,), array): the padded
    decoded images (B, C, H, W) in [0, 1], or with ``synthesize=False`` the
    decoded latents ``y_hat`` (B, M, h, w), skipping the synthesis transform;
    float32 numpy arrays.
    """
    for members, net, faces in _file_groups(parsed, device, batch_size):
        q = file_qualities([parsed[i] for i in members])
        yield members, q, net.decompress(faces, q) if synthesize else net.latent(faces, q)


def upgrade_batch(datas: Sequence[bytes], batch_size: int = DEFAULT_BATCH) -> list[bytes | FacecodecError]:
    """Rewrite ``.ffc`` files in the current format, losslessly: the same symbols in the
    current stream format, so each decodes to exactly the pixels it did. Current-format
    files come back unchanged; a file that fails to parse gives its
    :class:`FacecodecError` in its slot."""
    parsed, errors = parse_all(datas)
    results: list[bytes | FacecodecError | None] = [errors.get(i) for i in range(len(datas))]
    old = {i: f for i, f in parsed.items() if f.version != container.VERSION}
    for i in parsed.keys() - old.keys():
        results[i] = datas[i]
    for members, net, faces in _file_groups(old, "cpu", batch_size):
        for i, stream in zip(members, net.restream(faces)):
            f = old[i]
            results[i] = container.pack(container.FfcFile(
                model_id=f.model_id, quality_code=f.quality_code, width=f.width, height=f.height,
                channels=f.channels, stream=stream,
            ))  # fmt: skip
    return results  # type: ignore[return-value]


def decode_batch(
    datas: Sequence[bytes], device: str = "auto", batch_size: int = DEFAULT_BATCH
) -> list[np.ndarray | FacecodecError]:
    """Decode many ``.ffc`` files to uint8 (H, W, C) arrays.

    A file that fails to parse gives its :class:`FacecodecError` in its slot;
    the others still decode. Files are batched by model and padded size.
    """
    parsed, errors = parse_all(datas)
    results: list[np.ndarray | FacecodecError | None] = [errors.get(i) for i in range(len(datas))]
    for members, _, x_hat in decoded_groups(parsed, device, batch_size):
        pixels = np.rint(x_hat * 255).astype(np.uint8).transpose(0, 2, 3, 1)
        for i, img in zip(members, pixels):
            f = parsed[i]
            img = img[: f.height, : f.width]
            if img.shape[2] != f.channels:
                img = np.repeat(img, f.channels, axis=2)
            results[i] = np.ascontiguousarray(img)
    return results  # type: ignore[return-value]


def decode_array(data: bytes, device: str = "auto") -> np.ndarray:
    """Decode one ``.ffc`` file to a uint8 (H, W, C) array."""
    result = decode_batch([data], device=device)[0]
    if isinstance(result, FacecodecError):
        raise result
    return result


def decode(data: bytes, device: str = "auto") -> Image.Image:
    """Decode one ``.ffc`` file to a PIL image (mode L, or RGB for colour originals)."""
    return to_pil(decode_array(data, device))


def describe(data: bytes) -> dict[str, Any]:
    """Header fields of a ``.ffc`` file, as printed by ``facecodec info``."""
    f = parse(data)
    spec = registry.spec_for_id(f.model_id)
    pixels = f.width * f.height
    return {
        "format_version": f.version,
        "model": spec.name,
        "model_id": f.model_id,
        "quality": quality_from_code(f.quality_code),
        "width": f.width,
        "height": f.height,
        "channels": f.channels,
        "coded_channels": spec.channels,
        # formats 3 and 2: one stream holding z then y; format 1: a z and a y stream
        "stream_bytes": dict(zip(("z+y",) if len(f.streams) == 1 else ("z", "y"), map(len, f.streams))),
        "coding": container.CODINGS[f.version],
        "header_bytes": container.overhead_bytes(f),
        "total_bytes": len(data),
        "bpp": round(len(data) * 8 / pixels, 4),
        "crc": "ok",
    }
