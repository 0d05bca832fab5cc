"""The one training loop: epochs, steps, schedule, validation, logs, checkpoints, resume.

What is trained, and how, is an *objective* (:class:`Objective`): the codec's
(:mod:`.codec_trainer`) or a classifier's (:mod:`.classifier_trainer`). It builds its
models and optimisers, takes a step on a batch and reports its terms, validates,
and names what its checkpoint holds. :func:`run` does the rest, the same for all:

* the run folder, the device and torchrun's process group (:func:`.loop.start_run`);
* per epoch a generator seeded ``seed·1000 + epoch`` that draws the data order
  (:func:`.loop.epoch_batches`: this process's share of every global batch) and
  that the objective's step draws from, so a resumed run sees the same data;
* linear warm-up then cosine decay of every scheduled optimiser's learning rate
  (:func:`.loop.cosine_lr`; a parameter group's ``lr_scale`` multiplies it);
* the means of the step's terms on the progress bar or log lines, and per epoch a
  JSON record (``train_*`` means, validation) in ``OUT/log.txt`` (:class:`.loop.EpochReporter`);
* after every epoch, on rank 0: validation and an atomic checkpoint ``OUT/last.pt``.

The checkpoint format is one for every objective: the objective's own entries
(``model``, ``optimizer``, ...) and the run's: ``epoch`` (the last one done),
``config`` (JSON), ``history`` (JSON list of the epoch records) and ``resumes``
(JSON list of ``{"from_epoch", "changed": {option: [before, now]}}``: options that
changed on ``--resume``, which export records in the manifest).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from .distributed import World, average_gradients, barrier
from .loop import EpochReporter, atomic_torch_save, cosine_lr, epoch_batches, start_run

#: a step's terms: a number (averaged over the epoch's steps) or ``(numerator, denominator)``
#: (summed separately: e.g. correct answers and faces, for an accuracy over faces)
Terms = Mapping[str, float | tuple[float, float]]

#: the entries every checkpoint holds besides the objective's own
RUN_KEYS = ("epoch", "config", "history", "resumes")


class LoopConfig(Protocol):
    """The options :func:`run` reads from a training config (a dataclass, stored in checkpoints)."""

    out: str
    device: str
    seed: int
    epochs: int
    epoch_size: int | None
    batch_size: int
    warmup_steps: int


@dataclass(frozen=True)
class Run:
    """Where a run lives and what it runs on."""

    out_dir: Path
    checkpoint: Path
    device: torch.device
    world: World
    json_lines: bool = False

    def apply_gradients(
        self, optimizer: torch.optim.Optimizer, params: list[torch.nn.Parameter], clip: float | None = None
    ) -> None:
        """Average ``params``' gradients over the processes, clip their norm (``clip``), step."""
        average_gradients(params, self.world)
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()


@dataclass(frozen=True)
class Batch:
    """One step's batch: indices into the training set and the epoch's generator."""

    indices: np.ndarray  # this process's share of the global batch
    rng: np.random.Generator  # the epoch's: augmentation and other draws come from it
    step: int  # global step, from 0


