"""facecodec: a learned image codec for face crops that keeps expressions readable.

The public API is re-exported here lazily, so ``import facecodec`` (and the
CLI's ``--help``) stays fast and does not import torch. Importing the package
registers the ``.ffc`` Pillow plugin (:mod:`facecodec.pillow_plugin`), which
needs only Pillow.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.3.0"

__all__ = [
    "Encoded",
    "Prediction",
    "__version__",
    "classify",
    "classify_batch",
    "create_model",
    "decode",
    "decode_array",
    "decode_batch",
    "describe",
    "encode",
    "encode_batch",
    "list_models",
    "upgrade_batch",
]

_LAZY = {
    "encode": "facecodec.api",
    "encode_batch": "facecodec.api",
    "decode": "facecodec.api",
    "decode_array": "facecodec.api",
    "decode_batch": "facecodec.api",
    "describe": "facecodec.api",
    "upgrade_batch": "facecodec.api",
    "Encoded": "facecodec.api",
    "classify": "facecodec.recognition",
    "classify_batch": "facecodec.recognition",
    "Prediction": "facecodec.recognition",
    "create_model": "facecodec.registry",
    "list_models": "facecodec.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facecodec' has no attribute {name!r}")


def _register_pillow_plugin() -> None:
    """``Image.open``/``save`` of ``.ffc`` files; imports Pillow, never torch or numpy."""
    try:
        import PIL.Image  # noqa: F401
    except ImportError:  # Pillow is a dependency; without it there is simply no plugin
        return
    from . import pillow_plugin  # noqa: F401  (registers on import)


_register_pillow_plugin()
