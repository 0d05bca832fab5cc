"""Starting weights for fine-tuning: a registry name, a safetensors file or a checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from .. import registry
from ..errors import WeightsError
from ..weights import apply_state


def load_initial(model: torch.nn.Module, source: str, key: str = "model") -> None:
    """Load ``source`` into ``model`` (same architecture).

    ``source`` is a registered model name (its shipped, sha256-checked
    weights), a ``.safetensors`` file, or a training checkpoint ``.pt`` (its
    ``key`` entry, else its ``model`` entry: a joint run's checkpoint holds the
    codec as ``model`` and the classifier as ``classifier``; loaded with
    ``weights_only=True``).
    """
    path = Path(source)
    if path.suffix in (".pt", ".safetensors"):
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
    else:
        from ..weights import load_weights

        spec = registry.get_spec(source)
        load_weights(model, spec, registry.get_spec(spec.weights_in) if spec.weights_in else None)
        return
    apply_state(model, state, f"weights {path} do not fit this architecture")
