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
from .runtime.graphs import graphs_of
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
    owner = registry.weights_owner(registry.get_spec(name))
    path = home_of(owner) / owner.weights_file
    try:
        stat = path.stat()
        return (name, backend, str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        return (name, backend, str(path))


def _runtime_codec(spec: registry.ModelSpec) -> Codec:
    from .runtime.graphs import OnnxTransforms
    from .runtime.memory import keep_freed_memory
    from .weights import read_arrays

    keep_freed_memory()  # batches reuse their temporaries' pages (runtime/memory.py)
    arrays = read_arrays(spec)
    return Codec(arrays, OnnxTransforms(spec, arrays))


def _runtime_classifier(spec: registry.ModelSpec) -> Classifier:
    from .runtime.graphs import OnnxClassifier

    return OnnxClassifier(spec)


def _torch_codec(spec: registry.ModelSpec, device: str) -> Codec:
    from .models.torch_inference import torch_codec

    return torch_codec(registry.create_model(spec.name, device=device), device)


def _torch_classifier(spec: registry.ModelSpec, device: str) -> Classifier:
    from .models.torch_inference import torch_classifier

    return torch_classifier(registry.create_model(spec.name, device=device), device)


#: per kind of model: (its spec lookup, its cache, its runtime loader, its torch loader)
_LOADERS: dict[str, tuple[Callable, dict, Callable, Callable]] = {
    "codec": (registry.codec_spec, _CODECS, _runtime_codec, _torch_codec),
    "classifier": (registry.classifier_spec, _CLASSIFIERS, _runtime_classifier, _torch_classifier),
}


def _load(kind: str, name: str, device: str) -> Codec | Classifier:
    spec_of, cache, on_runtime, on_torch = _LOADERS[kind]
    spec = spec_of(name)
    backend = resolve(device)
    if backend == RUNTIME and not graphs_of(spec):  # the recognizer panel runs on PyTorch only
        backend = _torch_device("cpu")
    key = _key(spec.name, backend)
    if key not in cache:
        cache[key] = on_runtime(spec) if backend == RUNTIME else on_torch(spec, backend)
    return cache[key]


def codec(name: str, device: str = "auto") -> Codec:
    """Registered codec ``name`` ready to code, on the backend ``device`` resolves to."""
    return _load("codec", name, device)


def classifier(name: str, device: str = "auto") -> Classifier:
    """Registered classifier or latent head ``name`` as ``f(x, quality=None) -> probabilities``."""
    return _load("classifier", name, device)


def clear() -> None:
    """Forget every loaded model (the next call loads afresh)."""
    _CODECS.clear()
    _CLASSIFIERS.clear()
