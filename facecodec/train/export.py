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
from ..errors import WeightsError
from ..imageio import default_file_mode, write_atomic
from ..weights import MANIFEST_NAME, read_checked, read_manifest, sha256_file, using_weights_dir


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
    """Write ``name.safetensors`` and its manifest entry into ``out_dir``.

    A classifier shipped inside a codec's file (``weights_in``) writes no file: its
    entry points at the codec's, whose guide must hold exactly this model's weights.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = registry.get_spec(name)
    if spec.weights_in:
        return _save_in_codec(model, spec, out_dir, record)
    half = spec.weights_dtype == "float16"
    if half:
        round_to_half(model)  # before update(): the CDF tables must be the rounded model's
    if hasattr(model, "update"):
        model.update(force=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if _stored_half(v) else v for k, v in state.items()}
    path = out_dir / spec.weights_file
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp))
    os.chmod(tmp, default_file_mode())  # safetensors writes 0600
    os.replace(tmp, path)
    _write_entry(out_dir, name, {
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "parameters": sum(int(v.numel()) for k, v in state.items() if v.is_floating_point()),
        "stored_as": f"float16 (tensors ≥ {HALF_MIN_ELEMENTS} values), else float32" if half else "float32",
        "exported": _dt.date.today().isoformat(),
        **record,
    })  # fmt: skip
    return path


def _save_in_codec(model: torch.nn.Module, spec: registry.ModelSpec, out_dir: Path, record: dict[str, Any]) -> Path:
    codec = registry.get_spec(spec.weights_in or "")
    with using_weights_dir(out_dir):
        stored = model.state_from_guide(read_checked(codec))
    own = model.state_dict()
    if stored.keys() != own.keys() or not all(torch.equal(stored[k], own[k].cpu()) for k in own):
        raise WeightsError(
            f"{spec.name!r} ships inside {codec.name!r}'s file, whose frozen guide holds other weights; "
            f"export {codec.name!r} with this classifier as its guide"
        )
    _write_entry(out_dir, spec.name, {
        "file": codec.weights_file,
        "stored_in": codec.name,
        "bytes": 0,
        "parameters": sum(int(v.numel()) for v in own.values() if v.is_floating_point()),
        "stored_as": "float32, as the frozen guide of the codec's file",
        "exported": _dt.date.today().isoformat(),
        **record,
    })  # fmt: skip
    return out_dir / codec.weights_file


def _write_entry(out_dir: Path, name: str, entry: dict[str, Any]) -> None:
    manifest = read_manifest(out_dir) or {"format": 1, "models": {}}
    manifest["models"][name] = entry
    write_atomic(out_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode(), force=True)


def set_measured(name: str, out_dir: Path, measured: dict[str, Any]) -> None:
    """Attach measured figures to ``name``'s manifest entry."""
    manifest = read_manifest(out_dir)
    manifest["models"][name]["measured"] = measured
    write_atomic(out_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode(), force=True)


def remove_unregistered(out_dir: Path) -> list[str]:
    """Drop the manifest entries of models no longer in the registry (their names and ids stay
    reserved in :data:`facecodec.registry.REMOVED`) and delete every weights file no entry
    names any more; returns the dropped names."""
    manifest = read_manifest(out_dir)
    models, keep = manifest.get("models", {}), set(registry.model_names())
    gone = sorted(n for n in models if n not in keep)
    gone += sorted(manifest.pop("retired", {}))  # earlier releases' record of retired models
    for name in gone:
        models.pop(name, None)
    named = {entry.get("file") for entry in models.values()}
    for path in out_dir.glob("*.safetensors"):
        if path.name not in named:
            path.unlink()
    write_atomic(out_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode(), force=True)
    return gone
