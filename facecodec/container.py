"""The ``.ffc`` container: a small header, the entropy-coded stream(s), a CRC.

Pure standard library (no torch, no numpy) so that files can be inspected and
validated without loading a model.  Layout of format version 3 (written) and
versions 2 and 1 (still read); every integer is unsigned, "varint" is unsigned LEB128
limited to the stated number of bytes (non-minimal encodings are rejected)::

    offset  field          size              notes
    ------  -------------  ----------------  ----------------------------------
    0       magic          3                 b"FFC"
    3       version        1 (u8)            3 (or 2, 1)
    4       model id       varint, <= 2      stable registry id, 0..16383
    .       quality code   1 (u8)            round(quality * 16)
    .       width          varint, <= 2      1..MAX_SIDE
    .       height         varint, <= 2      1..MAX_SIDE
    .       channels       1 (u8)            1 or 3 (of the original image)
    versions 3 and 2:
    .       stream length  varint, <= 4      0..MAX_STREAM_BYTES
    .       stream         stream length     one entropy-coded stream: z symbols, then y
                                             (3: constriction ANS; 2: CompressAI rANS)
    version 1:
    .       z length       varint, <= 4      0..MAX_STREAM_BYTES
    .       y length       varint, <= 4      0..MAX_STREAM_BYTES
    .       z stream       z length          hyperprior bitstream
    .       y stream       y length          latent bitstream
    all:
    .       crc32          4 (little-endian) zlib.crc32 of every byte before it

Reading checks, in this order: magic, version, header fields (truncation and
varint encoding), field values and limits, model id (when the caller passes the
known ids), total length (truncated or trailing data), CRC.  All checks on
lengths happen before any stream is sliced out of the input.  Every failure is
a :class:`~facecodec.errors.FacecodecError` subclass with a one-line message;
see ``docs/format.md``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection
from dataclasses import dataclass

from facecodec.errors import (
    BadMagic,
    ChecksumMismatch,
    LimitExceeded,
    MalformedHeader,
    TrailingData,
    Truncated,
    UnknownModel,
    UnsupportedVersion,
)

__all__ = [
    "CHANNELS_ALLOWED",
    "MAGIC",
    "MAX_MODEL_ID",
    "MAX_SIDE",
    "MAX_STREAM_BYTES",
    "VERSION",
    "VERSIONS",
    "FfcFile",
    "overhead_bytes",
    "pack",
    "read_header",
    "unpack",
]

MAGIC = b"FFC"
VERSION = 3  # what pack() writes by default
VERSIONS = (1, 2, 3)  # what unpack() reads
#: the entropy codings of the streams: CompressAI's rANS, z and y in two streams (1) or in one
#: stream with a compact final state (2); constriction's ANS, one stream (3)
RANS_TWO_STREAMS, RANS_COMPACT, ANS = "rans-compressai-2", "rans-compressai-compact", "ans-constriction"
#: what coded each version's stream(s): the decoder picks its entropy decoder by this
CODINGS = {1: RANS_TWO_STREAMS, 2: RANS_COMPACT, 3: ANS}
MAX_SIDE = 4096  # width and height are each 1..MAX_SIDE
MAX_STREAM_BYTES = 1 << 24  # cap on each stream's length
CHANNELS_ALLOWED = (1, 3)

# Varint widths (in bytes) of the header fields.
_ID_VARINT = 2
_SIDE_VARINT = 2
_LEN_VARINT = 4
MAX_MODEL_ID = (1 << (7 * _ID_VARINT)) - 1  # 16383
_CRC = struct.Struct("<I")


@dataclass(frozen=True)
class FfcFile:
    """The decoded contents of one ``.ffc`` file."""

    model_id: int  # stable numeric id of the model (0..16383), never a list position
    quality_code: int  # u8, 0..255; its meaning is defined by the codec API
    width: int
    height: int
    channels: int  # channels of the original image, 1 or 3
    z_stream: bytes = b""  # version 1: hyperprior bitstream
    y_stream: bytes = b""  # version 1: latent bitstream
    version: int = VERSION
    stream: bytes = b""  # versions 2 and 3: the z symbols, then the y symbols, in one stream

    @property
    def streams(self) -> tuple[bytes, ...]:
        """The entropy-coded streams in file order: (stream,) or (z stream, y stream)."""
        return tuple(getattr(self, attr) for _, attr in _STREAMS[self.version])


# --- varints ----------------------------------------------------------------
def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(buf: bytes, pos: int, max_bytes: int, field: str) -> tuple[int, int]:
    """Read a LEB128 varint of at most ``max_bytes`` bytes; return (value, new pos)."""
    value = 0
    for i in range(max_bytes):
        if pos + i >= len(buf):
            raise Truncated(
                f"truncated .ffc file: header ends inside the {field} field"
            )
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise MalformedHeader(
                    f"malformed .ffc header: non-minimal varint encoding of the {field}"
                )
            return value, pos + i + 1
    raise MalformedHeader(
        f"malformed .ffc header: {field} varint is longer than {max_bytes} bytes"
    )


def _read_u8(buf: bytes, pos: int, field: str) -> tuple[int, int]:
    if pos >= len(buf):
        raise Truncated(f"truncated .ffc file: header ends before the {field} byte")
    return buf[pos], pos + 1


# --- validation shared by pack and unpack --------------------------------------
def _check_values(
    model_id: int,
    quality_code: int,
    width: int,
    height: int,
    channels: int,
    lengths: dict[str, int],
) -> None:
    if model_id < 0:
        raise MalformedHeader(
            f"malformed .ffc header: model id must be >= 0, got {model_id}"
        )
    if model_id > MAX_MODEL_ID:
        raise LimitExceeded(f"model id {model_id} exceeds the limit of {MAX_MODEL_ID}")
    if not 0 <= quality_code <= 0xFF:
        raise MalformedHeader(
            f"malformed .ffc header: quality code must be 0..255, got {quality_code}"
        )
    for name, side in (("width", width), ("height", height)):
        if side < 1:
            raise MalformedHeader(f"malformed .ffc header: image {name} is {side}")
        if side > MAX_SIDE:
            raise LimitExceeded(f"image {name} {side} exceeds the limit of {MAX_SIDE}")
    if channels not in CHANNELS_ALLOWED:
        raise MalformedHeader(
            f"malformed .ffc header: channels must be 1 or 3, got {channels}"
        )
    for name, length in lengths.items():
        if length > MAX_STREAM_BYTES:
            raise LimitExceeded(
                f"{name} length {length} exceeds the limit of "
                f"{MAX_STREAM_BYTES} bytes"
            )


def _as_int(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedHeader(
            f"malformed .ffc header: {field} must be an int, got {type(value).__name__}"
        )
    return value


def _as_bytes(value: object, field: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise MalformedHeader(
        f"malformed .ffc header: {field} must be bytes, got {type(value).__name__}"
    )


#: the streams of each version, in file order: (name in messages, FfcFile attribute)
_STREAMS = {
    1: (("z stream", "z_stream"), ("y stream", "y_stream")),
    2: (("stream", "stream"),),
    3: (("stream", "stream"),),
}


def _known() -> str:
    return ", ".join(map(str, VERSIONS[:-1])) + f" and {VERSIONS[-1]}"


def _stream_fields(f: FfcFile, version: int) -> dict[str, bytes]:
    """The streams ``f`` holds, by name, checked against its version."""
    used = _STREAMS[version]
    for other in _STREAMS.values():
        for _, attr in other:
            if other is not used and getattr(f, attr):
                raise MalformedHeader(f"malformed .ffc header: a version-{version} file has no {attr}")
    return {name: _as_bytes(getattr(f, attr), name) for name, attr in used}


def _encode_header(f: FfcFile) -> tuple[bytes, tuple[bytes, ...]]:
    """Validate ``f`` and return (header bytes, streams in file order)."""
    version = _as_int(f.version, "version")
    if version not in VERSIONS:
        raise UnsupportedVersion(
            f"cannot write .ffc version {version} (this writer knows versions {_known()})"
        )
    model_id = _as_int(f.model_id, "model id")
    quality_code = _as_int(f.quality_code, "quality code")
    width = _as_int(f.width, "width")
    height = _as_int(f.height, "height")
    channels = _as_int(f.channels, "channels")
    streams = _stream_fields(f, version)
    _check_values(model_id, quality_code, width, height, channels, {k: len(v) for k, v in streams.items()})
    header = b"".join(
        (
            MAGIC,
            bytes((version,)),
            _encode_varint(model_id),
            bytes((quality_code,)),
            _encode_varint(width),
            _encode_varint(height),
            bytes((channels,)),
            *(_encode_varint(len(v)) for v in streams.values()),
        )
    )
    return header, tuple(streams.values())


# --- public API ---------------------------------------------------------------
def pack(f: FfcFile) -> bytes:
    """Serialise ``f`` as a ``.ffc`` file of its version (:data:`VERSION` by default).

    Raises :class:`MalformedHeader` or :class:`LimitExceeded` for values the
    format cannot hold (a version-3 file with z/y streams, a version-1 file
    with a single stream, ...), and :class:`UnsupportedVersion` for a version
    not in :data:`VERSIONS`.
    """
    header, streams = _encode_header(f)
    body = b"".join((header, *streams))
    return body + _CRC.pack(zlib.crc32(body))


def overhead_bytes(f: FfcFile) -> int:
    """Bytes ``pack(f)`` adds on top of the stream(s) (header plus CRC)."""
    header, _ = _encode_header(f)
    return len(header) + _CRC.size


def unpack(
    data: bytes | bytearray | memoryview,
    known_model_ids: Collection[int] | None = None,
) -> FfcFile:
    """Parse and fully validate one ``.ffc`` file.

    ``known_model_ids``, when given, is the set of model ids the caller can
    decode; any other id raises :class:`~facecodec.errors.UnknownModel`.  Any
    malformed input raises a :class:`~facecodec.errors.ContainerError`
    subclass; nothing else is raised for bytes-like input.
    """
    if isinstance(data, bytes):
        buf = data
    elif isinstance(data, (bytearray, memoryview)):
        buf = bytes(data)
    else:
        raise TypeError(
            f"expected bytes, bytearray or memoryview, got {type(data).__name__}"
        )
    size = len(buf)

    # (1) magic
    if size < len(MAGIC):
        if MAGIC.startswith(buf):
            raise Truncated(
                f"truncated .ffc file: expected at least {len(MAGIC)} magic bytes, "
                f"got {size}"
            )
        raise BadMagic("not a .ffc file (bad magic bytes)")
    if buf[: len(MAGIC)] != MAGIC:
        raise BadMagic("not a .ffc file (bad magic bytes)")
    pos = len(MAGIC)

    # (2) version
    version, pos = _read_u8(buf, pos, "version")
    if version not in VERSIONS:
        raise UnsupportedVersion(
            f"unsupported .ffc version {version} (this reader knows versions {_known()})"
        )

    # (3) header fields: presence and varint encoding only
    model_id, pos = _read_varint(buf, pos, _ID_VARINT, "model id")
    quality_code, pos = _read_u8(buf, pos, "quality code")
    width, pos = _read_varint(buf, pos, _SIDE_VARINT, "width")
    height, pos = _read_varint(buf, pos, _SIDE_VARINT, "height")
    channels, pos = _read_u8(buf, pos, "channels")
    lengths: dict[str, int] = {}
    for name, _ in _STREAMS[version]:
        lengths[name], pos = _read_varint(buf, pos, _LEN_VARINT, f"{name} length")

    # (4) values and limits, before anything is sliced
    _check_values(model_id, quality_code, width, height, channels, lengths)

    # (5) model id
    if known_model_ids is not None and model_id not in known_model_ids:
        raise UnknownModel(f"unknown model id {model_id}")

    # (6) total length
    crc_start = pos + sum(lengths.values())
    expected = crc_start + _CRC.size
    if size < expected:
        raise Truncated(f"truncated .ffc file: expected {expected} bytes, got {size}")
    if size > expected:
        raise TrailingData(
            f"trailing data after .ffc file: expected {expected} bytes, got {size}"
        )

    # (7) checksum
    (stored,) = _CRC.unpack_from(buf, crc_start)
    computed = zlib.crc32(memoryview(buf)[:crc_start])
    if stored != computed:
        raise ChecksumMismatch(
            f"corrupt .ffc file: CRC-32 mismatch (stored {stored:#010x}, "
            f"computed {computed:#010x})"
        )

    streams: dict[str, bytes] = {}
    for name, attr in _STREAMS[version]:
        streams[attr] = buf[pos : pos + lengths[name]]
        pos += lengths[name]
    return FfcFile(
        model_id=model_id,
        quality_code=quality_code,
        width=width,
        height=height,
        channels=channels,
        version=version,
        **streams,
    )


def read_header(
    data: bytes | bytearray | memoryview,
    known_model_ids: Collection[int] | None = None,
) -> FfcFile:
    """Convenience alias of :func:`unpack` (the header is only trusted once the
    whole file, CRC included, has been checked)."""
    return unpack(data, known_model_ids)
