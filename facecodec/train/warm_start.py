"""Fine-tuning starts: a wider codec from a narrower one's weights, a guide from a classifier.

A guided codec (:class:`~facecodec.models.guided.GuidedFaceHyperprior`) starts from a plain
:class:`~facecodec.models.hyperprior.FaceHyperprior`'s weights: its guide and the guide's
projection keep their current weights (the projection: zero, a no-op), so it starts out
coding exactly as the codec it came from. An expression-code codec
(:class:`~facecodec.models.semantic.SemanticFaceHyperprior`) starts from a guided or plain
codec's weights (``M`` image channels, no code): the transforms that read or predict ``y``
(``g_s``, ``h_a``, ``h_s``) are widened with zeros for the code's ``K`` channels, and the
code's own modules keep their current weights, so the image part decodes exactly as before.

The model classes load only their own weights (plain ``load_state_dict``): these starts
are training's business.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ..models.classifier import FerNet
from ..models.guided import GuidedFaceHyperprior
from ..models.semantic import SemanticFaceHyperprior
from ..weights import apply_state

#: the weights a guided or expression-code codec adds to the codec it starts from
ADDED_PREFIXES = ("guide.", "guide_proj.", "guide_tail.", "guide_fc.", "sem_proj.", "sem_log_gain", "sem_head.")
#: the frozen classifier inside a guided codec (trained weights must come from somewhere)
GUIDE_PREFIXES = ("guide.", "guide_tail.", "guide_fc.")


def warm_start(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], what: str = "weights do not fit this architecture"
) -> set[str]:
    """Load ``state`` into ``model``, widening a narrower codec's weights and keeping the model's
    current weights for the parts the state lacks (:data:`ADDED_PREFIXES`); any other mismatch
    is a :class:`~facecodec.errors.WeightsError` ``what: reason``.

    Returns the names of the weights kept from the model (empty: ``state`` was complete).
    """
    state = dict(state)
    if isinstance(model, SemanticFaceHyperprior):
        state = widened(model, state)
    own = model.state_dict()
    kept = {k for k in own if k not in state}
    if kept and all(k.startswith(ADDED_PREFIXES) for k in kept):
        state.update({k: own[k] for k in kept})
    else:
        kept = set()  # complete, or a mismatch that apply_state reports
    apply_state(model, state, what)
    return kept


def missing_guide(kept: set[str]) -> bool:
    """Whether a guided codec's frozen guide was among the weights :func:`warm_start` kept."""
    return any(k.startswith(GUIDE_PREFIXES) for k in kept)


def widened(model: SemanticFaceHyperprior, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A ``M``-channel codec's ``g_s``/``h_a``/``h_s`` weights padded to ``model``'s ``M + K``
    channels (new inputs and outputs zero; the code's scales start at bias 2); ``state`` as it is
    when it is not such a codec's."""
    m, k = model.image_channels, model.sem_channels
    if state.get("h_s.4.weight") is None or state["h_s.4.weight"].shape[0] != 2 * m:
        return state

    def pad(t: torch.Tensor, dim: int, fill: float = 0.0) -> torch.Tensor:
        shape = list(t.shape)
        shape[dim] = k
        return torch.cat([t, t.new_full(shape, fill)], dim=dim)

    state = dict(state)
    state["g_s.0.weight"] = pad(state["g_s.0.weight"], 0)  # ConvTranspose2d: (in, out, kh, kw)
    state["h_a.0.weight"] = pad(state["h_a.0.weight"], 1)
    state["h_s.0.weight"] = pad(state["h_s.0.weight"], 1)
    state["h_s.0.bias"] = pad(state["h_s.0.bias"], 0)
    state["h_s.2.weight"] = pad(pad(state["h_s.2.weight"], 0), 1)
    state["h_s.2.bias"] = pad(state["h_s.2.bias"], 0)
    w, b = state["h_s.4.weight"], state["h_s.4.bias"]  # rows: M scales, then M means
    state["h_s.4.weight"] = pad(torch.cat([pad(w[:m], 0), pad(w[m:], 0)]), 1)
    state["h_s.4.bias"] = torch.cat([pad(b[:m], 0, 2.0), pad(b[m:], 0)])
    return state


def is_guided(model: torch.nn.Module) -> bool:
    """Whether ``model`` is a codec with an encoder guide (a frozen classifier inside)."""
    return isinstance(model, GuidedFaceHyperprior)


def load_guide(model: GuidedFaceHyperprior, classifier: FerNet) -> None:
    """Copy a guided codec's frozen guide from a trained classifier of the same width: its
    stages up to the last pooling (an expression-code codec: also the last stage and the head)."""
    model.guide.load_state_dict(classifier.body[: classifier.split_index()].state_dict())
    if isinstance(model, SemanticFaceHyperprior):
        model.guide_tail.load_state_dict(classifier.last_stage().state_dict())
        model.guide_fc.load_state_dict(classifier.head.state_dict())
