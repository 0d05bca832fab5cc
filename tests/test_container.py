"""Tests of the ``.ffc`` container (pure Python; must run without torch)."""

from __future__ import annotations

import dataclasses
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facecodec import container
from facecodec.container import (
    CODINGS,
    MAGIC,
    MAX_SIDE,
    MAX_STREAM_BYTES,
    VERSION,
    VERSIONS,
    FfcFile,
    overhead_bytes,
    pack,
    read_header,
    unpack,
)
from facecodec.errors import (
    BadMagic,
    ChecksumMismatch,
    ContainerError,
    FacecodecError,
    LimitExceeded,
    MalformedHeader,
    TrailingData,
    Truncated,
    UnknownModel,
    UnsupportedVersion,
)

FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _sample(**changes: object) -> FfcFile:
    base = FfcFile(
        model_id=3,
        quality_code=32,
        width=48,
        height=48,
        channels=3,
        z_stream=bytes(range(20)),
        y_stream=bytes(range(200, 256)) * 3,
        version=1,
    )
    return dataclasses.replace(base, **changes)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _raw(
    *,
    magic: bytes = MAGIC,
    version: bytes = b"\x01",
    model_id: bytes = b"\x03",
    quality: bytes = b"\x20",
    width: bytes = b"\x30",
    height: bytes = b"\x30",
    channels: bytes = b"\x03",
    z_len: bytes | None = None,
    y_len: bytes | None = None,
    z: bytes = b"zz",
    y: bytes = b"yyy",
    crc: bytes | None = None,
) -> bytes:
    """Build a file byte by byte, bypassing ``pack``'s validation."""
    body = b"".join(
        (
            magic,
            version,
            model_id,
            quality,
            width,
            height,
            channels,
            _varint(len(z)) if z_len is None else z_len,
            _varint(len(y)) if y_len is None else y_len,
            z,
            y,
        )
    )
    if crc is None:
        crc = struct.pack("<I", zlib.crc32(body))
    return body + crc


_HEADERS = {
    "model_id": st.integers(0, container.MAX_MODEL_ID),
    "quality_code": st.integers(0, 255),
    "width": st.integers(1, MAX_SIDE),
    "height": st.integers(1, MAX_SIDE),
    "channels": st.sampled_from((1, 3)),
}
files = st.builds(
    FfcFile, **_HEADERS, z_stream=st.binary(max_size=300), y_stream=st.binary(max_size=3000), version=st.just(1)
)
files_v2 = st.builds(FfcFile, **_HEADERS, stream=st.binary(max_size=3000))


# --- basics -------------------------------------------------------------------
def test_imports_without_torch() -> None:
    code = (
        "import sys, facecodec.container, facecodec.errors; "
        "bad = {'torch', 'numpy'} & set(sys.modules); "
        "sys.exit(f'imported {sorted(bad)}' if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_known_layout() -> None:
    f = FfcFile(
        model_id=1,
        quality_code=40,
        width=48,
        height=48,
        channels=3,
        z_stream=b"Z",
        y_stream=b"YY",
        version=1,
    )
    body = b"FFC\x01\x01\x28\x30\x30\x03\x01\x02ZYY"
    assert pack(f) == body + struct.pack("<I", zlib.crc32(body))


@pytest.mark.parametrize("version", [3, 2])
def test_known_layout_one_stream(version: int) -> None:
    f = FfcFile(model_id=1, quality_code=40, width=48, height=48, channels=1, stream=b"ZYYY", version=version)
    assert f.streams == (b"ZYYY",)
    body = b"FFC" + bytes([version]) + b"\x01\x28\x30\x30\x01\x04ZYYY"
    assert pack(f) == body + struct.pack("<I", zlib.crc32(body))
    assert overhead_bytes(f) == 14  # 10 header bytes + CRC for a 48x48 face
    assert unpack(pack(f)) == f


def test_the_writer_writes_version_3() -> None:
    assert FfcFile(model_id=1, quality_code=40, width=48, height=48, channels=1).version == VERSION == 3
    assert VERSIONS == (1, 2, 3) and sorted(CODINGS) == list(VERSIONS)


@FAST
@given(files_v2)
def test_round_trip_version_2(f: FfcFile) -> None:
    data = pack(f)
    assert unpack(data) == f and unpack(data).streams == (f.stream,)
    assert len(data) == overhead_bytes(f) + len(f.stream)
    for cut in range(len(data)):  # every strict prefix is Truncated
        with pytest.raises(Truncated):
            unpack(data[:cut])
    with pytest.raises(TrailingData):
        unpack(data + b"\x00")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"version": 2}, "version-2 file has no z_stream"),  # a v1 sample's two streams
        ({"version": 3}, "version-3 file has no z_stream"),
        ({"version": 1, "z_stream": b"", "y_stream": b"", "stream": b"s"}, "version-1 file has no stream"),
    ],
)
def test_streams_must_match_the_version(changes: dict, match: str) -> None:
    with pytest.raises(MalformedHeader, match=match):
        pack(_sample(**changes))