class Objective(Protocol):
    """What one kind of training run learns; :func:`run` drives it."""

    #: the cosine schedule ends at this share of the base learning rates
    lr_min_ratio: float

    def setup(self, run: Run, resuming: bool) -> int:
        """Load data, build models and optimisers (starting weights unless ``resuming``), set
        training mode; returns the number of training samples."""
        ...

    def schedule(self) -> list[tuple[torch.optim.Optimizer, float]]:
        """The optimisers the schedule drives, each with its base learning rate."""
        ...

    def step(self, batch: Batch) -> Terms:
        """One optimisation step on ``batch`` (gradients through :meth:`Run.apply_gradients`)."""
        ...

    def validate(self) -> dict[str, Any]:
        """Validation figures, merged into the epoch's record (empty: none)."""
        ...

    def state(self) -> dict[str, Any]:
        """The objective's checkpoint entries (weights, optimisers, ...)."""
        ...

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state` saved (after :meth:`setup` with ``resuming``)."""
        ...


class Totals:
    """Running sums of the steps' terms."""

    def __init__(self) -> None:
        self.sums: dict[str, float | tuple[float, float]] = {}

    def add(self, terms: Terms) -> None:
        for k, v in terms.items():
            if isinstance(v, tuple):
                num, den = self.sums.get(k, (0.0, 0.0))  # type: ignore[misc]
                self.sums[k] = (num + v[0], den + v[1])
            else:
                self.sums[k] = self.sums.get(k, 0.0) + v  # type: ignore[operator]

    def means(self, steps: int) -> dict[str, float]:
        """Each term's mean over ``steps`` steps (ratios: over their denominators)."""
        return {
            k: v[0] / max(1.0, v[1]) if isinstance(v, tuple) else v / max(1, steps) for k, v in self.sums.items()
        }


def resume_point(state: Mapping[str, Any], config: LoopConfig) -> tuple[int, list[dict], list[dict]]:
    """The epoch to continue from, the history so far and the resume record, with the options
    that differ from the checkpoint's config appended (exported weights say how they were trained)."""
    start = int(state["epoch"]) + 1
    history = json.loads(state["history"])
    resumes = json.loads(state.get("resumes", "[]"))
    before = json.loads(state["config"])
    now = json.loads(json.dumps(asdict(config)))  # type: ignore[call-overload]  # tuples as lists, as stored
    changed = {k: [before.get(k), v] for k, v in now.items() if k in before and before[k] != v}
    if changed:
        resumes.append({"from_epoch": start, "changed": changed})
    return start, history, resumes


def set_learning_rates(schedule: list[tuple[torch.optim.Optimizer, float]], factor: float) -> None:
    """``lr = base · factor · lr_scale`` for every parameter group of every scheduled optimiser."""
    for optimizer, base in schedule:
        for group in optimizer.param_groups:
            group["lr"] = base * factor * group.get("lr_scale", 1.0)


def run(objective: Objective, config: LoopConfig, resume: bool = False, json_lines: bool = False) -> Path:
    """Train ``objective`` for ``config.epochs`` epochs (``resume``: from ``OUT/last.pt`` when there
    is one, where it stopped); returns the checkpoint's path. ``json_lines``: stdout carries only
    each epoch's JSON record."""
    out_dir, ckpt_path, device, world = start_run(config.out, config.device, config.seed)
    resuming = resume and ckpt_path.exists()
    samples = objective.setup(Run(out_dir, ckpt_path, device, world, json_lines), resuming)
    start_epoch, history, resumes = 0, [], []
    if resuming:
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        objective.load_state(state)
        start_epoch, history, resumes = resume_point(state, config)

    size = min(config.epoch_size or samples, samples)
    steps_per_epoch = math.ceil(size / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    reporter = EpochReporter(
        config.epochs, steps_per_epoch, out_dir / "log.txt", quiet=not world.is_main, json_lines=json_lines
    )
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng(config.seed * 1000 + epoch)
        started = time.time()
        totals = Totals()
        reporter.start_epoch(epoch)
        plan = epoch_batches(samples, config.batch_size, rng, config.epoch_size, world)
        for i, idx in enumerate(plan):
            step = epoch * steps_per_epoch + i
            factor = cosine_lr(step, total_steps, 1.0, objective.lr_min_ratio, config.warmup_steps)
            set_learning_rates(objective.schedule(), factor)
            totals.add(objective.step(Batch(idx, rng, step)))
            reporter.step(i + 1, totals.means(i + 1))
        record: dict[str, Any] = {
            "epoch": epoch,
            "seconds": round(time.time() - started, 1),
            **{f"train_{k}": round(v, 4) for k, v in totals.means(len(plan)).items()},
        }
        if world.is_main:
            record.update(objective.validate())
            history.append(record)
            state = {
                **objective.state(),
                "epoch": epoch,
                "config": json.dumps(asdict(config)),  # type: ignore[call-overload]
                "history": json.dumps(history),
                "resumes": json.dumps(resumes),
            }
            atomic_torch_save(state, ckpt_path)
            reporter.end_epoch(record)
        barrier(world)
    reporter.close()
    return ckpt_path
