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
    every = registry.model_names(retired=True)  # retired names and ids stay reserved
    assert set(NAMES) < set(every)
    specs = [registry.get_spec(n) for n in every]
    assert len(set(every)) == len(every) > 0
    ids = [s.model_id for s in specs]
    assert len(set(ids)) == len(ids)
    codec_ids = {s.model_id for s in specs if s.kind == "codec"}
    assert registry.model_ids() == frozenset(codec_ids)  # only codecs make .ffc files
    for spec in specs:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*-v\d+", spec.name), spec.name
        assert 0 <= spec.model_id <= 16383  # fits the .ffc header's 2-byte varint
        assert spec.weights_file == f"{spec.name}.safetensors"
        assert registry.spec_for_id(spec.model_id) is spec
    # ids are part of the file format: these must never change
    assert registry.get_spec("face-hp-v1").model_id == 1


def test_default_codec_is_registered_codec() -> None:
    assert registry.DEFAULT_CODEC in registry.model_names("codec")
    assert registry.get_spec(registry.DEFAULT_CODEC).kind == "codec"
    assert registry.model_names("no-such-kind") == []
    assert set(registry.model_names("codec")) <= set(NAMES)


@pytest.mark.parametrize("model_id", [0, 2, 999, 16383])
def test_spec_for_unknown_id(model_id: int) -> None:
    if model_id in registry.model_ids():
        pytest.skip("id is registered")
    with pytest.raises(UnknownModel) as info:
        registry.spec_for_id(model_id)
    assert str(model_id) in str(info.value)
    for known in registry.model_ids():
        assert str(known) in str(info.value)


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


def test_create_without_pretrained_needs_no_weights(tmp_path: Path, use_weights) -> None:
    use_weights(tmp_path)
    for name in NAMES:
        with pytest.raises(WeightsError):
            registry.create_model(name)
        assert not registry.create_model(name, pretrained=False).training


def test_list_models_records(weights_dir: Path) -> None:
    records = registry.list_models()
    assert [r["name"] for r in records] == registry.model_names(retired=True)
    for r in records:
        spec = registry.get_spec(r["name"])
        assert (r["id"], r["kind"], r["channels"]) == (spec.model_id, spec.kind, spec.channels)
        assert r["retired"] == (spec.retired or None)
        if spec.retired:
            continue
        assert r["weights_available"] is True
        path = weights_dir / spec.weights_file
        assert r["weights_bytes"] == path.stat().st_size
        assert r["training_data"] == "random init (tests)"


def test_registry_import_does_not_import_torch() -> None:
    code = (
        "import sys, facecodec.registry as r; r.model_names(); r.get_spec('face-hp-v1'); "
        "sys.exit(1 if 'torch' in sys.modules else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_retired_model_is_reserved_trainable_but_not_loadable() -> None:
    retired = [n for n in registry.model_names(retired=True) if n not in NAMES]
    assert retired and all(registry.get_spec(n).kind != "codec" for n in retired)
    for name in retired:
        with pytest.raises(WeightsError, match="retired"):
            registry.create_model(name)
        assert registry.create_model(name, pretrained=False) is not None
        head = registry.get_spec(name)
        if head.codec:
            chosen = registry.latent_classifier_for(head.codec)
            assert chosen is None or chosen.name != name


def test_each_codec_gets_its_latest_head_and_retired_ones_stay_nameable() -> None:
    heads = registry.model_names("latent-classifier")
    for codec in registry.model_names("codec"):
        own = [n for n in heads if registry.get_spec(n).reads(codec)]
        chosen = registry.latent_classifier_for(codec)
        assert (chosen.name if chosen else None) == (own[-1] if own else None)
    assert registry.latent_classifier_for("face-hp-v1") is None
    assert registry.latent_classifier_for("face-fer-v1").name == "fer-latent-v5"
    # face-fer-v5 is face-fer-v4 plus a tier that leaves the code head as it was
    assert registry.latent_classifier_for("face-fer-v5").name == "fer-latent-v9"
    # face-fer-v6 trained its code further: fer-latent-v9 does not read it, its own head does
    assert registry.latent_classifier_for("face-fer-v6").name == "fer-latent-v10"
    assert not registry.get_spec("fer-latent-v9").reads("face-fer-v6")
    # face-fer-v7 trained its code further again: its own head, the shared pixel classifier
    assert registry.latent_classifier_for("face-fer-v7").name == "fer-latent-v11"
    assert not registry.get_spec("fer-latent-v10").reads("face-fer-v7")
    assert registry.pixel_classifier_for("face-fer-v7") == "fer-cnn-joint-v6"
    # and face-fer-v8 once more
    assert registry.latent_classifier_for("face-fer-v8").name == "fer-latent-v12"
    assert not registry.get_spec("fer-latent-v11").reads("face-fer-v8")
    assert registry.pixel_classifier_for("face-fer-v8") == "fer-cnn-joint-v6"
    # a retired head is still a known latent classifier (trainable), just not the default
    assert registry.classifier_spec("fer-latent-v3").kind == "latent-classifier"
