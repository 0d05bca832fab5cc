"""The codec's rate-distortion terms, its expression-code term, and their estimate on held-out faces.

Loss per sample, with a quality ``q`` and ``λ(q)`` geometric between ``lmbda_min`` and
``lmbda_max`` (:func:`~facecodec.models.hyperprior.lambda_for_quality`)::

    L = bpp(y) + bpp(z) + λ(q) · 255² · MSE(x, x_hat)

(the CompressAI convention for λ). At low qualities λ(q) is tiny, and nothing there stops
the decoder from drawing fine patterns the original lacks (the stripes that a classifier
term rewards). The *detail floor* ``w_d · 255² · MSE(h(x), h(x_hat))`` (``--detail-weight``,
the same at every quality) asks the decoded face's fine detail ``h`` (each pixel minus the
mean of its 3×3 neighbourhood) to be the original's: the cheapest answer at a low rate is
to draw less detail, not other detail, while coarse structure stays free to be spent on.
The expression terms are in :mod:`.task_loss`, the panel and realism terms in :mod:`.panel_term`.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..evaluate import DETAIL_WINDOW
from .loop import batches, eval_mode, psnr, to_tensor, top1_accuracy
from .task_loss import prediction_kl


def rd_loss(
    out: dict[str, torch.Tensor], x: torch.Tensor, lmbda: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Per-batch mean of bpp + λ·255²·MSE, with the terms for logging."""
    pixels = x.shape[2] * x.shape[3]
    bits = sum((-torch.log2(out[k])).flatten(1).sum(1) for k in ("likelihoods_y", "likelihoods_z"))
    bpp = bits / pixels
    mse = ((out["x_hat"] - x) ** 2).flatten(1).mean(1)
    loss = (bpp + lmbda * 255**2 * mse).mean()
    return {"loss": loss, "bpp": bpp.mean(), "mse": mse.mean()}


def fine_detail(x: torch.Tensor) -> torch.Tensor:
    """Each pixel minus the mean of its neighbourhood (:data:`facecodec.evaluate.DETAIL_WINDOW`,
    edges replicated), per channel: the bench's invented detail measures the same detail."""
    r = DETAIL_WINDOW // 2
    return x - F.avg_pool2d(F.pad(x, (r, r, r, r), mode="replicate"), DETAIL_WINDOW, stride=1)


def detail_mse(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Batch mean of the MSE between the fine detail of ``x_hat`` and of ``x`` (the detail floor)."""
    return ((fine_detail(x_hat) - fine_detail(x)) ** 2).mean()


def codec_forward(
    model: torch.nn.Module, x: torch.Tensor, quality: torch.Tensor, lmbda: torch.Tensor
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The codec's training forward and :func:`rd_loss` of a batch."""
    out = model(x, quality)
    return out, rd_loss(out, x, lmbda)


def semantic_term(out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """KL from the frozen guide classifier's prediction on the original to the code head's
    prediction from the decoded code (nats, batch mean), and how often their top-1 agree."""
    guide, head = out["guide_logits"], out["sem_logits"]
    return {"kl": prediction_kl(guide, head), "agree": (head.argmax(1) == guide.argmax(1)).float().mean()}


@torch.no_grad()
def evaluate_codec(
    model: torch.nn.Module,
    images: np.ndarray,
    qualities: list[float],
    device: torch.device,
    classifier: torch.nn.Module | None = None,
    labels: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """Estimated bpp (from likelihoods), PSNR and, with a classifier, accuracy per quality."""
    result: dict[str, dict[str, float]] = {}
    with eval_mode(model, classifier):
        for q in qualities:
            bits, psnrs, correct = 0.0, [], 0
            code_correct = 0 if hasattr(model, "sem_head") and labels is not None else None  # the code head's
            for idx in batches(len(images), 256, None):
                x = to_tensor(images[idx], device)
                out = model(x, torch.full((len(idx),), q, device=device))
                bits += float(rd_loss(out, x, torch.zeros(len(idx), device=device))["bpp"]) * len(idx)
                x_hat = out["x_hat"].clamp(0, 1)
                psnrs.extend(psnr(x_hat, x))
                if classifier is not None and labels is not None:
                    pred = classifier(x_hat).argmax(1).cpu().numpy()
                    correct += int((pred == labels[idx]).sum())
                if code_correct is not None:
                    code_correct += int((out["sem_logits"].argmax(1).cpu().numpy() == labels[idx]).sum())
            point = {"bpp_est": bits / len(images), "psnr": float(np.mean(psnrs))}
            if classifier is not None and labels is not None:
                point["acc"] = correct / len(images)
            if code_correct is not None:
                point["acc_code"] = code_correct / len(images)
            result[f"q{q:g}"] = point
    if classifier is not None and labels is not None:
        result["original"] = {"acc": top1_accuracy(classifier, images, labels, device)}
    return result
