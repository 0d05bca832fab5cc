"""facecodec: a learned image codec for face crops that keeps expressions readable.

The public API is re-exported here lazily, so ``import facecodec`` (and the
CLI's ``--help``) stays fast and does not import torch.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "create_model", "decode", "encode", "list_models"]

_LAZY = {
    "encode": "facecodec.api",
    "decode": "facecodec.api",
    "create_model": "facecodec.registry",
    "list_models": "facecodec.registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'facecodec' has no attribute {name!r}")
