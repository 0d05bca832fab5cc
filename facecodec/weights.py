"""Shipped weights: safetensors files plus ``MANIFEST.json``, sha256-checked.

``weights/MANIFEST.json`` is written by :func:`facecodec.train.export.export`,
never by hand. Weights load with safetensors only (no pickle).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import WeightsError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from .registry import ModelSpec

MANIFEST_NAME = "MANIFEST.json"


def weights_dir() -> Path:
    """Where weights live: ``$FACECODEC_WEIGHTS`` if set, else the shipped folder.

    A wheel carries them as ``facecodec/weights/``; a source checkout (and an
    editable install) has them in ``weights/`` beside the package.
    """
    env = os.environ.get("FACECODEC_WEIGHTS")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    packaged = here / "weights"
    return packaged if packaged.is_dir() else here.parent / "weights"


def panel_dir() -> Path:
    """Where the recognizer panel's weights live: ``$FACECODEC_PANEL`` if set, else
    ``benchmarks/panel/`` of a source checkout (the panel measures; it does not ship)."""
    env = os.environ.get("FACECODEC_PANEL")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "benchmarks" / "panel"


def home_of(spec: ModelSpec) -> Path:
    """The folder that holds ``spec``'s weights and their manifest."""
    return panel_dir() if spec.kind == "recognizer" else weights_dir()


@contextmanager
def using_weights_dir(directory: Path) -> Iterator[None]:
    """``$FACECODEC_WEIGHTS`` pointed at ``directory`` for the duration (then as it was)."""
    previous = os.environ.get("FACECODEC_WEIGHTS")
    os.environ["FACECODEC_WEIGHTS"] = str(directory)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("FACECODEC_WEIGHTS")
        else:
            os.environ["FACECODEC_WEIGHTS"] = previous


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    """The manifest as a dict (empty when there is none)."""
    path = (directory or weights_dir()) / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WeightsError(f"cannot read weights manifest {path}: {exc}") from None


def manifest_entry(name: str) -> dict[str, Any] | None:
    """The manifest record of model ``name``, or None."""
    return read_manifest().get("models", {}).get(name)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_weights(model: torch.nn.Module, spec: ModelSpec, inside: ModelSpec | None = None) -> None:
    """Load ``spec``'s safetensors into ``model`` after checking its sha256; a classifier
    shipped inside a codec's file (``weights_in``; ``inside``: that codec's spec, which the
    registry resolves) loads from that codec's frozen guide."""
    state, what = shipped_state(model, spec, inside)
    apply_state(model, state, what)


def shipped_state(
    model: torch.nn.Module, spec: ModelSpec, inside: ModelSpec | None = None
) -> tuple[dict[str, torch.Tensor], str]:
    """``spec``'s checked weights as :func:`load_weights` loads them into ``model``, and the
    ``what`` of :func:`apply_state`'s error (the file, the model)."""
    if spec.weights_in:
        if inside is None or inside.name != spec.weights_in:
            raise WeightsError(f"{spec.name!r} ships inside {spec.weights_in!r}'s weights file")
        state = model.state_from_guide(read_checked(inside))
        where = home_of(inside) / inside.weights_file
    else:
        state = read_checked(spec)
        where = home_of(spec) / spec.weights_file
    return state, f"weights {where} do not fit model {spec.name!r}"


def manifest_entry_of(spec: ModelSpec) -> dict[str, Any] | None:
    """The manifest record of ``spec`` in the folder its weights live in, or None."""
    return read_manifest(home_of(spec)).get("models", {}).get(spec.name)


def checked_path(spec: ModelSpec) -> Path:
    """The path of ``spec``'s own weights file, after checking its sha256 against the manifest."""
    home = home_of(spec)
    entry = manifest_entry_of(spec)
    path = home / spec.weights_file
    if entry is None or not path.exists():
        where = " (the panel lives in a source checkout, or set FACECODEC_PANEL)" if spec.kind == "recognizer" else ""
        raise WeightsError(
            f"no weights for model {spec.name!r} (looked for {path}){where}; "
            "train and export them with 'facecodec train'"
        )
    actual = sha256_file(path)
    if actual != entry.get("sha256"):
        raise WeightsError(
            f"weights file {path} fails its sha256 check (tampered or corrupt): "
            f"expected {entry.get('sha256')}, got {actual}"
        )
    return path


def read_checked(spec: ModelSpec) -> dict[str, torch.Tensor]:
    """The tensors of ``spec``'s own weights file, after checking its sha256 against the manifest."""
    from safetensors.torch import load_file

    path = checked_path(spec)
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise WeightsError(f"cannot read weights file {path}: {exc}") from None


def read_arrays(spec: ModelSpec) -> dict[str, np.ndarray]:
    """:func:`read_checked` as numpy arrays (no torch), float16-stored tensors widened to
    float32 as PyTorch loads them into a model. (A classifier shipped inside a codec's
    file, ``weights_in``, is read by passing that codec's spec.)"""
    from safetensors.numpy import load_file

    path = checked_path(spec)
    try:
        arrays = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise WeightsError(f"cannot read weights file {path}: {exc}") from None
    return {k: v.astype("float32") if v.dtype == "float16" else v for k, v in arrays.items()}


def apply_state(model: torch.nn.Module, state: dict[str, Any], what: str) -> None:
    """``load_state_dict`` with a one-line ``WeightsError`` (``what: reason``) on mismatch."""
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"{what}: {first}") from None
    if hasattr(model, "update"):
        # CDF tables ship in the file; update() only rebuilds derived caches
        model.update(force=False)
