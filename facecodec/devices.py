"""Choosing the torch device: ``auto`` means CUDA when available, else the CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import FacecodecError

if TYPE_CHECKING:
    import torch

#: the choices of ``--device`` on the command line (what each means for inference:
#: :mod:`facecodec.backends`; for training, ``cpu`` is torch on the CPU)
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def pick_device(name: str = "auto") -> torch.device:
    """Resolve ``auto|cpu|cuda[:N]``; asking for CUDA without a GPU is an error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise FacecodecError("--device cuda asked for, but no CUDA device is available")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise FacecodecError(f"unknown device {name!r}; use auto, cpu or cuda")
