"""The recognizer panel: how decoded faces read to recognizers a codec never saw.

A codec trained against one classifier learns that classifier's quirks, so a
claim that expressions survive is measured by recognizers that did not enter
its training. The registry holds a panel of FER classifiers of several
architecture families, trained on original FER2013 ``train`` faces only, and
fixes once which may enter training (``"training"``) and which are only ever
measured (``"held-out"``). Their weights live in ``benchmarks/panel/`` of a
source checkout (``$FACECODEC_PANEL`` elsewhere), not in the installed package.

For decoded faces ``x̂`` of originals ``x`` with labels ``y``, each member ``f`` gives

* **agreement**: % of faces with ``argmax f(x̂) = argmax f(x)`` (its label unchanged)
* **accuracy**: % of faces with ``argmax f(x̂) = y``

and the panel reports the mean over its members and the worst member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import registry

ROLES = ("held-out", "training")


@dataclass
class Member:
    """One loaded recognizer and its readings of the original faces."""

    name: str
    model: Any
    original: np.ndarray  # predicted class per original face


@dataclass
class Panel:
    """The loaded members of one role, ready to score decoded faces of the same originals."""

    role: str
    members: list[Member]
    labels: np.ndarray | None

    def score(self, decoded: np.ndarray, device: Any = "cpu") -> dict[str, Any]:
        """Agreement and accuracy (%) of every member on ``decoded`` (uint8 N×H×W×C), with the
        panel's mean and worst member."""
        from .bench.metrics import predict

        per: dict[str, dict[str, float | None]] = {}
        for m in self.members:
            preds = predict(m.model, decoded, device)
            per[m.name] = {
                "agreement": round(float(np.mean(preds == m.original)) * 100, 2),
                "accuracy": None if self.labels is None else round(float(np.mean(preds == self.labels)) * 100, 2),
            }
        return summarise(per)

    def originals(self) -> dict[str, Any]:
        """Each member's accuracy (%) on the original faces, with mean and worst."""
        per = {
            m.name: {
                "agreement": 100.0,
                "accuracy": None if self.labels is None else round(float(np.mean(m.original == self.labels)) * 100, 2),
            }
            for m in self.members
        }
        return summarise(per)


def summarise(per: dict[str, dict[str, float | None]]) -> dict[str, Any]:
    """Mean and worst member of per-member agreement/accuracy figures."""
    out: dict[str, Any] = {"members": per}
    for key in ("agreement", "accuracy"):
        values = [v[key] for v in per.values() if v[key] is not None]
        out[key] = round(float(np.mean(values)), 2) if values else None
        out[f"{key}_worst"] = round(float(np.min(values)), 2) if values else None
    return out


def load(role: str, images: np.ndarray, labels: np.ndarray | None, device: Any = "cpu",
         names: Sequence[str] | None = None) -> Panel:  # fmt: skip
    """Load the ``role`` panel (or the named members) and read the originals ``images``."""
    from .bench.metrics import predict, prepare_classifier

    wanted = list(names) if names is not None else registry.panel_names(role)
    members = []
    for name in wanted:
        model = prepare_classifier(registry.create_model(name, device=device))
        members.append(Member(name, model, predict(model, images, device)))
    return Panel(role, members, labels)
