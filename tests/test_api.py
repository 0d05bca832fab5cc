"""The Python API: round trips, sizes, colour policy, quality, errors, batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import facecodec
from facecodec import api, container, registry
from facecodec.errors import (
    BadMagic,
    ChecksumMismatch,
    ContainerError,
    FacecodecError,
    ImageError,
    LimitExceeded,
    QualityError,
    TrailingData,
    Truncated,
    UnknownModel,
)

CPU = "cpu"


# --- round trips ----------------------------------------------------------------
def test_round_trip_grey_array(sample: tuple[bytes, np.ndarray], faces) -> None:
    data, pixels = sample
    assert data[:3] == b"FFC"
    assert pixels.shape == (48, 48, 1)
    assert pixels.dtype == np.uint8
    assert pixels.flags.c_contiguous
    # the test weights are random but not degenerate: the output is an image, not a constant
    assert len(np.unique(pixels)) > 20
    header = api.describe(data)
    assert (header["width"], header["height"], header["channels"]) == (48, 48, 1)
    assert header["model"] == registry.DEFAULT_CODEC
    assert header["quality"] == 4.0
    assert header["total_bytes"] == len(data)
    assert header["format_version"] == container.VERSION and list(header["stream_bytes"]) == ["z+y"]
    assert header["header_bytes"] + sum(header["stream_bytes"].values()) == len(data)


def test_decode_returns_pil_grey(sample: tuple[bytes, np.ndarray]) -> None:
    data, pixels = sample
    image = api.decode(data, device=CPU)
    assert image.mode == "L"
    assert image.size == (48, 48)
    assert np.array_equal(np.asarray(image), pixels[..., 0])


def test_pil_and_array_inputs_code_identically(faces) -> None:
    grey = faces["a"]
    results = api.encode_batch(
        [grey, grey[..., 0], Image.fromarray(grey[..., 0])], quality=4, device=CPU
    )
    assert results[0].data == results[1].data == results[2].data
    first = results[0]
    assert (first.width, first.height, first.channels) == (48, 48, 1)
    assert first.model == registry.DEFAULT_CODEC
    assert first.quality == 4.0
    assert not first.converted_to_grey
    assert first.bpp == pytest.approx(len(first.data) * 8 / (48 * 48))


def test_lazy_top_level_api(sample: tuple[bytes, np.ndarray], faces) -> None:
    assert facecodec.encode is api.encode
    assert facecodec.decode is api.decode
    with pytest.raises(AttributeError):
        facecodec.no_such_thing  # noqa: B018


def test_empty_batches() -> None:
    assert api.encode_batch([], device=CPU) == []
    assert api.decode_batch([], device=CPU) == []


# --- sizes ------------------------------------------------------------------------
def test_odd_sizes_are_cropped_back_exactly(make_face) -> None:
    shapes = [(37, 53), (53, 37), (1, 1), (16, 17), (31, 2)]
    images = [make_face(10 + i, h, w) for i, (h, w) in enumerate(shapes)]
    encoded = api.encode_batch(images, quality=3, device=CPU)
    for enc, (h, w) in zip(encoded, shapes):
        assert (enc.height, enc.width) == (h, w)
        header = container.unpack(enc.data)
        assert (header.height, header.width) == (h, w)
    decoded = api.decode_batch([e.data for e in encoded], device=CPU)
    assert [d.shape for d in decoded] == [(h, w, 1) for h, w in shapes]


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), min_size=1, max_size=3))
def test_any_size_round_trips_to_its_shape(shapes: list[tuple[int, int]]) -> None:
    rng = np.random.default_rng(len(shapes))
    images = [rng.integers(0, 256, (h, w), dtype=np.uint8) for h, w in shapes]
    decoded = api.decode_batch([e.data for e in api.encode_batch(images, device=CPU)], device=CPU)
    assert [d.shape for d in decoded] == [(h, w, 1) for h, w in shapes]


def test_padding_replicates_edges() -> None:
    image = np.arange(37 * 53, dtype=np.uint8).reshape(37, 53, 1)
    x = api._padded_batch([image], 16)
    assert tuple(x.shape) == (1, 1, 48, 64)
    padded = np.rint(x[0, 0] * 255).astype(np.uint8)
    assert np.array_equal(padded[:37, :53], image[..., 0])
    assert np.array_equal(padded[37:, :53], np.repeat(image[-1:, :, 0], 11, axis=0))
    assert np.array_equal(padded[:, 53:], np.repeat(padded[:, 52:53], 11, axis=1))


@pytest.mark.parametrize(
    ("image", "error"),
    [
        (np.zeros((8, 8), np.float32), ImageError),
        (np.zeros((8, 8, 2), np.uint8), ImageError),
        (np.zeros((8, 8, 3, 1), np.uint8), ImageError),
        (np.zeros((0, 8), np.uint8), ImageError),
        (np.zeros((container.MAX_SIDE + 1, 1), np.uint8), LimitExceeded),
        ("face.png", ImageError),
    ],
    ids=["float", "2-channels", "4-dims", "empty", "too-tall", "path-string"],
)
def test_bad_images_rejected(image: object, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        api.encode(image, device=CPU)
    assert isinstance(info.value, FacecodecError)


# --- colour -----------------------------------------------------------------------------
def test_rgb_into_grey_model(faces) -> None:
    rgb = faces["rgb"]
    assert not np.array_equal(rgb[..., 0], rgb[..., 1])  # really colour
    luma = np.asarray(Image.fromarray(rgb).convert("L"))
    colour, grey = api.encode_batch([Image.fromarray(rgb), luma], quality=5, device=CPU)
    assert colour.converted_to_grey
    assert not grey.converted_to_grey
    assert colour.channels == 3 and grey.channels == 1
    assert container.unpack(colour.data).channels == 3

    out_colour, out_grey = api.decode_batch([colour.data, grey.data], device=CPU)
    assert out_colour.shape == (40, 64, 3)
    assert out_grey.shape == (40, 64, 1)
    # grey RGB: equal channels, each the decoded luma
    assert np.array_equal(out_colour[..., 0], out_colour[..., 1])
    assert np.array_equal(out_colour[..., 0], out_colour[..., 2])
    assert np.array_equal(out_colour[..., 0], out_grey[..., 0])
    assert api.decode(colour.data, device=CPU).mode == "RGB"


def test_pil_modes_follow_colour_policy(faces) -> None:
    source = Image.fromarray(faces["rgb"])
    grey = source.convert("L")
    images = {
        "RGBA": source.convert("RGBA"),
        "P": source.convert("P"),
        "LA": grey.convert("LA"),
        "I;16": grey.convert("I;16"),
        "1": grey.convert("1"),
    }
    encoded = dict(zip(images, api.encode_batch(list(images.values()), device=CPU)))
    for mode in ("RGBA", "P"):
        assert encoded[mode].channels == 3, mode
        assert encoded[mode].converted_to_grey, mode
    for mode in ("LA", "I;16", "1"):
        assert encoded[mode].channels == 1, mode
        assert not encoded[mode].converted_to_grey, mode
    # alpha is dropped: RGBA codes exactly like its RGB pixels
    assert encoded["RGBA"].data == api.encode(source, device=CPU)


# --- quality ------------------------------------------------------------------------------
@pytest.mark.parametrize("quality", [0, 0.99, 8.01, 9, -1, math.nan, math.inf, "abc"], ids=repr)
def test_quality_outside_range(quality: object, faces) -> None:
    with pytest.raises(QualityError):
        api.encode(faces["a"], quality=quality, device=CPU)


def test_one_quality_per_image_required(faces) -> None:
    with pytest.raises(QualityError):
        api.encode_batch([faces["a"], faces["b"]], quality=[2, 3, 4], device=CPU)


@pytest.mark.parametrize("quality", [1, 8, 1.0, 8.0, 4])
def test_quality_range_ends_are_valid(quality: float) -> None:
    assert api.quality_from_code(api.quality_code(quality)) == quality


@settings(max_examples=200, deadline=None)
@given(st.floats(1.0, 8.0))
def test_quality_snaps_to_sixteenths(quality: float) -> None:
    code = api.quality_code(quality)
    snapped = api.quality_from_code(code)
    assert abs(snapped - quality) <= 1 / 32 + 1e-12
    assert snapped * 16 == code
    assert 16 <= code <= 128


def test_quality_snapped_in_file_and_model(faces) -> None:
    same, snapped_down, snapped_up = api.encode_batch(
        [faces["a"]] * 3, quality=[3.0, 3.03, 3.04], device=CPU
    )
    assert same.quality == snapped_down.quality == 3.0
    assert snapped_up.quality == 3.0625
    # the snapped value, not the requested one, is what the model sees
    assert snapped_down.data == same.data
    assert api.describe(snapped_up.data)["quality"] == 3.0625
    assert container.unpack(snapped_up.data).quality_code == 49


def test_per_image_qualities(faces) -> None:
    low, high = api.encode_batch([faces["a"], faces["a"]], quality=[1, 8], device=CPU)
    assert (low.quality, high.quality) == (1.0, 8.0)
    assert low.data != high.data
    assert api.describe(low.data)["quality"] == 1.0
    assert api.describe(high.data)["quality"] == 8.0


# --- corrupt input ----------------------------------------------------------------------
def _flip(data: bytes, pos: int) -> bytes:
    out = bytearray(data)
    out[pos] ^= 0x10
    return bytes(out)


def _with_model_id(data: bytes, model_id: int) -> bytes:
    import dataclasses

    f = container.unpack(data)
    return container.pack(dataclasses.replace(f, model_id=model_id))


@pytest.mark.parametrize(
    ("corrupt", "error"),
    [
        (lambda d: b"", Truncated),
        (lambda d: b"\x89PNG\r\n\x1a\n" + d, BadMagic),
        (lambda d: d[:-1], Truncated),
        (lambda d: d[: len(d) // 2], Truncated),
        (lambda d: d + b"\x00", TrailingData),
        (lambda d: _flip(d, len(d) - 10), ChecksumMismatch),
        (lambda d: _with_model_id(d, 999), UnknownModel),
    ],
    ids=["empty", "png", "last-byte-cut", "half", "trailing", "bit-flip", "unknown-model"],
)
def test_corrupt_bytes_raise(sample: tuple[bytes, np.ndarray], corrupt, error) -> None:
    data = corrupt(sample[0])
    for call in (api.decode, api.decode_array, api.parse, api.describe):
        with pytest.raises(error) as info:
            call(data)
        assert isinstance(info.value, FacecodecError)
        assert "\n" not in str(info.value)


def test_garbage_streams_with_valid_crc_decode_without_crash(
    sample: tuple[bytes, np.ndarray],
) -> None:
    import dataclasses

    f = container.unpack(sample[0])
    rng = np.random.default_rng(0)
    v1 = dataclasses.replace(f, stream=b"", version=1)
    garbage = [
        dataclasses.replace(f, stream=b""),
        *(dataclasses.replace(f, stream=rng.bytes(n)) for n in (1, 4, 5, 6, 7, 8, len(f.stream))),
        dataclasses.replace(f, stream=b"\xff" * 4096),
        v1,
        dataclasses.replace(v1, z_stream=rng.bytes(20), y_stream=rng.bytes(7)),
        dataclasses.replace(v1, z_stream=b"\xff" * 64, y_stream=b"\xff" * 4096),
    ]
    decoded = api.decode_batch([container.pack(g) for g in garbage], device=CPU)
    for out in decoded:
        assert isinstance(out, np.ndarray)
        assert out.shape == (48, 48, 1)


def test_decode_batch_keeps_errors_in_their_slots(sample: tuple[bytes, np.ndarray], faces) -> None:
    data, pixels = sample
    other = api.encode(faces["odd"], quality=2, device=CPU)
    batch = [data, b"junk", other, data[:-3], data]
    results = api.decode_batch(batch, device=CPU)
    assert len(results) == len(batch)
    assert isinstance(results[1], BadMagic)
    assert isinstance(results[3], Truncated)
    assert all(isinstance(results[i], ContainerError) for i in (1, 3))
    assert np.array_equal(results[0], pixels)
    assert np.array_equal(results[4], pixels)
    assert results[2].shape == (37, 53, 1)