def test_version_1_files_still_read() -> None:
    f = _sample()
    assert unpack(pack(f)).streams == (f.z_stream, f.y_stream)


def test_varint_multibyte_layout() -> None:
    f = _sample(model_id=300, width=MAX_SIDE, height=129)
    data = pack(f)
    # 300 = 0b10_0101100 -> 0xAC 0x02; 4096 -> 0x80 0x20; 129 -> 0x81 0x01
    assert data[4:6] == b"\xac\x02"
    assert data[7:9] == b"\x80\x20"
    assert data[9:11] == b"\x81\x01"
    assert unpack(data) == f


@FAST
@given(files)
def test_round_trip(f: FfcFile) -> None:
    data = pack(f)
    assert unpack(data) == f
    assert read_header(data) == f
    assert unpack(bytearray(data)) == f
    assert unpack(memoryview(data)) == f
    assert len(data) == overhead_bytes(f) + len(f.z_stream) + len(f.y_stream)


def test_round_trip_accepts_bytearray_streams() -> None:
    f = _sample(z_stream=bytearray(b"abc"), y_stream=memoryview(b"defg"))
    g = unpack(pack(f))
    assert g.z_stream == b"abc"
    assert g.y_stream == b"defg"
    assert isinstance(g.z_stream, bytes)
    assert isinstance(g.y_stream, bytes)


def test_empty_streams_round_trip() -> None:
    f = _sample(z_stream=b"", y_stream=b"")
    assert unpack(pack(f)) == f


def test_extreme_values_round_trip() -> None:
    f = _sample(
        model_id=container.MAX_MODEL_ID,
        quality_code=255,
        width=MAX_SIDE,
        height=1,
        channels=1,
    )
    assert unpack(pack(f)) == f


# --- overhead -----------------------------------------------------------------
@FAST
@given(
    model_id=st.integers(0, 127),
    quality_code=st.integers(0, 255),
    channels=st.sampled_from((1, 3)),
    z_len=st.integers(0, 127),
    y_len=st.integers(0, 16383),
)
def test_overhead_48x48_at_most_16(
    model_id: int, quality_code: int, channels: int, z_len: int, y_len: int
) -> None:
    f = FfcFile(model_id, quality_code, 48, 48, channels, b"z" * z_len, b"y" * y_len, version=1)
    overhead = overhead_bytes(f)
    assert overhead <= 16
    assert overhead == (15 if y_len < 128 else 16)
    assert len(pack(f)) - z_len - y_len == overhead


# --- each error, from a crafted input -----------------------------------------
def test_raw_helper_is_valid() -> None:
    f = unpack(_raw())
    assert (f.model_id, f.quality_code, f.width, f.height, f.channels) == (
        3,
        32,
        48,
        48,
        3,
    )
    assert (f.z_stream, f.y_stream) == (b"zz", b"yyy")


@pytest.mark.parametrize("data", [b"", b"F", b"FF"])
def test_magic_prefix_is_truncated(data: bytes) -> None:
    with pytest.raises(Truncated):
        unpack(data)


@pytest.mark.parametrize(
    "data", [b"X", b"FX", b"FFD", b"\x89PNG\r\n\x1a\n", b"ffc\x01" + bytes(20)]
)
def test_bad_magic(data: bytes) -> None:
    with pytest.raises(BadMagic, match=r"not a \.ffc file"):
        unpack(data)


def test_bad_magic_in_otherwise_valid_file() -> None:
    with pytest.raises(BadMagic):
        unpack(_raw(magic=b"FFD"))


def test_missing_version_is_truncated() -> None:
    with pytest.raises(Truncated):
        unpack(MAGIC)


@pytest.mark.parametrize("version", [0, 4, 255])
def test_unsupported_version(version: int) -> None:
    with pytest.raises(UnsupportedVersion, match=f"version {version}"):
        unpack(_raw(version=bytes([version])))


def test_truncation_at_every_offset() -> None:
    data = pack(_sample(model_id=300, width=MAX_SIDE, y_stream=b"y" * 200))
    for cut in range(len(data)):
        with pytest.raises(Truncated):
            unpack(data[:cut])


