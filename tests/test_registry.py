"""The model registry: names, ids, building, and every registered model working."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facecodec import api, registry
from facecodec.errors import UnknownModel, WeightsError

NAMES = registry.model_names()


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UnknownModel) as info:
        registry.get_spec("face-hp-v0")
    message = str(info.value)
    assert "face-hp-v0" in message
    for name in NAMES:
        assert name in message
    assert "\n" not in message


@pytest.mark.parametrize("call", [registry.create_model, api.load_model])
def test_unknown_name_everywhere(call) -> None:
    with pytest.raises(UnknownModel):
        call("no-such-model")


def test_names_and_ids_unique_and_stable() -> None:
    specs = [registry.get_spec(n) for n in NAMES]
    ids = [s.model_id for s in specs] + list(registry.REMOVED.values())  # removed ids stay reserved
    assert len(set(ids)) == len(ids)
    assert not set(NAMES) & set(registry.REMOVED)
    codec_ids = {s.model_id for s in specs if s.kind == "codec"}
    assert codec_ids < registry.model_ids() <= codec_ids | set(registry.REMOVED.values())
    for spec in specs:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*-v\d+", spec.name), spec.name
        assert 0 <= spec.model_id <= 16383  # fits the .ffc header's 2-byte varint
        assert registry.spec_for_id(spec.model_id) is spec
    # ids are part of the file format: these must never change
    assert {n: registry.get_spec(n).model_id for n in registry.model_names("codec")} == {
        "face-fer-v3": 4, "face-hp-v1": 1, "face-fer-v9": 10, "face-fer-v10": 11,
    }  # fmt: skip
    assert registry.REMOVED["face-fer-v4"] == 5 and registry.REMOVED["face-fer-v8"] == 9
    assert registry.REMOVED["face-fer-v5"] == 6 and 6 in registry.model_ids()  # its files still refused by name
    assert (registry.REMOVED["fer-cnn-joint-v6"], registry.REMOVED["fer-latent-v9"]) == (107, 209)


@pytest.mark.parametrize("name", sorted(registry.REMOVED))
def test_a_removed_name_says_which_release_reads_it(name: str) -> None:
    for call in (registry.get_spec, registry.create_model, api.load_model):
        with pytest.raises(UnknownModel) as info:
            call(name)
        message = str(info.value)
        assert name in message and registry.READ_BY in message and "\n" not in message
    if registry.REMOVED[name] in registry.model_ids():  # a codec: its files may still turn up
        with pytest.raises(UnknownModel, match=registry.READ_BY):
            registry.spec_for_id(registry.REMOVED[name])


def test_each_codec_names_its_readers() -> None:
    """A codec's classifier and latent head are fields of its entry: registered, of the right
    kind, and what classify uses; a head reads exactly the codec that names it."""
    for codec in registry.model_names("codec"):
        spec = registry.get_spec(codec)
        assert spec.role
        assert registry.get_spec(spec.classifier).kind == "classifier"
        assert registry.pixel_classifier_for(codec) == spec.classifier
        head = registry.latent_classifier_for(codec)
        assert (head.name if head else None) == spec.latent_head
        if head:
            assert head.kind == "latent-classifier" and head.codec == codec and head.reads(codec)
            assert not any(head.reads(c) for c in registry.model_names("codec") if c != codec)
    heads = registry.model_names("latent-classifier")
    assert sorted(heads) == sorted(s.latent_head for s in map(registry.get_spec, NAMES) if s.latent_head)
    assert registry.latent_classifier_for("face-hp-v1") is None
    # the readers each kept codec had in 0.1.x
    assert [registry.pixel_classifier_for(c) for c in ("face-fer-v3", "face-hp-v1")] == [
        "fer-cnn-joint-v4", "fer-cnn-joint-v1",
    ]  # fmt: skip
    assert registry.pixel_classifier_for("face-fer-v9") == "fer-cnn-joint-v1"
    assert registry.latent_classifier_for("face-fer-v9").name == "fer-latent-v13"
    assert registry.latent_classifier_for("face-fer-v10").name == "fer-latent-v14"
    with pytest.raises(UnknownModel):
        registry.latent_classifier_for("fer-cnn-joint-v4")  # not a codec


def test_default_codec_is_registered_codec() -> None:
    assert registry.DEFAULT_CODEC in registry.model_names("codec")
    assert registry.get_spec(registry.DEFAULT_CODEC).kind == "codec"
    assert registry.model_names("no-such-kind") == []
    assert set(registry.model_names("codec")) <= set(NAMES)


@pytest.mark.parametrize("model_id", [0, 3, 999, 16383])
def test_spec_for_unknown_id(model_id: int) -> None:
    if model_id in registry.model_ids():
        assert registry.REMOVED.get("face-fer-v2") == model_id  # a removed codec's id
        with pytest.raises(UnknownModel, match="face-fer-v2"):
            registry.spec_for_id(model_id)
        return
    with pytest.raises(UnknownModel) as info:
        registry.spec_for_id(model_id)
    assert str(model_id) in str(info.value)
    for name in registry.model_names("codec"):
        assert str(registry.get_spec(name).model_id) in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_builds_and_loads(name: str, random_model) -> None:
    import torch

    spec = registry.get_spec(name)
    untrained = registry.build_architecture(spec)
    assert isinstance(untrained, torch.nn.Module)
    model = registry.create_model(name)
    assert not model.training
    # the test weights were loaded, not a fresh initialisation (float16-stored models:
    # exactly the export's rounding of it)
    fresh = random_model(name)
    if spec.weights_dtype == "float16":
        from facecodec.train.export import round_to_half

        round_to_half(fresh)
    expected = dict(fresh.named_parameters())
    loaded = dict(model.named_parameters())
    assert expected and loaded.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key


@pytest.mark.parametrize("name", registry.model_names("codec"))
def test_every_codec_round_trips(name: str, make_face) -> None:
    spec = registry.get_spec(name)
    image = make_face(9, 37, 41, channels=spec.channels)
    data = api.encode(image, model=name, quality=5, device="cpu")
    assert api.describe(data)["model"] == name
    assert api.describe(data)["model_id"] == spec.model_id
    decoded = api.decode_array(data, device="cpu")
    assert decoded.shape == (37, 41, spec.channels)
    assert decoded.dtype == np.uint8


def test_create_without_pretrained_needs_no_weights(tmp_path: Path, use_weights, monkeypatch) -> None:
    use_weights(tmp_path)
    monkeypatch.setenv("FACECODEC_PANEL", str(tmp_path))  # the recognizers' weights too
    for name in NAMES:
        with pytest.raises(WeightsError):
            registry.create_model(name)
        assert not registry.create_model(name, pretrained=False).training


def test_list_models_records(weights_dir: Path, panel_dir: Path) -> None:
    records = registry.list_models()
    assert [r["name"] for r in records] == NAMES
    assert [r["name"] for r in records if r["default"]] == [registry.DEFAULT_CODEC, registry.DEFAULT_CLASSIFIER]
    for r in records:
        spec = registry.get_spec(r["name"])
        assert (r["id"], r["kind"], r["channels"]) == (spec.model_id, spec.kind, spec.channels)
        assert (r["classifier"], r["latent_head"]) == (spec.classifier, spec.latent_head)
        assert r["weights_available"] is True
        path = (panel_dir if spec.kind == "recognizer" else weights_dir) / spec.weights_file
        assert r["weights_file"] == path.name
        assert r["weights_bytes"] == (0 if spec.weights_in else path.stat().st_size)
        assert r["training_data"] == "random init (tests)"


def test_registry_import_does_not_import_torch() -> None:
    code = (
        "import sys, facecodec.registry as r; r.model_names(); r.get_spec('face-hp-v1'); "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
