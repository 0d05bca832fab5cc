"""The Pillow plugin: Image.open/save of .ffc files, lazy decoding, errors."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import facecodec
from facecodec import api, container, pillow_plugin, registry
from facecodec.errors import (
    ChecksumMismatch,
    FacecodecError,
    QualityError,
    Truncated,
    UnknownModel,
)
from facecodec.pillow_plugin import FfcImageError

CPU = "cpu"


@pytest.fixture(autouse=True)
def _cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pillow_plugin, "DEVICE", CPU)


@pytest.fixture
def ffc_path(sample: tuple[bytes, np.ndarray], tmp_path: Path) -> Path:
    path = tmp_path / "x.ffc"
    path.write_bytes(sample[0])
    return path


def test_registered() -> None:
    assert Image.registered_extensions()[".ffc"] == "FFC"
    assert Image.MIME["FFC"] == "image/x-ffc"
    assert "FFC" in Image.SAVE


def test_open_reads_header_without_decoding(
    ffc_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("Image.open must not decode")

    monkeypatch.setattr(api, "decode_array", fail)
    with Image.open(ffc_path) as im:
        assert im.format == "FFC"
        assert im.format_description
        assert im.size == (48, 48)
        assert im.mode == "L"
        assert im.get_format_mimetype() == "image/x-ffc"
        assert im.info == {
            "model": registry.DEFAULT_CODEC,
            "model_id": registry.get_spec(registry.DEFAULT_CODEC).model_id,
            "quality": 4.0,
            "format_version": container.VERSION,
        }
        assert im.tile  # nothing loaded yet


def test_open_does_not_import_torch(ffc_path: Path) -> None:
    code = (
        "import sys, facecodec; from PIL import Image; "
        f"im = Image.open({str(ffc_path)!r}); "
        "assert (im.size, im.mode, im.format) == ((48, 48), 'L', 'FFC'), im; "
        "bad = {'torch', 'compressai'} & set(sys.modules); "
        "print(sorted(bad)); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_load_equals_facecodec_decode(ffc_path: Path, sample: tuple[bytes, np.ndarray]) -> None:
    data, pixels = sample
    with Image.open(ffc_path) as im:
        im.load()
        assert not im.tile
        loaded = np.asarray(im)
    assert np.array_equal(loaded, np.asarray(facecodec.decode(data, device=CPU)))
    assert np.array_equal(loaded, pixels[..., 0])


def test_open_from_stream_and_restricted_formats(sample: tuple[bytes, np.ndarray]) -> None:
    data, pixels = sample
    with Image.open(io.BytesIO(data), formats=["FFC"]) as im:
        assert np.array_equal(np.asarray(im), pixels[..., 0])


def test_save_file_round_trip(tmp_path: Path, make_face, write_png) -> None:
    png = write_png(make_face(7), tmp_path / "face.png")
    out = tmp_path / "y.ffc"
    with Image.open(png) as im:
        im.save(out, quality=2)
        expected = api.encode(im, quality=2, device=CPU)
    assert out.read_bytes() == expected
    with Image.open(out) as im:
        assert (im.size, im.mode, im.info["quality"]) == ((48, 48), "L", 2.0)
        assert np.array_equal(np.asarray(im), api.decode_array(expected, device=CPU)[..., 0])


def test_save_to_bytesio_with_format(make_face) -> None:
    image = Image.fromarray(make_face(8, 37, 53)[..., 0])
    buf = io.BytesIO()
    image.save(buf, format="FFC", quality=6.5, model="face-hp-v1", device=CPU)
    data = buf.getvalue()
    assert data == api.encode(image, model="face-hp-v1", quality=6.5, device=CPU)
    header = api.describe(data)
    assert (header["width"], header["height"], header["quality"]) == (53, 37, 6.5)
    buf.seek(0)
    with Image.open(buf) as im:
        assert (im.size, im.mode) == ((53, 37), "L")


def test_rgb_round_trip(make_face) -> None:
    rgb = make_face(9, 40, 64, channels=3)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="FFC")
    data = buf.getvalue()
    assert api.describe(data)["channels"] == 3
    buf.seek(0)
    with Image.open(buf) as im:
        assert (im.size, im.mode) == ((64, 40), "RGB")
        pixels = np.asarray(im)
    assert pixels.shape == (40, 64, 3)
    # colour policy: the grey model codes luma and decodes to a grey RGB image
    assert np.array_equal(pixels[..., 0], pixels[..., 1])
    assert np.array_equal(pixels[..., 0], pixels[..., 2])
    assert np.array_equal(pixels, np.asarray(facecodec.decode(data, device=CPU)))


def test_other_modes_follow_the_colour_policy(make_face) -> None:
    grey = Image.fromarray(make_face(10)[..., 0])
    for image, mode in (
        (grey.convert("LA"), "L"),
        (grey.convert("RGBA"), "RGB"),
        (grey.convert("P"), "RGB"),
    ):
        buf = io.BytesIO()
        image.save(buf, format="FFC")
        buf.seek(0)
        with Image.open(buf) as im:
            assert im.mode == mode, image.mode


# --- errors ----------------------------------------------------------------------
def test_corrupt_file_raises_clear_error(ffc_path: Path) -> None:
    data = bytearray(ffc_path.read_bytes())
    data[len(data) // 2] ^= 0x01
    ffc_path.write_bytes(bytes(data))
    with pytest.raises(FfcImageError, match="CRC-32 mismatch") as info:
        Image.open(ffc_path)
    err = info.value
    assert isinstance(err, UnidentifiedImageError) and isinstance(err, OSError)
    assert isinstance(err, FacecodecError)
    assert isinstance(err.reason, ChecksumMismatch) and err.__cause__ is err.reason
    assert str(ffc_path) in str(err)


def test_truncated_file(sample: tuple[bytes, np.ndarray]) -> None:
    with pytest.raises(FfcImageError, match="truncated") as info:
        Image.open(io.BytesIO(sample[0][:-5]))
    assert isinstance(info.value.reason, Truncated)


def test_not_ffc_is_left_to_pillow() -> None:
    with pytest.raises(UnidentifiedImageError) as info:
        Image.open(io.BytesIO(b"this is not an image at all"))
    assert not isinstance(info.value, FfcImageError)


def test_unknown_or_non_codec_model_id(sample: tuple[bytes, np.ndarray]) -> None:
    parsed = container.unpack(sample[0])
    with pytest.raises(FfcImageError, match="unknown model id 77") as info:
        Image.open(io.BytesIO(container.pack(dataclasses.replace(parsed, model_id=77))))
    assert isinstance(info.value.reason, UnknownModel)
    with pytest.raises(FfcImageError, match="unknown model id 101"):  # a classifier's id
        Image.open(io.BytesIO(container.pack(dataclasses.replace(parsed, model_id=101))))


def test_save_errors_leave_no_file(tmp_path: Path, make_face) -> None:
    image = Image.fromarray(make_face(11)[..., 0])
    out = tmp_path / "bad.ffc"
    with pytest.raises(QualityError):
        image.save(out, quality=9)
    with pytest.raises(UnknownModel):
        image.save(out, model="no-such-model")
    assert not out.exists()
