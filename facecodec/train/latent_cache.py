"""Inputs of a latent head's training, computed once and kept in memory.

Training a latent head online runs the frozen codec's analysis transform and
(for distillation) the synthesis transform and the teacher on every batch,
several times the work of the head itself. With a cache, each training face
gets ``views`` augmented versions (random affine jitter and flips, as online);
each view goes once through ``g_a`` and is quantised at ``qualities_per_view``
qualities drawn uniformly from [1, 8], and the teacher classifies the view
itself (the original pixels, not a decoded image: the head learns to say what
the classifier says on the clean face). An epoch then draws, per face, one of
its cached (view, quality) latents: a training step costs only the head.

With ``maps`` the teacher's stage map of each view is kept too (float16),
for heads trained to match it: 1.3 GB more for 5 views of FER2013 (128×6×6).

Memory: ``views · qualities_per_view · N`` latents in float16, 4.0 GB for
5 × 4 × 28,709 FER2013 faces with a 96×6×6 latent (6.9 KB each).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from ..quality import QUALITY_MAX, QUALITY_MIN
from .augment import random_affine
from .loop import batches, to_tensor


class LatentCache:
    """Cached latents, teacher logits and (optionally) teacher stage maps for every training face.

    ``teacher`` is used as given (eval mode; the trainer passes an
    ``inference_copy``, BatchNorm folded and channels-last).
    """

    def __init__(
        self,
        codec: torch.nn.Module,
        images: np.ndarray,
        views: int,
        qualities_per_view: int,
        device: torch.device,
        teacher: torch.nn.Module | None = None,
        seed: int = 0,
        batch: int = 256,
        progress: bool = True,
        maps: bool = False,
    ) -> None:
        rng = np.random.default_rng(seed + 7919)
        n, variants = len(images), views * qualities_per_view
        codec = codec.eval()
        self.latents: torch.Tensor | None = None
        self.logits: torch.Tensor | None = None
        self.maps: torch.Tensor | None = None
        self.qualities = torch.empty((variants, n))
        steps = list(batches(n, batch, None))
        bar = _Bar(views * len(steps), "caching latents", progress)
        with torch.no_grad():
            for v in range(views):
                for idx in steps:
                    x = random_affine(to_tensor(images[idx], device), rng)
                    y = codec.analysis(x)
                    for p in range(qualities_per_view):
                        q = rng.uniform(QUALITY_MIN, QUALITY_MAX, len(idx))
                        y_hat = codec.quantized_latent(y, torch.as_tensor(q, dtype=torch.float32, device=device))
                        if self.latents is None:
                            self.latents = torch.empty((variants, n, *y_hat.shape[1:]), dtype=torch.float16)
                        self.latents[v * qualities_per_view + p, idx] = y_hat.half().cpu()
                        self.qualities[v * qualities_per_view + p, idx] = torch.as_tensor(q, dtype=torch.float32)
                    if teacher is not None:
                        xs = x.contiguous(memory_format=torch.channels_last)
                        logits = teacher(xs).float().cpu()
                        if self.logits is None:
                            self.logits = torch.empty((views, n, logits.shape[1]))
                        self.logits[v, idx] = logits
                        if maps:
                            stage = teacher.stage_map(xs).half().cpu()
                            if self.maps is None:
                                self.maps = torch.empty((views, n, *stage.shape[1:]), dtype=torch.float16)
                            self.maps[v, idx] = stage
                    bar.update(1)
        bar.close()
        self.views, self.qualities_per_view, self.device = views, qualities_per_view, device

    def batch(
        self, idx: np.ndarray, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """One random cached variant per face of ``idx``: (latents, qualities, teacher logits, teacher maps)."""
        variant = rng.integers(0, self.views * self.qualities_per_view, len(idx))
        t_idx = torch.from_numpy(idx)
        v_idx = torch.from_numpy(variant)
        features = self.latents[v_idx, t_idx].float().to(self.device)
        quality = self.qualities[v_idx, t_idx].to(self.device)
        logits = maps = None
        view = v_idx // self.qualities_per_view
        if self.logits is not None:
            logits = self.logits[view, t_idx].to(self.device)
        if self.maps is not None:
            maps = self.maps[view, t_idx].float().to(self.device)
        return features, quality, logits, maps


class _Bar:
    """A rich bar on a terminal; otherwise one line at the start and at the end."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self._progress = None
        self.label, self.t0 = label, time.time()
        self.done, self.total = 0, max(1, total)
        if enabled and sys.stderr.isatty():
            from rich.progress import Progress

            self._progress = Progress(transient=True)
            self._progress.start()
            self._task = self._progress.add_task(label, total=total)
        elif enabled:
            print(f"{label}: {total} batches", file=sys.stderr, flush=True)
        self.enabled = enabled

    def update(self, n: int) -> None:
        before, self.done = self.done, self.done + n
        if self._progress is not None:
            self._progress.update(self._task, advance=n)
        elif self.enabled and 10 * self.done // self.total > 10 * before // self.total:
            print(f"{self.label}: {self.done}/{self.total} ({time.time() - self.t0:.0f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self.enabled:
            print(f"{self.label}: done in {time.time() - self.t0:.0f} s", file=sys.stderr, flush=True)
