"""Rate-distortion training of the variable-rate face codec.

Loss per sample, with a quality ``q`` drawn uniformly from [1, 8] for every
sample and ``λ(q)`` geometric between ``lmbda_min`` and ``lmbda_max``::

    L = bpp(y) + bpp(z) + λ(q) · 255² · MSE(x, x_hat)

(the CompressAI convention for λ). The EntropyBottleneck quantiles train on
their auxiliary loss with a second optimiser. Checkpoints are written
atomically after every epoch, so a run resumes (``resume=True``) where it
stopped, with the same data order and learning-rate schedule.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import registry
from ..models.hyperprior import QUALITY_MAX, QUALITY_MIN, lambda_for_quality
from .data import load_faces
from .loop import (
    EpochReporter,
    atomic_torch_save,
    batches,
    cosine_lr,
    psnr,
    start_run,
    to_tensor,
)


@dataclass
class CodecTrainConfig:
    """Everything that defines a codec training run (stored in checkpoints)."""

    data: str
    model: str = registry.DEFAULT_CODEC
    split: str | None = "train"
    val_split: str | None = "val"
    val_limit: int = 512
    epochs: int = 40
    batch_size: int = 32
    lr: float = 5e-4
    lr_min_ratio: float = 0.02
    warmup_steps: int = 300
    lmbda_min: float = 4e-4
    lmbda_max: float = 5e-2
    seed: int = 0
    out: str = "runs/codec"
    device: str = "auto"
    val_qualities: list[float] = field(default_factory=lambda: [1.0, 4.0, 8.0])


def rd_loss(
    out: dict[str, torch.Tensor], x: torch.Tensor, lmbda: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Per-batch mean of bpp + λ·255²·MSE, with the terms for logging."""
    pixels = x.shape[2] * x.shape[3]
    bits = sum(
        (-torch.log2(out[k])).flatten(1).sum(1) for k in ("likelihoods_y", "likelihoods_z")
    )
    bpp = bits / pixels
    mse = ((out["x_hat"] - x) ** 2).flatten(1).mean(1)
    loss = (bpp + lmbda * 255**2 * mse).mean()
    return {"loss": loss, "bpp": bpp.mean(), "mse": mse.mean()}


@torch.no_grad()
def evaluate_codec(
    model: torch.nn.Module, images: np.ndarray, qualities: list[float], device: torch.device
) -> dict[str, dict[str, float]]:
    """Estimated bpp (from likelihoods) and PSNR per quality on ``images``."""
    model.eval()
    result = {}
    for q in qualities:
        bpps, psnrs = [], []
        for idx in batches(len(images), 256, None):
            x = to_tensor(images[idx], device)
            out = model(x, torch.full((len(idx),), q, device=device))
            terms = rd_loss(out, x, torch.zeros(len(idx), device=device))
            bpps.append(float(terms["bpp"]) * len(idx))
            psnrs.extend(psnr(out["x_hat"].clamp(0, 1), x).tolist())
        result[f"q{q:g}"] = {"bpp_est": sum(bpps) / len(images), "psnr": float(np.mean(psnrs))}
    model.train()
    return result


def train_codec(config: CodecTrainConfig, resume: bool = False) -> Path:
    """Train (or resume) a codec; returns the path of the last checkpoint."""
    out_dir, ckpt_path, device = start_run(config.out, config.device, config.seed)

    train_set = load_faces(config.data, config.split)
    val_images = None
    if config.val_split:
        val_images = load_faces(config.data, config.val_split).subset(config.val_limit).images

    model = registry.build_architecture(registry.get_spec(config.model)).to(device)
    aux_params = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    main_params = [p for n, p in model.named_parameters() if not n.endswith(".quantiles")]
    optimizer = torch.optim.Adam(main_params, lr=config.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=1e-3)
    start_epoch, history, resumes = 0, [], []
    if resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        aux_optimizer.load_state_dict(state["aux_optimizer"])
        start_epoch, history = state["epoch"] + 1, json.loads(state["history"])
        resumes = json.loads(state.get("resumes", "[]"))
        before = json.loads(state["config"])
        changed = {k: [before.get(k), v] for k, v in asdict(config).items() if before.get(k) != v}
        if changed:  # recorded so that exported weights say how they were really trained
            resumes.append({"from_epoch": start_epoch, "changed": changed})

    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    reporter = EpochReporter(config.epochs, steps_per_epoch, out_dir / "log.txt")
    model.train()
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng(config.seed * 1000 + epoch)
        started = time.time()
        sums = {"loss": 0.0, "bpp": 0.0, "psnr": 0.0}
        reporter.start_epoch(epoch)
        for i, idx in enumerate(batches(len(train_set), config.batch_size, rng)):
            step = epoch * steps_per_epoch + i
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(
                    step, total_steps, config.lr, config.lr_min_ratio, config.warmup_steps
                )
            x = to_tensor(train_set.images[idx], device, flip=rng.random(len(idx)) < 0.5)
            quality = torch.as_tensor(
                rng.uniform(QUALITY_MIN, QUALITY_MAX, len(idx)), dtype=torch.float32, device=device
            )
            lmbda = lambda_for_quality(quality, config.lmbda_min, config.lmbda_max)
            out = model(x, quality)
            terms = rd_loss(out, x, lmbda)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            torch.nn.utils.clip_grad_norm_(main_params, 1.0)
            optimizer.step()
            aux_optimizer.zero_grad(set_to_none=True)
            model.aux_loss().backward()
            aux_optimizer.step()
            sums["loss"] += float(terms["loss"])
            sums["bpp"] += float(terms["bpp"])
            sums["psnr"] += float(-10 * torch.log10(terms["mse"].clamp_min(1e-10)))
            reporter.step(i + 1, {k: v / (i + 1) for k, v in sums.items()})
        record = {
            "epoch": epoch,
            "seconds": round(time.time() - started, 1),
            **{f"train_{k}": round(v / steps_per_epoch, 4) for k, v in sums.items()},
        }
        if val_images is not None:
            record["val"] = evaluate_codec(model, val_images, config.val_qualities, device)
        history.append(record)
        atomic_torch_save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "aux_optimizer": aux_optimizer.state_dict(),
                "epoch": epoch,
                "config": json.dumps(asdict(config)),
                "history": json.dumps(history),
                "resumes": json.dumps(resumes),
            },
            ckpt_path,
        )
        reporter.end_epoch(record)
    reporter.close()
    return ckpt_path
