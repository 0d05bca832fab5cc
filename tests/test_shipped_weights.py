"""The weights shipped in weights/: present, sha256-valid, and actually a working codec.

These tests use the real shipped files (not the random-init test weights), so a
broken export, a stale manifest or a regressed model fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecodec import api, registry
from facecodec.evaluate import psnr_uint8
from facecodec.recognition import classify_batch
from facecodec.weights import MANIFEST_NAME, sha256_file

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "weights"
FACE = ROOT / "examples" / "astronaut_face_48x48_gray.png"


@pytest.fixture()
def shipped(monkeypatch):
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(SHIPPED))
    api.load_model.cache_clear()
    yield
    api.load_model.cache_clear()


def _manifest() -> dict:
    return json.loads((SHIPPED / MANIFEST_NAME).read_text())["models"]


def test_every_model_ships_with_valid_sha256() -> None:
    manifest = _manifest()
    for name in registry.model_names():
        entry = manifest[name]
        path = SHIPPED / entry["file"]
        assert sha256_file(path) == entry["sha256"]
        assert entry["training_command"].startswith("facecodec train "), name
        assert entry["measured"], name


def test_weights_folder_is_lean_and_pickle_free() -> None:
    files = list(SHIPPED.iterdir())
    assert sum(f.stat().st_size for f in files) < 60e6  # the budget: docs/models.md, "Weights budget"
    assert not [f for f in files if f.suffix in {".pt", ".pth", ".pkl", ".bin"}]


@pytest.mark.usefixtures("shipped")
def test_example_face_round_trip_quality_and_rate() -> None:
    face = np.asarray(Image.open(FACE))[..., None]
    sizes, psnrs = [], []
    for q in (1, 4, 8):
        data = api.encode(face, quality=q)
        decoded = api.decode_array(data)
        assert decoded.shape == face.shape
        sizes.append(len(data))
        psnrs.append(psnr_uint8(face, decoded))
    # a trained codec: rate and fidelity both rise with quality
    assert sizes[0] < sizes[1] < sizes[2]
    assert psnrs[0] < psnrs[1] < psnrs[2]
    assert psnrs[1] > 24.0  # a random-weight model decodes to ~10 dB


def test_retired_models_keep_their_record_but_not_their_file() -> None:
    manifest = json.loads((SHIPPED / MANIFEST_NAME).read_text())
    retired = [n for n in registry.model_names(retired=True) if registry.get_spec(n).retired]
    assert retired
    for name in retired:
        assert name not in manifest["models"]
        record = manifest["retired"][name]
        assert record["sha256"] and record["training_command"].startswith("facecodec train ")
        assert not (SHIPPED / record["file"]).exists()


def test_models_lists_retired_heads_with_their_recorded_size(shipped) -> None:
    records = {r["name"]: r for r in registry.list_models()}
    for name in (n for n in registry.model_names(retired=True) if registry.get_spec(n).retired):
        assert records[name]["retired"] and records[name]["parameters"] > 0
        assert records[name]["weights_available"] is False


@pytest.mark.usefixtures("shipped")
def test_face_fer_v5_is_face_fer_v4_plus_a_tier_of_tiny_files() -> None:
    from safetensors.torch import load_file

    stored = load_file(str(SHIPPED / registry.get_spec("face-fer-v5").weights_file))
    assert stored and all(k.startswith("tier_") for k in stored)  # the rest is face-fer-v4's file
    face = np.asarray(Image.open(FACE))[..., None]
    for q in (1, 3):
        v4, v5 = (api.parse(api.encode(face, model=m, quality=q)) for m in ("face-fer-v4", "face-fer-v5"))
        assert v4.stream == v5.stream
    sizes = [len(api.encode(face, model="face-fer-v5", quality=q)) for q in (0.25, 0.5, 0.9375, 1)]
    assert sizes[0] <= sizes[1] <= sizes[2] < sizes[3]
    assert sizes[0] <= 24  # header and CRC are 14 of them
    decoded = api.decode_array(api.encode(face, model="face-fer-v5", quality=0.25))
    assert decoded.shape == face.shape and 12.0 < psnr_uint8(face, decoded) < 30.0


@pytest.mark.usefixtures("shipped")
def test_face_fer_v6_writes_smaller_files_than_face_fer_v4_and_its_head_reads_them() -> None:
    face = np.asarray(Image.open(FACE))[..., None]
    for q in (1, 2, 3, 4, 8):
        v4, v6 = (len(api.encode(face, model=m, quality=q)) for m in ("face-fer-v4", "face-fer-v6"))
        assert v6 < v4, q
    (got,) = classify_batch([api.encode(face, model="face-fer-v6", quality=2)], device="cpu")
    assert (got.domain, got.model) == ("latent", "fer-latent-v10")


@pytest.mark.usefixtures("shipped")
@pytest.mark.parametrize(("codec", "head"), [("face-fer-v7", "fer-latent-v11"), ("face-fer-v8", "fer-latent-v12")])
def test_a_later_fer_codec_decodes_from_its_file_alone_and_its_own_head_reads_it(codec: str, head: str) -> None:
    face = np.asarray(Image.open(FACE))[..., None]
    data = api.encode(face, model=codec, quality=2)
    decoded = api.decode_array(data)  # the file names its model: nothing else needed
    assert decoded.shape == face.shape and 14.0 < psnr_uint8(face, decoded) < 40.0
    (got,) = classify_batch([data], device="cpu")
    assert (got.domain, got.model) == ("latent", head)
    (pixel,) = classify_batch([data], domain="pixel", device="cpu")
    assert pixel.model == "fer-cnn-joint-v6"
