"""The weights shipped in weights/: present, sha256-valid, and actually a working codec.

These tests use the real shipped files (not the random-init test weights), so a
broken export, a stale manifest or a regressed model fails here.
"""

from __future__ import annotations

import json
import re
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
    shipped = [n for n in registry.model_names() if registry.get_spec(n).kind != "recognizer"]  # panel: benchmarks/panel
    assert sorted(manifest) == sorted(shipped)  # removed models leave no entry
    for name in shipped:
        entry = manifest[name]
        spec = registry.get_spec(name)
        assert entry["file"] == spec.weights_file
        owner = manifest[spec.weights_in] if spec.weights_in else entry  # a guide: its codec's file
        assert sha256_file(SHIPPED / entry["file"]) == owner["sha256"]
        assert entry["training_command"].startswith("facecodec train "), name
        assert entry["measured"], name


def test_weights_folder_is_lean_and_pickle_free() -> None:
    files = list(SHIPPED.iterdir())
    assert sum(f.stat().st_size for f in files) <= 30e6  # the budget: docs/models.md
    assert not [f for f in files if f.suffix in {".pt", ".pth", ".pkl", ".bin"}]
    named = {registry.get_spec(n).weights_file for n in registry.model_names() if registry.get_spec(n).kind != "recognizer"}
    assert sorted(f.name for f in files if f.suffix == ".safetensors") == sorted(named)


@pytest.mark.usefixtures("shipped")
def test_example_face_round_trip_quality_and_rate() -> None:
    face = np.asarray(Image.open(FACE))[..., None]
    for codec in registry.model_names("codec"):
        sizes, psnrs = [], []
        for q in (1, 4, 8):
            data = api.encode(face, model=codec, quality=q)
            decoded = api.decode_array(data)
            assert decoded.shape == face.shape
            sizes.append(len(data))
            psnrs.append(psnr_uint8(face, decoded))
        # a trained codec: rate and fidelity both rise with quality
        assert sizes[0] < sizes[1] < sizes[2], codec
        assert psnrs[0] < psnrs[1] < psnrs[2], codec
        assert psnrs[1] > 24.0, codec  # a random-weight model decodes to ~10 dB


@pytest.mark.usefixtures("shipped")
def test_the_default_classifier_is_face_fer_v3s_frozen_guide() -> None:
    import torch

    spec = registry.get_spec(registry.DEFAULT_CLASSIFIER)
    assert spec.weights_in == "face-fer-v3"
    classifier = api.load_model(spec.name, "cpu").state_dict()
    codec = api.load_model(spec.weights_in, "cpu")
    assert torch.equal(classifier["head.weight"], codec.guide_fc.weight)
    assert torch.equal(classifier["body.0.weight"], codec.guide[0].weight)


@pytest.mark.usefixtures("shipped")
def test_the_default_codecs_files_are_read_by_its_own_readers() -> None:
    face = np.asarray(Image.open(FACE))[..., None]
    data = api.encode(face, model=registry.DEFAULT_CODEC, quality=1)
    (got,) = classify_batch([data], device="cpu")
    assert (got.domain, got.model) == ("latent", registry.get_spec(registry.DEFAULT_CODEC).latent_head)
    (pixel,) = classify_batch([data], domain="pixel", device="cpu")
    assert pixel.model == registry.pixel_classifier_for(registry.DEFAULT_CODEC)


@pytest.mark.usefixtures("shipped")
@pytest.mark.parametrize("codec", ["face-fer-v3", "face-hp-v1"])
def test_each_codec_is_read_by_the_models_its_entry_names(codec: str) -> None:
    spec = registry.get_spec(codec)
    data = api.encode(np.asarray(Image.open(FACE))[..., None], model=codec, quality=2)
    (got,) = classify_batch([data], device="cpu")
    assert (got.domain, got.model) == (("latent", spec.latent_head) if spec.latent_head else ("pixel", spec.classifier))
    (pixel,) = classify_batch([data], domain="pixel", device="cpu")
    assert pixel.model == spec.classifier


@pytest.mark.usefixtures("shipped")
def test_models_shows_each_codecs_figures_at_low_middle_and_top_quality() -> None:
    from click.testing import CliRunner

    from facecodec.cli import main

    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0, result.output
    for codec in registry.model_names("codec"):
        block = re.split(r"\n[* ] \S", result.output.split(f" {codec} ", 1)[1])[0]  # up to the next model
        points = _manifest()[codec]["measured"]["points"]
        for p in (points[0], points[len(points) // 2], points[-1]):
            assert f"q{p['quality']:g}: {p['bytes']:.0f} B, {p['bpp']:.2f} bpp, {p['psnr']:.1f} dB" in block, codec
