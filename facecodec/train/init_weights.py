"""Starting weights for fine-tuning: a registry name, a safetensors file or a checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import registry
from ..errors import WeightsError
from ..weights import shipped_state
from .warm_start import warm_start


def load_initial(model: torch.nn.Module, source: str, key: str = "model") -> set[str]:
    """Load ``source`` into ``model`` (same architecture, or a wider codec: see
    :func:`.warm_start.warm_start`).

    ``source`` is a registered model name (its shipped, sha256-checked
    weights), a ``.safetensors`` file, or a training checkpoint ``.pt`` (its
    ``key`` entry, else its ``model`` entry: a joint run's checkpoint holds the
    codec as ``model`` and the classifier as ``classifier``; loaded with
    ``weights_only=True``). Returns the names of the weights ``source`` did not
    hold, which keep the model's own.
    """
    path = Path(source)
    if path.suffix not in (".pt", ".safetensors"):
        spec = registry.get_spec(source)
        state, what = shipped_state(model, spec, registry.get_spec(spec.weights_in) if spec.weights_in else None)
        return warm_start(model, state, what)
    if not path.is_file():
        raise WeightsError(f"no such weights file: {path}")
    try:
        if path.suffix == ".pt":
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get(key, state.get("model"))
            if state is None:
                raise WeightsError(f"checkpoint {path} has no {key!r} or 'model' weights")
        else:
            from safetensors.torch import load_file

            state = load_file(str(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise WeightsError(f"cannot read {path}: {exc}") from None
    return warm_start(model, state, f"weights {path} do not fit this architecture")
