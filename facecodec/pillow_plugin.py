"""Pillow support for ``.ffc`` files: ``Image.open``, ``Image.save`` and friends.

``import facecodec`` registers this plugin (format ``"FFC"``, extension
``.ffc``, MIME type ``image/x-ffc``); after that::

    from PIL import Image
    import facecodec

    with Image.open("face.ffc") as im:      # header only: size, mode, info
        im.load()                           # decodes (the lean runtime: no torch)
    im.save("copy.ffc", quality=2)          # encodes through facecodec.api.encode

Opening reads the file (a few dozen bytes for a face) and checks it the way
:func:`facecodec.describe` does: magic, version, header fields and limits,
model id, length and CRC-32. Size and mode come from the header (``L`` for
one channel, ``RGB`` for three); nothing is decoded and no model is loaded
until the pixels are needed (``load()``, ``getpixel``, ``convert``, ...).

Errors, following Pillow's conventions:

* Data that does not start with ``b"FFC"`` is not claimed by this plugin;
  ``Image.open`` raises :class:`PIL.UnidentifiedImageError` as for any
  unknown file.
* A file with the ``.ffc`` magic that is truncated, corrupt (CRC), from an
  unknown format version or names an unknown model raises
  :class:`FfcImageError` from ``Image.open``. It is both a
  :class:`PIL.UnidentifiedImageError` (so an ``OSError``, what Pillow code
  already catches) and a :class:`facecodec.errors.FacecodecError`; its
  message is facecodec's one-line reason and ``__cause__`` / ``reason`` is the
  specific error (:class:`~facecodec.errors.ChecksumMismatch`, ...).
* ``load()`` can then only fail for reasons outside the file: missing or
  tampered weights (:class:`~facecodec.errors.WeightsError`) or an unusable
  device; those facecodec errors propagate unchanged.
* ``save`` raises :class:`~facecodec.errors.QualityError` for a quality
  outside the codec's range (1..8) and :class:`~facecodec.errors.UnknownModel` for an unknown
  model name. As with every Pillow format, Pillow opens the output before
  the plugin runs: a failed save to a new file leaves no file behind, but a
  failed save over an existing file leaves it empty.

Save arguments: ``quality`` (1..8; default 4), ``model`` (default
``face-fer-v10``, the default codec) and ``device`` (``auto``, ``cpu`` or ``cuda``; default
:data:`DEVICE`). Any image mode is accepted and converted by facecodec's
colour policy (grey modes to ``L``, everything else to ``RGB``, alpha
dropped). Only single frames are written (no ``save_all``).

Decoding uses the device in :data:`DEVICE` (``"auto"``: CUDA when available);
set ``facecodec.pillow_plugin.DEVICE = "cpu"`` to force the CPU.
"""

from __future__ import annotations

from typing import IO

from PIL import Image, ImageFile, UnidentifiedImageError

from . import container, registry
from .errors import FacecodecError
from .quality import quality_from_code

__all__ = ["DEVICE", "FORMAT", "MIME_TYPE", "FfcDecoder", "FfcImageError", "FfcImageFile"]

FORMAT = "FFC"
EXTENSION = ".ffc"
MIME_TYPE = "image/x-ffc"
#: device used by ``load()`` and, unless ``device=`` is given, by ``save`` (see facecodec.backends)
DEVICE = "auto"

_DECODER = "ffc"
# Largest valid file (with slack): a version-1 header (at most 20 bytes), two streams at
# their cap, the CRC. Reading one byte more lets the container report trailing
# data instead of silently ignoring it.
_MAX_FILE_BYTES = 32 + 2 * container.MAX_STREAM_BYTES + 4


class FfcImageError(FacecodecError, UnidentifiedImageError):
    """``Image.open`` found the ``.ffc`` magic but cannot read the file.

    ``reason`` (also ``__cause__``) is the specific facecodec error.
    """

    def __init__(self, message: str, reason: FacecodecError | None = None) -> None:
        super().__init__(message)
        self.reason = reason


# Tile descriptors are ImageFile._Tile named tuples from Pillow 11, plain tuples before.
_tile = getattr(ImageFile, "_Tile", lambda *fields: tuple(fields))


def _accept(prefix: bytes) -> bool:
    return prefix.startswith(container.MAGIC)


def _name(filename: str | bytes) -> str:
    if filename:
        return filename.decode(errors="replace") if isinstance(filename, bytes) else filename
    return "<stream>"


class FfcImageFile(ImageFile.ImageFile):
    format = FORMAT
    format_description = "facecodec learned face image"

    def _open(self) -> None:
        assert self.fp is not None
        data = self.fp.read(_MAX_FILE_BYTES + 1)
        if not _accept(data):
            msg = "not an FFC file"
            raise SyntaxError(msg)
        try:
            ffc = container.unpack(data, known_model_ids=registry.model_ids())
            spec = registry.spec_for_id(ffc.model_id)
        except FacecodecError as exc:
            msg = f"cannot read .ffc file {_name(self.filename)}: {exc}"
            raise FfcImageError(msg, exc) from exc

        self._size = (ffc.width, ffc.height)
        mode = "L" if ffc.channels == 1 else "RGB"
        if hasattr(self, "_mode"):  # Pillow >= 10.1: ``mode`` is a read-only property
            self._mode = mode
        else:  # pragma: no cover - Pillow 10.0
            self.mode = mode
        self.info.update(
            model=spec.name,
            model_id=ffc.model_id,
            quality=quality_from_code(ffc.quality_code),
            format_version=ffc.version,
        )
        self.tile = [_tile(_DECODER, (0, 0, *self.size), 0, None)]


class FfcDecoder(ImageFile.PyDecoder):
    """Decodes a whole ``.ffc`` file in one call through :func:`facecodec.api.decode_array`."""

    _pulls_fd = True

    def decode(self, buffer: bytes) -> tuple[int, int]:
        assert self.fd is not None
        from .api import decode_array  # numpy and the runtime, only now

        pixels = decode_array(self.fd.read(_MAX_FILE_BYTES + 1), device=DEVICE)
        height, width, channels = pixels.shape
        if (width, height) != (self.state.xsize, self.state.ysize) or channels != len(self.mode):
            msg = "decoded .ffc image does not match its header"
            raise ValueError(msg)
        self.set_as_raw(pixels.tobytes())
        return -1, 0


def _save(im: Image.Image, fp: IO[bytes], filename: str | bytes) -> None:
    from . import api

    info = im.encoderinfo
    quality = info.get("quality")
    data = api.encode(
        im,
        model=info.get("model") or registry.DEFAULT_CODEC,
        quality=api.DEFAULT_QUALITY if quality is None else quality,
        device=info.get("device") or DEVICE,
    )
    fp.write(data)


Image.register_open(FfcImageFile.format, FfcImageFile, _accept)
Image.register_save(FfcImageFile.format, _save)
Image.register_extension(FfcImageFile.format, EXTENSION)
Image.register_mime(FfcImageFile.format, MIME_TYPE)
Image.register_decoder(_DECODER, FfcDecoder)