def test_truncated_message_gives_sizes() -> None:
    data = pack(_sample())
    with pytest.raises(Truncated, match=f"expected {len(data)} bytes, got 40"):
        unpack(data[:40])


@pytest.mark.parametrize("extra", [b"\x00", b"junk", pack(_sample())])
def test_trailing_data(extra: bytes) -> None:
    with pytest.raises(TrailingData):
        unpack(pack(_sample()) + extra)


def test_crc_flip_in_crc_field() -> None:
    data = bytearray(pack(_sample()))
    data[-1] ^= 0x01
    with pytest.raises(ChecksumMismatch):
        unpack(bytes(data))


def test_crc_flip_in_streams() -> None:
    f = _sample()
    data = pack(f)
    header = overhead_bytes(f) - 4
    for pos in range(header, len(data) - 4):
        corrupt = bytearray(data)
        corrupt[pos] ^= 0x40
        with pytest.raises(ChecksumMismatch):
            unpack(bytes(corrupt))


def test_quality_code_flip_is_checksum_mismatch() -> None:
    data = bytearray(_raw())
    data[5] ^= 0xFF  # quality code: any value is legal, so only the CRC catches it
    with pytest.raises(ChecksumMismatch):
        unpack(bytes(data))


@pytest.mark.parametrize("field", ["width", "height"])
def test_side_zero(field: str) -> None:
    with pytest.raises(MalformedHeader, match=field):
        unpack(_raw(**{field: b"\x00"}))


@pytest.mark.parametrize("field", ["width", "height"])
def test_side_over_limit(field: str) -> None:
    with pytest.raises(LimitExceeded, match=field):
        unpack(_raw(**{field: _varint(MAX_SIDE + 1)}))


def test_side_max_two_byte_varint_over_limit() -> None:
    with pytest.raises(LimitExceeded):
        unpack(_raw(width=b"\xff\x7f"))


@pytest.mark.parametrize("channels", [0, 2, 4, 255])
def test_bad_channels(channels: int) -> None:
    with pytest.raises(MalformedHeader, match="channels"):
        unpack(_raw(channels=bytes([channels])))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model_id", b"\x83\x00"),
        ("width", b"\xb0\x00"),
        ("height", b"\xb0\x00"),
        ("z_len", b"\x82\x00"),
        ("y_len", b"\x83\x80\x00"),
    ],
)
def test_non_minimal_varint(field: str, value: bytes) -> None:
    with pytest.raises(MalformedHeader, match="non-minimal"):
        unpack(_raw(**{field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("model_id", b"\x80\x80\x01"),
        ("width", b"\x81\x81\x01"),
        ("height", b"\xff\xff\x7f"),
        ("z_len", b"\x80\x80\x80\x80\x01"),
        ("y_len", b"\xff\xff\xff\xff\x0f"),
    ],
)
def test_overlong_varint(field: str, value: bytes) -> None:
    with pytest.raises(MalformedHeader, match="longer than"):
        unpack(_raw(**{field: value}))


@pytest.mark.parametrize("field", ["z_len", "y_len"])
def test_stream_length_over_limit_before_slicing(field: str) -> None:
    # The file is tiny; the limit must fire before the length is compared or used.
    with pytest.raises(LimitExceeded, match="stream length"):
        unpack(_raw(**{field: _varint(MAX_STREAM_BYTES + 1)}))


def test_stream_length_at_limit_is_only_truncated() -> None:
    with pytest.raises(Truncated):
        unpack(_raw(y_len=_varint(MAX_STREAM_BYTES)))


def test_huge_declared_length_is_truncated_not_allocated() -> None:
    with pytest.raises(Truncated, match="expected"):
        unpack(_raw(z_len=_varint(MAX_STREAM_BYTES), y_len=_varint(MAX_STREAM_BYTES)))


def test_unknown_model_id() -> None:
    data = pack(_sample(model_id=7))
    with pytest.raises(UnknownModel, match="unknown model id 7"):
        unpack(data, known_model_ids={1, 2, 3})
    with pytest.raises(UnknownModel):
        read_header(data, known_model_ids=())
    assert unpack(data, known_model_ids=[7]).model_id == 7
    assert unpack(data, known_model_ids=None).model_id == 7


def test_unknown_model_checked_before_length() -> None:
    data = pack(_sample(model_id=7))
    with pytest.raises(UnknownModel):
        unpack(data[:-1], known_model_ids={1})


def test_check_order_version_before_header() -> None:
    with pytest.raises(UnsupportedVersion):
        unpack(_raw(version=b"\x04", width=b"\x00", channels=b"\x02"))


def test_check_order_limits_before_crc() -> None:
    with pytest.raises(MalformedHeader):
        unpack(_raw(channels=b"\x02", crc=b"\x00\x00\x00\x00"))


def test_all_container_errors_share_base() -> None:
    for cls in (
        BadMagic,
        UnsupportedVersion,
        Truncated,
        TrailingData,
        ChecksumMismatch,
        MalformedHeader,
        LimitExceeded,
    ):
        assert issubclass(cls, ContainerError)
        assert issubclass(cls, FacecodecError)
    assert issubclass(UnknownModel, FacecodecError)


def test_messages_are_one_line() -> None:
    cases = [
        b"",
        b"XYZ",
        b"FFC",
        b"FFC\x09",
        _raw(width=b"\x00"),
        _raw(width=_varint(5000)),
        pack(_sample())[:40],
        pack(_sample()) + b"\x00",
        _raw(crc=b"\x00\x00\x00\x00"),
        _raw(model_id=b"\x80\x00"),
    ]
    for data in cases:
        with pytest.raises(FacecodecError) as info:
            unpack(data)
        message = str(info.value)
        assert message
        assert "\n" not in message


# --- pack validation ----------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"model_id": -1}, MalformedHeader),
        ({"model_id": container.MAX_MODEL_ID + 1}, LimitExceeded),
        ({"quality_code": -1}, MalformedHeader),
        ({"quality_code": 256}, MalformedHeader),
        ({"width": 0}, MalformedHeader),
        ({"height": -5}, MalformedHeader),
        ({"width": MAX_SIDE + 1}, LimitExceeded),
        ({"height": MAX_SIDE + 1}, LimitExceeded),
        ({"channels": 2}, MalformedHeader),
        ({"channels": 4}, MalformedHeader),
        ({"width": 48.0}, MalformedHeader),
        ({"channels": True}, MalformedHeader),
        ({"z_stream": "text"}, MalformedHeader),
        ({"y_stream": None}, MalformedHeader),
        ({"version": 4}, UnsupportedVersion),
    ],
)
def test_pack_rejects(changes: dict[str, object], error: type[Exception]) -> None:
    f = _sample(**changes)
    with pytest.raises(error):
        pack(f)
    with pytest.raises(error):
        overhead_bytes(f)


