"""Shared fixtures: random-init codec weights and synthetic face-like images.

No test depends on shipped or downloaded weights or on dataset images: a
weights folder shared by all tests is exported from randomly initialised
models and every test (except the pure-Python container tests) runs
with ``FACECODEC_WEIGHTS`` pointing at it.  Random weights are enough for the
mechanics (round trips, determinism, error handling), not for quality.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

#: test modules that must not build a model (the container tests run without torch)
_NO_WEIGHTS_MODULES = {"test_container"}

TEST_RECORD = {"kind": "codec", "qualities": "1..8", "training_data": "random init (tests)"}


def build_random_model(name: str = "face-hp-v1"):
    """Registered model ``name``, randomly initialised (seed 0); codecs made non-degenerate.

    A freshly initialised ``FaceHyperprior`` has unit gains and a negative
    output bias, so every latent rounds to 0 and every image decodes to
    all-black pixels; the determinism tests would then compare constants.
    Spreading the gains (4 .. 64 over the quality levels, inverse gains
    matching) and centring the last layer's output makes the symbols and the
    decoded pixels depend on the input, and keeps the weights a deterministic
    function of the seed.
    """
    import torch

    from facecodec import registry
    from facecodec.models.hyperprior import FaceHyperprior

    spec = registry.get_spec(name)
    torch.manual_seed(0)
    model = registry.build_architecture(spec)
    if spec.weights_in:  # a classifier stored as a codec's frozen guide: that codec's random one
        model.load_state_dict(model.state_from_guide(build_random_model(spec.weights_in).state_dict()))
    if isinstance(model, FaceHyperprior):
        with torch.no_grad():
            log_gain = torch.linspace(math.log(4.0), math.log(64.0), model.levels)[:, None]
            model.log_gain.copy_(log_gain.expand_as(model.log_gain))
            model.log_inv_gain.copy_(-log_gain.expand_as(model.log_inv_gain))
            model.g_s[-1].weight.mul_(8.0)
            model.g_s[-1].bias.fill_(0.5)
    return model


def export_random_weights(directory: Path, panel: bool = False) -> Path:
    """Random-init weights and a manifest for every registered model (``panel``: every panel
    recognizer instead), in ``directory``."""
    from facecodec import registry
    from facecodec.train.export import save_weights
    from facecodec.train.export_runtime import export_runtime

    names = registry.model_names("recognizer" if panel else None)
    for name in names:
        kind = registry.get_spec(name).kind
        save_weights(build_random_model(name), name, directory, record=dict(TEST_RECORD, kind=kind))
    if not panel:  # the lean runtime's graphs, as shipped models have them
        export_runtime(names, directory)
    return directory


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weights folder (safetensors + MANIFEST.json) with random-init ``face-hp-v1``."""
    return export_random_weights(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="session")
def panel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recognizer-panel folder with random-init members (``FACECODEC_PANEL``)."""
    return export_random_weights(tmp_path_factory.mktemp("panel"), panel=True)


@pytest.fixture(scope="session")
def default_threads():
    """Run torch on one CPU thread for the whole test run; yields the thread count it had before.

    Many tiny parallel regions stall when the CPU is shared (on a busy 2-core
    machine the suite took 5× longer with 2 threads).  The thread-count test
    in test_determinism decodes with 1, 2 and this default explicitly.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield before
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _test_weights(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Point FACECODEC_WEIGHTS at the test weights; no model cache leaks between tests."""
    if request.module.__name__.rsplit(".", 1)[-1] in _NO_WEIGHTS_MODULES:
        yield
        return
    from facecodec import api, backends

    request.getfixturevalue("default_threads")
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(request.getfixturevalue("weights_dir")))
    monkeypatch.setenv("FACECODEC_PANEL", str(request.getfixturevalue("panel_dir")))
    monkeypatch.setenv("FACECODEC_THREADS", "1")  # the runtime's graphs, as torch above
    api.load_model.cache_clear()
    backends.clear()
    yield
    api.load_model.cache_clear()
    backends.clear()


# --- synthetic images ----------------------------------------------------------
def face_like(seed: int, height: int = 48, width: int = 48, channels: int = 1) -> np.ndarray:
    """A smooth, face-sized uint8 image: a bright oval on a gradient, waves and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx = height / 2 + rng.uniform(-3, 3), width / 2 + rng.uniform(-3, 3)
    oval = ((yy - cy) / (0.45 * height)) ** 2 + ((xx - cx) / (0.35 * width)) ** 2 < 1
    base = (
        60
        + rng.uniform(-2, 2) * xx
        + rng.uniform(-2, 2) * yy
        + 90 * oval
        + 25 * np.sin(xx / rng.uniform(2, 6)) * np.cos(yy / rng.uniform(2, 6))
    )
    planes = [base + rng.normal(0, 6, base.shape) + 15 * c for c in range(channels)]
    return np.clip(np.stack(planes, axis=-1), 0, 255).astype(np.uint8)


def save_png(array: np.ndarray, path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array[..., 0] if array.shape[2] == 1 else array).save(path)
    return path


@pytest.fixture
def faces() -> dict[str, np.ndarray]:
    """Named synthetic images: three 48×48 grey, one odd-sized grey, one RGB."""
    return {
        "a": face_like(1),
        "b": face_like(2),
        "c": face_like(3),
        "odd": face_like(4, 37, 53),
        "rgb": face_like(5, 40, 64, channels=3),
    }


@pytest.fixture
def image_dir(tmp_path: Path, faces: dict[str, np.ndarray]) -> Path:
    """``faces`` written as PNGs: a.png, b.png, odd.png, rgb.png and sub/c.png."""
    root = tmp_path / "images"
    for name, array in faces.items():
        save_png(array, root / ("sub" if name == "c" else "") / f"{name}.png")
    return root


@pytest.fixture(scope="session")
def make_face():
    """``face_like(seed, height=48, width=48, channels=1)`` for tests that need more images."""
    return face_like


@pytest.fixture
def tiny_npz(tmp_path: Path) -> Path:
    """A labelled training set in the npz layout: 24 synthetic faces, 16 ``train`` and 8 ``val``."""
    images = np.stack([face_like(i)[..., 0] for i in range(24)])
    labels = np.arange(24) % 7
    split = np.array(["train"] * 16 + ["val"] * 8)
    path = tmp_path / "tiny.npz"
    np.savez(path, images=images, labels=labels, split=split)
    return path


@pytest.fixture(scope="session")
def write_png():
    """``save_png(array, path)``: write a uint8 (H, W, C) array as a PNG."""
    return save_png


@pytest.fixture
def use_weights(monkeypatch: pytest.MonkeyPatch):
    """``use_weights(path)``: point FACECODEC_WEIGHTS elsewhere for the rest of the test."""
    from facecodec import api

    def switch(path: Path) -> None:
        monkeypatch.setenv("FACECODEC_WEIGHTS", str(path))
        api.load_model.cache_clear()

    return switch


@pytest.fixture(scope="session")
def sample(weights_dir: Path) -> tuple[bytes, np.ndarray]:
    """One 48×48 grey face coded at quality 4 on the CPU: (``.ffc`` bytes, decoded pixels)."""
    from facecodec import api

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACECODEC_WEIGHTS", str(weights_dir))
        api.load_model.cache_clear()
        data = api.encode(face_like(1), quality=4, device="cpu")
        pixels = api.decode_array(data, device="cpu")
        api.load_model.cache_clear()
    return data, pixels


@pytest.fixture(scope="session")
def random_model():
    """``random_model(name)``: the model the test weights were exported from, rebuilt."""
    return build_random_model
