"""Shipped weights: safetensors only, sha256-checked, every failure a WeightsError."""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import shutil
from pathlib import Path

import pytest

from facecodec import registry, weights
from facecodec.errors import WeightsError

NAME = registry.DEFAULT_CODEC
FILE = registry.get_spec(NAME).weights_file


@pytest.fixture
def copy(weights_dir: Path, tmp_path: Path, use_weights) -> Path:
    """A private copy of the test weights, selected via FACECODEC_WEIGHTS."""
    target = tmp_path / "weights"
    shutil.copytree(weights_dir, target)
    use_weights(target)
    return target


def _manifest(directory: Path) -> dict:
    return json.loads((directory / weights.MANIFEST_NAME).read_text())


def _set_sha(directory: Path, sha: str) -> None:
    manifest = _manifest(directory)
    manifest["models"][NAME]["sha256"] = sha
    (directory / weights.MANIFEST_NAME).write_text(json.dumps(manifest))


def test_env_selects_weights_dir(weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert weights.weights_dir() == weights_dir
    monkeypatch.delenv("FACECODEC_WEIGHTS")
    assert weights.weights_dir().name == "weights"
    assert weights.weights_dir() != weights_dir


def test_manifest_matches_files(weights_dir: Path) -> None:
    entry = weights.manifest_entry(NAME)
    assert entry is not None
    path = weights_dir / entry["file"]
    assert entry["file"] == FILE
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["sha256"] == weights.sha256_file(path)
    assert entry["bytes"] == path.stat().st_size
    assert entry["kind"] == "codec"


def test_loads_when_intact(copy: Path) -> None:
    assert not registry.create_model(NAME).training


def test_sha256_mismatch(copy: Path) -> None:
    path = copy / FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as info:
        registry.create_model(NAME)
    message = str(info.value)
    assert "sha256" in message
    assert _manifest(copy)["models"][NAME]["sha256"] in message
    assert weights.sha256_file(path) in message


def test_manifest_sha256_wrong(copy: Path) -> None:
    _set_sha(copy, "0" * 64)
    with pytest.raises(WeightsError, match="sha256"):
        registry.create_model(NAME)


def test_missing_file(copy: Path) -> None:
    (copy / FILE).unlink()
    with pytest.raises(WeightsError) as info:
        registry.create_model(NAME)
    assert NAME in str(info.value)


def test_missing_manifest(copy: Path) -> None:
    (copy / weights.MANIFEST_NAME).unlink()
    with pytest.raises(WeightsError):
        registry.create_model(NAME)
    assert weights.read_manifest() == {}
    assert weights.manifest_entry(NAME) is None


def test_model_missing_from_manifest(copy: Path) -> None:
    manifest = _manifest(copy)
    del manifest["models"][NAME]
    (copy / weights.MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(WeightsError):
        registry.create_model(NAME)


def test_corrupt_manifest(copy: Path) -> None:
    (copy / weights.MANIFEST_NAME).write_text("{not json")
    with pytest.raises(WeightsError, match="manifest"):
        registry.create_model(NAME)
    with pytest.raises(WeightsError):
        registry.list_models()


def test_not_safetensors_even_with_matching_sha(copy: Path) -> None:
    """A pickle (or anything else) is never unpickled, even if its sha256 is listed."""
    import pickle

    path = copy / FILE
    path.write_bytes(pickle.dumps({"g_a.0.weight": [1.0, 2.0]}))
    _set_sha(copy, weights.sha256_file(path))
    with pytest.raises(WeightsError, match="cannot read weights file"):
        registry.create_model(NAME)


def test_weights_that_do_not_fit(copy: Path) -> None:
    import torch
    from safetensors.torch import save_file

    path = copy / FILE
    save_file({"something.else": torch.zeros(3)}, str(path))
    _set_sha(copy, weights.sha256_file(path))
    with pytest.raises(WeightsError, match="do not fit"):
        registry.create_model(NAME)


def test_only_safetensors_and_weightless_graphs_in_weights_dir(weights_dir: Path) -> None:
    from facecodec.runtime.graphs import GRAPH_DIR, graph_file, graphs_of

    files = sorted(p.name for p in weights_dir.iterdir())
    assert not [f for f in files if f.endswith((".pt", ".pth", ".pkl", ".pickle", ".bin", ".tmp"))]
    specs = [registry.get_spec(n) for n in registry.model_names()]
    expected = sorted({weights.MANIFEST_NAME, GRAPH_DIR} | {s.weights_file for s in specs if s.kind != "recognizer"})
    assert files == expected
    graphs = sorted(str(p.relative_to(weights_dir)) for p in (weights_dir / GRAPH_DIR).iterdir())
    assert graphs == sorted(graph_file(s.name, part) for s in specs for part in graphs_of(s))
    for path in (weights_dir / GRAPH_DIR).iterdir():  # the weights stay in the safetensors files
        assert path.stat().st_size < 64 * 1024
    for name in files:
        if name.endswith(".safetensors"):
            # safetensors: 8-byte little-endian header length, then a JSON header
            data = (weights_dir / name).read_bytes()
            length = int.from_bytes(data[:8], "little")
            assert data[8:9] == b"{"
            json.loads(data[8 : 8 + length])


def _calls(source: str) -> set[str]:
    """Dotted names of every call and every imported module in ``source``."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            names.add(ast.unparse(node.func))
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_weights_module_never_unpickles() -> None:
    names = _calls(inspect.getsource(weights))
    assert "load_file" in names  # safetensors is what loads (sanity check of the scan)
    assert "safetensors.torch.load_file" in names
    for forbidden in ("torch.load", "pickle", "pickle.load", "pickle.loads", "torch.serialization"):
        assert forbidden not in names
    assert "torch.load" not in inspect.getsource(weights)


def test_registry_loads_weights_through_weights_module() -> None:
    source = inspect.getsource(registry)
    assert "torch.load" not in source
    assert "load_weights" in _calls(source)


def test_half_precision_weights_store_the_rounded_model(weights_dir: Path, use_weights) -> None:
    """A ``weights_dtype="float16"`` model: large tensors in float16, small ones and integer
    tables exact; the loaded model is exactly the exported (rounded) one and still codes."""
    import numpy as np
    import torch
    from safetensors.torch import load_file

    from facecodec import api
    from facecodec.train.export import HALF_MIN_ELEMENTS

    half = [n for n in registry.model_names() if registry.get_spec(n).weights_dtype == "float16"]
    codec = next(n for n in half if registry.get_spec(n).kind == "codec")
    stored = load_file(str(weights_dir / registry.get_spec(codec).weights_file))
    big = {k: v for k, v in stored.items() if v.is_floating_point() and v.numel() >= HALF_MIN_ELEMENTS}
    assert big and all(v.dtype == torch.float16 for v in big.values())
    small = [v for k, v in stored.items() if k not in big]
    assert small and all(v.dtype != torch.float16 for v in small)
    assert any(not v.is_floating_point() for v in small)  # the entropy coder's CDF tables

    use_weights(weights_dir)
    model = api.load_model(codec, "cpu")
    loaded = model.state_dict()
    for key, value in stored.items():
        assert torch.equal(loaded[key], value.to(loaded[key].dtype)), key
    face = (np.arange(48 * 48, dtype=np.uint8).reshape(48, 48, 1) * 7) % 251
    assert api.decode_array(api.encode(face, model=codec, device="cpu")).shape == face.shape


def test_a_guide_classifier_exports_only_as_its_codecs_guide(copy: Path) -> None:
    """fer-cnn-joint-v1 ships inside face-fer-v3's file: export writes no file of its own and
    refuses weights its codec's guide does not hold."""
    import torch

    from facecodec.train.export import save_weights

    spec = registry.get_spec(registry.DEFAULT_CLASSIFIER)
    assert spec.weights_in
    before = sorted(p.name for p in copy.iterdir())
    guide = registry.create_model(spec.name)
    save_weights(guide, spec.name, copy, {"kind": "classifier", "training_data": "guide"})
    assert sorted(p.name for p in copy.iterdir()) == before
    entry = _manifest(copy)["models"][spec.name]
    assert (entry["file"], entry["stored_in"], entry["bytes"]) == (f"{spec.weights_in}.safetensors", spec.weights_in, 0)
    other = registry.build_architecture(spec)
    with torch.no_grad():
        other.head.bias.add_(1.0)
    with pytest.raises(WeightsError, match=spec.weights_in):
        save_weights(other, spec.name, copy, {"kind": "classifier"})


def test_remove_unregistered_drops_entries_and_files_of_removed_models(copy: Path) -> None:
    from facecodec.train.export import remove_unregistered

    manifest = _manifest(copy)
    manifest["models"]["face-fer-v8"] = {"file": "face-fer-v8.safetensors", "sha256": "0" * 64}
    manifest["retired"] = {"fer-latent-v1": {"file": "fer-latent-v1.safetensors"}}
    (copy / weights.MANIFEST_NAME).write_text(json.dumps(manifest))
    (copy / "face-fer-v8.safetensors").write_bytes(b"x")
    (copy / "fer-cnn-v1.safetensors").write_bytes(b"x")  # a file no entry names
    assert remove_unregistered(copy) == ["face-fer-v8", "fer-latent-v1"]
    after = _manifest(copy)
    shipped = [n for n in registry.model_names() if registry.get_spec(n).kind != "recognizer"]
    assert sorted(after["models"]) == sorted(shipped) and "retired" not in after
    assert sorted(p.name for p in copy.glob("*.safetensors")) == sorted(
        {registry.get_spec(n).weights_file for n in shipped}
    )
    registry.create_model(registry.DEFAULT_CLASSIFIER)  # what stays still loads
