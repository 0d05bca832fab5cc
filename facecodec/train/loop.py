"""Pieces of the training loop (:mod:`.engine`): devices, batching, schedule, saving, reporting."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from ..devices import pick_device
from ..evaluate import psnr_from_mse
from .distributed import World, join


def start_run(out: str, device: str, seed: int) -> tuple[Path, Path, torch.device, World]:
    """Create the run folder, pick the device, join torchrun's group if any, seed torch.

    Returns (folder, checkpoint path, device, world).
    """
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    world, torch_device = join(pick_device(device))
    torch.manual_seed(seed)
    return out_dir, out_dir / "last.pt", torch_device, world


def epoch_batches(
    n: int, size: int, rng: np.random.Generator, limit: int | None, world: World
) -> list[np.ndarray]:
    """One epoch's shuffled batches (at most ``limit`` samples), this process's share of each."""
    out = list(batches(n, size, rng))
    if limit:
        out = out[: max(1, math.ceil(limit / size))]
    return [world.shard(idx) for idx in out if len(idx) >= world.size]


def batches(n: int, size: int, rng: np.random.Generator | None) -> Iterator[np.ndarray]:
    """Index batches over ``range(n)``, shuffled when ``rng`` is given."""
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, size):
        yield order[start : start + size]


def to_tensor(
    images: np.ndarray, device: torch.device, flip: np.ndarray | None = None
) -> torch.Tensor:
    """uint8 (B, H, W, C) → float (B, C, H, W) in [0, 1], optionally h-flipping some."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)
    if flip is not None and flip.any():
        mask = torch.from_numpy(flip)
        x[mask] = x[mask].flip(-1)
    return x.to(device)


@torch.no_grad()
def top1_accuracy(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    device: torch.device,
    batch: int = 256,
) -> float:
    """Top-1 accuracy of ``model`` on uint8 images (N, H, W, C), in eval mode.

    The model's train/eval mode is restored afterwards.
    """
    with eval_mode(model):
        correct = 0
        for idx in batches(len(images), batch, None):
            x = to_tensor(images[idx], device)
            correct += int((model(x).argmax(1).cpu().numpy() == labels[idx]).sum())
    return correct / max(1, len(images))


@contextmanager
def eval_mode(*models: torch.nn.Module | None) -> Iterator[None]:
    """Put ``models`` (None entries skipped) in eval mode; restore each one's mode after."""
    present = [m for m in models if m is not None]
    modes = [m.training for m in present]
    for m in present:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(present, modes):
            m.train(mode)


def cosine_lr(step: int, total: int, base: float, min_ratio: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay from ``base`` to ``base * min_ratio``."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> list[float]:
    """Per-image PSNR in dB for images in [0, 1] (at most 100 dB)."""
    mse = ((x_hat - x) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return psnr_from_mse(mse.detach().double().cpu().numpy(), peak=1.0).tolist()  # type: ignore[union-attr]


def atomic_torch_save(obj: object, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename over ``path``."""
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


class EpochReporter:
    """Progress for a training run: a rich bar on a terminal, log lines otherwise.

    Every epoch's record is also appended as a JSON line to ``log_path``.
    """

    def __init__(
        self,
        epochs: int,
        steps_per_epoch: int,
        log_path: Path,
        quiet: bool = False,
        json_lines: bool = False,
    ) -> None:
        self.epochs, self.steps = epochs, steps_per_epoch
        self.log_path = log_path
        self.quiet = quiet  # other ranks than 0 of a torchrun job
        self.json_lines = json_lines  # stdout: only each epoch's JSON record
        self.interactive = sys.stderr.isatty() and not quiet and not json_lines
        self._progress = None
        self._task = None
        self._t0 = time.time()
        if self.interactive:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[terms]}"),
                transient=False,
            )
            self._progress.start()

    def start_epoch(self, epoch: int) -> None:
        self._epoch = epoch
        self._t0 = time.time()
        if self._progress is not None:
            self._task = self._progress.add_task(
                f"epoch {epoch + 1}/{self.epochs}", total=self.steps, terms=""
            )

    def step(self, done: int, terms: dict[str, float]) -> None:
        if self.quiet or self.json_lines:
            return
        text = " ".join(f"{k} {v:.4g}" for k, v in terms.items())
        if self._progress is not None:
            self._progress.update(self._task, completed=done, terms=text)
        elif done % 100 == 0 or done == self.steps:
            rate = done / max(1e-9, time.time() - self._t0)
            eta = (self.steps - done) / max(rate, 1e-9)
            print(
                f"epoch {self._epoch + 1}/{self.epochs} step {done}/{self.steps} "
                f"{text} ({rate:.1f} it/s, epoch eta {eta:.0f}s)",
                flush=True,
            )

    def end_epoch(self, record: dict) -> None:
        if self.quiet:
            return
        with open(self.log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        line = json.dumps(record)
        if self._progress is not None:
            self._progress.console.print(line)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
