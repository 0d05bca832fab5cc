"""The expression (task) term of the FER-aware codec loss.

After Li et al., "Expression-preserving face compression" (ICIP 2025,
arXiv 2509.17262): the codec loss ``R + λ·D`` gains a classification term,

    L_codec = R + λ(q)·255²·MSE + s·(γ·CE(f(x̂), label) + φ·‖φ_f(x̂) − φ_f(x)‖²
                                      + κ·KL(f(x) ‖ f(x̂)))

where ``f`` is a FER classifier, ``φ_f`` its pooled features (normalised to
unit length, the original's features as a fixed target), ``γ`` the task weight
and ``φ`` the feature weight. ``κ`` (agreement) asks the decoded face to be
read as the original is (the classifier's distribution on ``x``, detached, as
the target): a codec cannot make a classifier more right than it is on the
original, but it can keep it from changing its mind. ``s`` is 1, or with an
adaptive balance ``r`` it is re-estimated every step so that the task part
stays ``r`` times the rate-distortion part (exponential moving averages of
both, momentum 0.98): the CE term falls quickly as the classifier adapts and
the balance keeps it pulling.

Two modes:

* **standalone** – ``f`` is frozen (eval mode, no gradients to its weights);
  only the codec learns to keep what ``f`` needs.
* **joint** – ``f`` trains too, on decoded *and* original faces::

      L_classifier = CE(f(x̂)) + w_o · CE(f(x)) + c · KL(f(x) ‖ f(x̂))

  so it stays accurate on both; ``c`` (consistency, off by default) also asks
  it to read a decoded face as it reads the original (the original's
  distribution detached: the clean view teaches the degraded one).
  ``L_classifier`` reaches only the classifier's weights and ``L_codec`` only the codec's (two backward passes restricted with
  ``inputs=``), so ``γ`` sets the codec's trade-off without scaling the
  classifier's learning rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


def prediction_kl(target_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """KL(softmax(target) ‖ softmax(logits)) in nats, batch mean, in float32; the target is detached."""
    target = F.softmax(target_logits.detach().float(), dim=1)
    return F.kl_div(F.log_softmax(logits.float(), dim=1), target, reduction="batchmean")


@dataclass
class TaskWeights:
    """Weights of the expression terms (see the module docstring)."""

    task: float = 0.1  # γ, in bpp per nat of cross-entropy
    feature: float = 0.0  # φ
    original: float = 1.0  # w_o, joint mode only
    agreement: float = 0.0  # κ: KL from the prediction on the original to that on the decoded face
    balance: float | None = None  # r: adaptive task/RD ratio, None = fixed weights
    label_smoothing: float = 0.1
    consistency: float = 0.0  # c, joint mode only: the same KL in the classifier's own loss


class TaskTerm:
    """Computes the expression terms for one batch; keeps the adaptive state."""

    def __init__(self, classifier: torch.nn.Module, weights: TaskWeights, joint: bool) -> None:
        self.classifier, self.weights, self.joint = classifier, weights, joint
        self._ema_rd: float | None = None
        self._ema_task: float | None = None
        self.scale = 1.0
        if not joint:
            classifier.eval()
            for p in classifier.parameters():
                p.requires_grad_(False)

    def __call__(
        self, x: torch.Tensor, x_hat: torch.Tensor, labels: torch.Tensor, rd_loss: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Terms for a batch: ``codec`` (added to the RD loss), ``classifier`` (joint), logs."""
        w = self.weights
        n = len(x)
        if self.joint:  # one pass over both so BatchNorm sees the mix it will be used on
            feats = self.classifier.features(torch.cat([x_hat, x]))
            logits = self.classifier.head(self.classifier.dropout(feats))
            feat_hat, feat_orig = feats[:n], feats[n:]
            logits_hat, logits_orig = logits[:n], logits[n:]
        else:
            feat_hat = self.classifier.features(x_hat)
            logits_hat = self.classifier.head(feat_hat)
            logits_orig = None
            with torch.no_grad():
                feat_orig = self.classifier.features(x) if (w.feature or w.agreement) else None
                if w.agreement:
                    logits_orig = self.classifier.head(feat_orig)
        ce_hat = F.cross_entropy(logits_hat, labels, label_smoothing=w.label_smoothing)
        task = w.task * ce_hat
        if w.feature:
            target = F.normalize(feat_orig.detach(), dim=1)
            task = task + w.feature * (F.normalize(feat_hat, dim=1) - target).pow(2).sum(1).mean()
        # one KL for both terms that use it: the codec's agreement and the classifier's consistency
        kl = prediction_kl(logits_orig, logits_hat) if w.agreement or (self.joint and w.consistency) else None
        if w.agreement:
            task = task + w.agreement * kl
        if w.balance is not None:
            self._update_scale(float(rd_loss), float(task.detach()))
        out = {
            "codec": self.scale * task,
            "ce_hat": ce_hat.detach(),
            "acc_hat": (logits_hat.argmax(1) == labels).float().mean(),
        }
        if logits_orig is not None:
            out["agree"] = (logits_hat.argmax(1) == logits_orig.argmax(1)).float().mean()
        if self.joint:
            ce_orig = F.cross_entropy(logits_orig, labels, label_smoothing=w.label_smoothing)
            out["classifier"] = ce_hat + w.original * ce_orig + (w.consistency * kl if w.consistency else 0.0)
            out["acc_orig"] = (logits_orig.argmax(1) == labels).float().mean()
        return out

    def _update_scale(self, rd: float, task: float) -> None:
        m = 0.98
        self._ema_rd = rd if self._ema_rd is None else m * self._ema_rd + (1 - m) * rd
        self._ema_task = task if self._ema_task is None else m * self._ema_task + (1 - m) * task
        ratio = self.weights.balance * self._ema_rd / max(self._ema_task, 1e-8)
        self.scale = float(min(max(ratio, 0.01), 100.0))

    def state(self) -> dict[str, float | None]:
        return {"ema_rd": self._ema_rd, "ema_task": self._ema_task, "scale": self.scale}

    def load_state(self, state: dict[str, float | None]) -> None:
        self._ema_rd, self._ema_task = state.get("ema_rd"), state.get("ema_task")
        self.scale = float(state.get("scale") or 1.0)
