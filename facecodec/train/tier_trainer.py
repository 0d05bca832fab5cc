"""Training the expression-only tier of an :class:`~..models.expression_tier.ExpressionTierHyperprior`.

Only the tier's own parameters learn (code gains, the fixed prior, the tier's
small decoder); the codec it extends and the classifier
that judges its faces stay frozen (Li et al.'s standalone mode), so every file
at quality >= 1 stays what the parent codec writes. Per sample, with a
quality ``q`` drawn uniformly from the tier's range ``[q_min, 1)``::

    L = bpp(code) + s(q) · (λ · 255² · MSE(x, x̂) + γ · CE(C(x̂), label) + κ · KL(C_guide(x) ‖ head(ŝ)))

where ``s(q) = s_min^((1 - q) / (1 - q_min))`` falls geometrically from 1 just
below quality 1 to ``s_min`` at ``q_min``: the quality indexes the trade-off
between the bits and everything they buy (pixels, the classifier's reading
of the decoded face, the latent head's reading of the code), as λ does for
rate and distortion above quality 1. Checkpoints after every epoch, atomic;
``resume`` continues a run where it stopped.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import registry
from ..errors import DatasetError, TrainingError
from ..evaluate import psnr_from_mse
from ..models.expression_tier import TIER_PREFIX
from .augment import random_affine
from .data import load_faces
from .init_weights import load_initial
from .loop import (
    EpochReporter,
    atomic_torch_save,
    batches,
    cosine_lr,
    epoch_batches,
    psnr,
    start_run,
    to_tensor,
)
from .task_loss import prediction_kl


@dataclass
class TierTrainConfig:
    """Everything that defines a tier training run (stored in checkpoints)."""

    data: str
    model: str = "face-fer-v5"
    init: str = "face-fer-v3"  # the codec the tier extends (its weights, frozen)
    classifier: str = "fer-cnn-joint-v4"  # judges the decoded faces (frozen)
    split: str | None = "train"
    val_split: str | None = "val"
    val_limit: int = 512
    epochs: int = 6
    epoch_size: int | None = None
    batch_size: int = 64
    lr: float = 5e-3
    lr_min_ratio: float = 0.05
    warmup_steps: int = 50
    lmbda: float = 1e-3  # λ of the pixel term: large, so the tier's decoder draws faces, not codes
    task_weight: float = 0.25  # γ, bpp per nat (more draws the code as texture, less as a blur)
    semantic_weight: float = 2.0  # κ, bpp per nat
    scale_min: float = 0.005  # s(q_min)
    augment: bool = False
    seed: int = 0
    out: str = "runs/tier"
    device: str = "auto"
    val_qualities: list[float] = field(default_factory=lambda: [0.25, 0.5, 0.75, 0.9375])


def trade_off(quality: torch.Tensor, q_min: float, scale_min: float) -> torch.Tensor:
    """``s(q)``: 1 just below quality 1, ``scale_min`` at ``q_min``, geometric between."""
    t = ((1.0 - quality) / (1.0 - q_min)).clamp(0, 1)
    return scale_min**t


def tier_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Freeze everything but the tier's parameters, and return those."""
    params = []
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(TIER_PREFIX))
        if p.requires_grad:
            params.append(p)
    return params


