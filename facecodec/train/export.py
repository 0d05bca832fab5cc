"""Export a training checkpoint to shipped weights: safetensors + manifest entry.

The manifest (``weights/MANIFEST.json``) is only ever written here. Each entry
records the file's sha256, size, parameter count, training data, the exact
command that trained it, the checkpoint's epoch, and figures measured on real
``.ffc`` files (whole-file bytes) when a measurement dataset is given.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from .. import registry
from ..errors import TrainingError, WeightsError
from ..imageio import default_file_mode, write_atomic
from ..weights import MANIFEST_NAME, read_manifest, sha256_file, shipped_state, using_weights_dir


def load_checkpoint_model(checkpoint: Path, name: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Build ``name``'s architecture and load a training checkpoint into it."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError) as exc:
        raise WeightsError(f"cannot read checkpoint {checkpoint}: {exc}") from None
    model = registry.build_architecture(registry.get_spec(name))
    model.load_state_dict(state["model"])
    return model.eval(), checkpoint_meta(state)


def checkpoint_meta(state: dict[str, Any]) -> dict[str, Any]:
    """Epoch, config, history and resume record stored in a training checkpoint."""
    return {
        "epoch": state.get("epoch"),
        "config": json.loads(state.get("config", "{}")),
        "history": json.loads(state.get("history", "[]")),
        "resumes": json.loads(state.get("resumes", "[]")),
    }


#: weight tensors at least this large are stored in float16 for ``weights_dtype="float16"``
#: models (convolution kernels, dense layers); biases, gains, entropy-model parameters
#: and every integer table stay exact
HALF_MIN_ELEMENTS = 4096


def _stored_half(tensor: torch.Tensor) -> bool:
    """Whether a float16-stored model keeps ``tensor`` in float16 (the one rule for both steps)."""
    return tensor.dtype == torch.float32 and tensor.numel() >= HALF_MIN_ELEMENTS


def round_to_half(model: torch.nn.Module) -> None:
    """Round ``model``'s large float tensors to float16 values in place (kept float32).

    Saving then stores those in float16 without loss, and ``load_state_dict``
    casts them back: the loaded model is exactly this rounded one.
    """
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if _stored_half(tensor):
                tensor.copy_(tensor.half().float())


def save_weights(model: torch.nn.Module, name: str, out_dir: Path, record: dict[str, Any]) -> Path:
    """Write ``name.safetensors`` and its manifest entry into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    half = registry.get_spec(name).weights_dtype == "float16"
    if half:
        round_to_half(model)  # before update(): the CDF tables must be the rounded model's
    if hasattr(model, "update"):
        model.update(force=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if _stored_half(v) else v for k, v in state.items()}
    base = registry.get_spec(name).weights_base
    if base:  # only what differs from the base model's weights (as they lie in out_dir)
        with using_weights_dir(out_dir):
            inherited = shipped_state(registry.get_spec(base), registry.weights_bases(registry.get_spec(base)))
        state = {k: v for k, v in state.items() if k not in inherited or not torch.equal(inherited[k], v)}
    path = out_dir / registry.get_spec(name).weights_file
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp))
    os.chmod(tmp, default_file_mode())  # safetensors writes 0600
    os.replace(tmp, path)
    manifest = read_manifest(out_dir) or {"format": 1, "models": {}}
    entry = {
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "parameters": sum(int(v.numel()) for k, v in state.items() if v.is_floating_point()),
        "stored_as": f"float16 (tensors ≥ {HALF_MIN_ELEMENTS} values), else float32" if half else "float32",
        "exported": _dt.date.today().isoformat(),
        **record,
    }
    manifest["models"][name] = entry
    write_atomic(out_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode(), force=True)
    return path


def set_measured(name: str, out_dir: Path, measured: dict[str, Any]) -> None:
    """Attach measured figures to ``name``'s manifest entry."""
    manifest = read_manifest(out_dir)
    manifest["models"][name]["measured"] = measured
    write_atomic(out_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode(), force=True)


def retire_weights(name: str, out_dir: Path) -> None:
    """Stop shipping a retired model's weights: delete its file, keep its record.

    The manifest entry moves to ``manifest["retired"]`` (sha256, training
    command, measured figures, plus the date), so what the model was stays
    on record after its file is gone. The registry must already mark it retired.
    """
    spec = registry.get_spec(name)
    if not spec.retired:
        raise TrainingError(f"{name!r} is not marked retired in the registry")
    manifest = read_manifest(out_dir)
    entry = manifest["models"].pop(name, None)
    if entry is not None:
        manifest.setdefault("retired", {})[name] = {
            **entry, "retired": _dt.date.today().isoformat(), "reason": spec.retired
        }
        write_atomic(out_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode(), force=True)
    (out_dir / spec.weights_file).unlink(missing_ok=True)