def test_pack_rejects_oversized_stream() -> None:
    with pytest.raises(LimitExceeded):
        pack(_sample(y_stream=bytes(MAX_STREAM_BYTES + 1)))


def test_unpack_rejects_non_bytes() -> None:
    with pytest.raises(TypeError):
        unpack("FFC")  # type: ignore[arg-type]


# --- fuzzing: only FacecodecError, never IndexError/struct.error/... ----------
def _only_facecodec_errors(data: bytes, known: set[int] | None = None) -> None:
    try:
        f = unpack(data, known_model_ids=known)
    except FacecodecError:
        return
    # Whatever parses must re-serialise to exactly the same bytes.
    assert pack(f) == data


@FAST
@given(st.binary(max_size=64))
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_facecodec_errors(data)


@FAST
@given(st.binary(max_size=40).map(lambda b: MAGIC + bytes([VERSION]) + b))
def test_fuzz_random_after_valid_prefix(data: bytes) -> None:
    _only_facecodec_errors(data)
    _only_facecodec_errors(data, known={0, 1, 2})


@FAST
@given(
    files,
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 7)), max_size=4),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.binary(max_size=4),
)
def test_fuzz_mutated_valid_files(
    f: FfcFile, flips: list[tuple[int, int]], cut: int | None, tail: bytes
) -> None:
    data = bytearray(pack(f))
    for pos, bit in flips:
        data[pos % len(data)] ^= 1 << bit
    if cut is not None:
        del data[cut % (len(data) + 1) :]
    data += tail
    _only_facecodec_errors(bytes(data))
    if not flips and cut is None and tail:
        with pytest.raises(TrailingData):
            unpack(bytes(data))


@FAST
@given(files, st.data())
def test_fuzz_single_bit_flip_always_detected(f: FfcFile, draw: st.DataObject) -> None:
    data = bytearray(pack(f))
    pos = draw.draw(st.integers(0, len(data) - 1))
    bit = draw.draw(st.integers(0, 7))
    data[pos] ^= 1 << bit
    with pytest.raises(FacecodecError):
        unpack(bytes(data))