@torch.no_grad()
def evaluate_tier(
    model: torch.nn.Module, classifier: torch.nn.Module, images: np.ndarray, labels: np.ndarray,
    qualities: list[float], device: torch.device,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Estimated bits per face (from the prior), PSNR, the classifier's and the code head's accuracy."""
    result = {}
    model.eval()
    for q in qualities:
        bits, psnrs, correct, head = 0.0, [], 0, 0
        for idx in batches(len(images), 256, None):
            x = to_tensor(images[idx], device)
            out = model.tier_forward(x, torch.full((len(idx),), q, device=device))
            bits += float((-torch.log2(out["likelihoods_y"])).sum())
            x_hat = out["x_hat"].clamp(0, 1)
            psnrs.extend(psnr(x_hat, x))
            correct += int((classifier(x_hat).argmax(1).cpu().numpy() == labels[idx]).sum())
            head += int((out["sem_logits"].argmax(1).cpu().numpy() == labels[idx]).sum())
        n = len(images)
        result[f"q{q:g}"] = {"bits_est": bits / n, "psnr": float(np.mean(psnrs)), "acc": correct / n, "acc_code": head / n}
    model.train()
    return result


def train_tier(config: TierTrainConfig, resume: bool = False, json_lines: bool = False) -> Path:
    """Train (or resume) the expression-only tier; returns the checkpoint path."""
    spec = registry.codec_spec(config.model)
    if spec.quality_min >= 1:
        raise TrainingError(f"{config.model} has no expression-only tier (its qualities start at 1)")
    out_dir, ckpt_path, device, world = start_run(config.out, config.device, config.seed)
    if world.size > 1:
        raise TrainingError("tier training runs on one process (it trains a small decoder and a few gains)")
    train_set = load_faces(config.data, config.split)
    if train_set.labels is None:
        raise DatasetError(f"{config.data}: tier training needs labelled data")
    val = load_faces(config.data, config.val_split).subset(config.val_limit) if config.val_split else None

    model = registry.build_architecture(spec)
    load_initial(model, config.init)
    classifier = registry.build_architecture(registry.get_spec(config.classifier))
    load_initial(classifier, config.classifier, key="classifier")
    model, classifier = model.to(device), classifier.to(device).eval()
    for p in classifier.parameters():
        p.requires_grad_(False)
    params = tier_parameters(model)
    optimizer = torch.optim.Adam(params, lr=config.lr)
    start_epoch, history = 0, []
    if resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history = state["epoch"] + 1, json.loads(state["history"])

    size = min(config.epoch_size or len(train_set), len(train_set))
    steps_per_epoch = math.ceil(size / config.batch_size)
    total = steps_per_epoch * config.epochs
    reporter = EpochReporter(config.epochs, steps_per_epoch, out_dir / "log.txt", json_lines=json_lines)
    q_min = model.quality_min
    model.train()
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng(config.seed * 1000 + epoch)
        started, sums = time.time(), {}
        reporter.start_epoch(epoch)
        plan = epoch_batches(len(train_set), config.batch_size, rng, config.epoch_size, world)
        for i, idx in enumerate(plan):
            for group in optimizer.param_groups:
                group["lr"] = config.lr * cosine_lr(epoch * steps_per_epoch + i, total, 1.0, config.lr_min_ratio, config.warmup_steps)
            if config.augment:
                x = random_affine(to_tensor(train_set.images[idx], device), rng)
            else:
                x = to_tensor(train_set.images[idx], device, flip=rng.random(len(idx)) < 0.5)
            quality = torch.as_tensor(q_min + (1 - q_min) * rng.random(len(idx)), dtype=torch.float32, device=device)
            out = model.tier_forward(x, quality)
            x_hat = out["x_hat"].clamp(0, 1)
            labels = torch.as_tensor(train_set.labels[idx], device=device)
            scale = trade_off(quality, q_min, config.scale_min)
            bits = (-torch.log2(out["likelihoods_y"])).flatten(1).sum(1)  # the code's, the whole stream
            bpp = bits / (x.shape[2] * x.shape[3])
            mse = ((out["x_hat"] - x) ** 2).flatten(1).mean(1)
            ce = F.cross_entropy(classifier(x_hat), labels, reduction="none")
            kl = F.kl_div(
                F.log_softmax(out["sem_logits"].float(), 1), F.softmax(out["guide_logits"].float(), 1), reduction="none"
            ).sum(1)
            loss = (bpp + scale * (config.lmbda * 255**2 * mse + config.task_weight * ce + config.semantic_weight * kl)).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            logs = {
                "loss": float(loss.detach()), "bits": float(bits.detach().mean()),
                "psnr": psnr_from_mse(max(float(mse.detach().mean()), 1e-10), peak=1.0), "ce_hat": float(ce.detach().mean()),
                "sem_kl": float(prediction_kl(out["guide_logits"], out["sem_logits"].detach())),
            }  # fmt: skip
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
            reporter.step(i + 1, {k: v / (i + 1) for k, v in sums.items()})
        record = {"epoch": epoch, "seconds": round(time.time() - started, 1),
                  **{f"train_{k}": round(v / max(1, len(plan)), 4) for k, v in sums.items()}}  # fmt: skip
        if val is not None:
            record["val"] = evaluate_tier(model, classifier, val.images, val.labels, config.val_qualities, device)
        history.append(record)
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                 "config": json.dumps(asdict(config)), "history": json.dumps(history)}  # fmt: skip
        atomic_torch_save(state, ckpt_path)
        reporter.end_epoch(record)
    reporter.close()
    return ckpt_path
