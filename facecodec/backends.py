"""Which implementation runs inference: the lean runtime, or PyTorch.

``--device`` (and the API's ``device``) picks it:

* ``cpu``: the lean runtime (:mod:`facecodec.runtime`: numpy, ONNX Runtime,
  constriction). No torch is imported.
* ``cuda`` / ``cuda:N``: the PyTorch models on that GPU (needs
  ``pip install 'facecodec[train]'`` and a CUDA build of torch).
* ``auto`` (the default): CUDA when torch is installed and a GPU is present,
  else the runtime. Whether a GPU is present is read from the NVIDIA device
  files first, so a machine without one never pays for importing torch.
* ``torch-cpu``: the PyTorch reference path on the CPU (tests, benchmarks).

Both paths code with the same numpy code (:mod:`facecodec.runtime.codec`), so
they write the same files and decode the same symbols; only the float
transforms differ, by float rounding.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import registry
from .errors import FacecodecError
from .runtime.codec import Codec
from .weights import home_of

RUNTIME = "runtime"

Classifier = Callable[..., np.ndarray]
_CODECS: dict[tuple, Codec] = {}
_CLASSIFIERS: dict[tuple, Classifier] = {}


def _gpu_present() -> bool:
    hidden = os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1")
    return not hidden and Path("/dev/nvidiactl").exists() and importlib.util.find_spec("torch") is not None


def _torch_device(name: str) -> str:
    if importlib.util.find_spec("torch") is None:
        raise FacecodecError(f"--device {name} needs PyTorch: pip install 'facecodec[train]' (or use --device cpu)")
    import torch

    if name.startswith("cuda") and not torch.cuda.is_available():
        raise FacecodecError(f"--device {name} asked for, but no CUDA device is available")
    return name


def resolve(device: str = "auto") -> str:
    """``RUNTIME``, or the torch device (``cuda``, ``cuda:N``, ``cpu``) that runs inference."""
    if device == "cpu":
        return RUNTIME
    if device == "auto":
        if _gpu_present():
            import torch

            if torch.cuda.is_available():
                return "cuda"
        return RUNTIME
    if device == "torch-cpu":
        return _torch_device("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        return _torch_device(device)
    raise FacecodecError(f"unknown device {device!r}; use auto, cpu or cuda")


def _key(name: str, backend: str) -> tuple:
    """Cache key: the model, the backend and its weights file as it is now (a changed
    ``FACECODEC_WEIGHTS`` or file loads afresh)."""
    spec = registry.get_spec(name)
    owner = registry.get_spec(spec.weights_in) if spec.weights_in else spec
    path = home_of(owner) / owner.weights_file
    try:
        stat = path.stat()
        return (name, backend, str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return (name, backend, str(path))


def codec(name: str, device: str = "auto") -> Codec:
    """Registered codec ``name`` ready to code, on the backend ``device`` resolves to."""
    backend = resolve(device)
    key = _key(name, backend)
    if key not in _CODECS:
        spec = registry.codec_spec(name)
        if backend == RUNTIME:
            from .runtime.graphs import OnnxTransforms
            from .weights import read_arrays

            arrays = read_arrays(spec)
            _CODECS[key] = Codec(arrays, OnnxTransforms(spec, arrays))
        else:
            from .models.torch_inference import torch_codec

            _CODECS[key] = torch_codec(registry.create_model(name, device=backend), backend)
    return _CODECS[key]


def classifier(name: str, device: str = "auto") -> Classifier:
    """Registered classifier or latent head ``name`` as ``f(x, quality=None) -> probabilities``."""
    backend = resolve(device)
    key = _key(name, backend)
    if key not in _CLASSIFIERS:
        spec = registry.classifier_spec(name)
        if backend == RUNTIME:
            from .runtime.graphs import OnnxClassifier

            _CLASSIFIERS[key] = OnnxClassifier(spec)
        else:
            from .models.torch_inference import torch_classifier

            _CLASSIFIERS[key] = torch_classifier(registry.create_model(spec.name, device=backend), backend)
    return _CLASSIFIERS[key]


def clear() -> None:
    """Forget every loaded model (the next call loads afresh)."""
    _CODECS.clear()
    _CLASSIFIERS.clear()
