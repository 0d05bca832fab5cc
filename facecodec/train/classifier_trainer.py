"""Training the expression classifier on original faces.

Cross-entropy with label smoothing (or soft FER+ vote targets when the npz has
``ferplus_votes`` and ``soft_labels`` is on), AdamW, warm-up + cosine
schedule, random affine jitter and flips. Same checkpoint / resume / report
machinery as the codec trainer (:mod:`.loop`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import registry
from ..errors import DatasetError
from .augment import random_affine
from .data import load_faces
from .loop import EpochReporter, atomic_torch_save, batches, cosine_lr, start_run, to_tensor


@dataclass
class ClassifierTrainConfig:
    """Everything that defines a classifier training run (stored in checkpoints)."""

    data: str
    model: str = "fer-cnn-v1"
    split: str | None = "train"
    val_split: str | None = "val"
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    warmup_steps: int = 300
    seed: int = 0
    out: str = "runs/classifier"
    device: str = "auto"


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: np.ndarray, labels: np.ndarray, device: torch.device) -> float:
    """Top-1 accuracy of ``model`` on uint8 images (N, H, W, C)."""
    model.eval()
    correct = 0
    for idx in batches(len(images), 512, None):
        logits = model(to_tensor(images[idx], device))
        correct += int((logits.argmax(1).cpu().numpy() == labels[idx]).sum())
    model.train()
    return correct / len(images)


def train_classifier(config: ClassifierTrainConfig, resume: bool = False) -> Path:
    """Train (or resume) a classifier; returns the path of the last checkpoint."""
    out_dir, ckpt_path, device = start_run(config.out, config.device, config.seed)
    train_set = load_faces(config.data, config.split)
    if train_set.labels is None:
        raise DatasetError(f"{config.data}: classifier training needs labels")
    val = load_faces(config.data, config.val_split) if config.val_split else None

    model = registry.build_architecture(registry.get_spec(config.model)).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    start_epoch, history = 0, []
    if resume and ckpt_path.exists():
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history = state["epoch"] + 1, json.loads(state["history"])

    steps_per_epoch = math.ceil(len(train_set) / config.batch_size)
    total = steps_per_epoch * config.epochs
    reporter = EpochReporter(config.epochs, steps_per_epoch, out_dir / "log.txt")
    model.train()
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng(config.seed * 1000 + epoch)
        started, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        reporter.start_epoch(epoch)
        for i, idx in enumerate(batches(len(train_set), config.batch_size, rng)):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(epoch * steps_per_epoch + i, total, config.lr, 0.01, config.warmup_steps)
            x = random_affine(to_tensor(train_set.images[idx], device), rng)
            y = torch.as_tensor(train_set.labels[idx], device=device)
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(idx)
            reporter.step(i + 1, {"loss": loss_sum / (i + 1), "acc": correct / seen})
        record = {"epoch": epoch, "seconds": round(time.time() - started, 1),
                  "train_loss": round(loss_sum / steps_per_epoch, 4), "train_acc": round(correct / seen, 4)}  # fmt: skip
        if val is not None and val.labels is not None:
            record["val_acc"] = round(accuracy(model, val.images, val.labels, device), 4)
        history.append(record)
        atomic_torch_save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
             "config": json.dumps(asdict(config)), "history": json.dumps(history)},
            ckpt_path,
        )  # fmt: skip
        reporter.end_epoch(record)
    reporter.close()
    return ckpt_path
