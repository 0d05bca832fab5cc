"""Training expression classifiers: on pixels, or on a codec's latent.

Pixel classifiers (``kind="classifier"``) learn from original faces.
Latent heads (``kind="latent-classifier"``) learn from the decoded latent
``y_hat`` of their codec (frozen, shipped weights) at a quality drawn
uniformly from [1, 8] per sample: the same loop, only the input differs. With a
``teacher`` (a pixel classifier) the loss adds distillation towards the
teacher's prediction on the decoded image, so the head learns to agree with
decode-then-classify::

    L = (1 − α)·CE(s, label) + α·T²·KL(softmax(t/T) ‖ softmax(s/T)),  T = 2

With ``cache_views`` the latents are computed once, before the first epoch,
for several augmented views of each face (:mod:`.latent_cache`), and the
teacher then labels each view's own pixels rather than its decoded image.

Heads that end in the teacher's last stage (``LatentTailNet``) start with that
stage's weights, and ``feature_weight`` (μ) adds a match between the head's
stage map ``m`` and the teacher's ``m_t`` on the same view (relative squared
error, so μ does not depend on the features' scale)::

    L += μ · ‖m − m_t‖² / ‖m_t‖²

Cross-entropy with label smoothing, AdamW, random affine jitter and flips: the classifier
objective of the training engine (:mod:`.engine`: warm-up + cosine schedule, checkpoints,
resume, reports and torchrun, as for the codec).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .. import registry
from ..errors import DatasetError, TrainingError
from ..models.inference import inference_copy
from ..quality import QUALITY_MAX, QUALITY_MIN
from . import engine
from .augment import random_affine
from .data import load_faces
from .init_weights import load_initial
from .latent_cache import LatentCache
from .loop import to_tensor, top1_accuracy

DISTILL_TEMPERATURE = 2.0


@dataclass
class ClassifierTrainConfig:
    """Everything that defines a classifier training run (stored in checkpoints)."""

    data: str
    model: str = "fer-cnn-joint-v4"
    split: str | None = "train"
    val_split: str | None = "val"
    epochs: int = 40
    epoch_size: int | None = None
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    warmup_steps: int = 300
    init: str | None = None  # weights to start from (name, .safetensors, .pt)
    teacher: str | None = None  # pixel classifier to distil from (latent heads)
    distill_weight: float = 0.5
    feature_weight: float = 0.0  # latent heads with a stage map: weight of the match to the teacher's map
    cache_views: int = 0  # latent heads: augmented views per face cached in memory (0 = online)
    cache_qualities: int = 4  # qualities per cached view
    seed: int = 0
    out: str = "runs/classifier"
    device: str = "auto"
    val_qualities: list[float] = field(default_factory=lambda: [1.0, 4.0, 8.0])


class _Inputs:
    """Turns a batch of faces into the model's input: pixels, or a codec's latent."""

    def __init__(self, spec: registry.ModelSpec, device: torch.device) -> None:
        self.codec = None
        if spec.kind == "latent-classifier":
            self.codec = registry.create_model(spec.codec, device=device)
        self.device = device

    def __call__(self, x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        return x if self.codec is None else self.codec.latent(x, quality)

    def training_batch(
        self, images: np.ndarray, rng: np.random.Generator, teacher: torch.nn.Module | None, maps: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Augmented inputs (latents at random qualities), the qualities, the teacher's logits on what they
        show and (``maps``) the teacher's stage map of the same view's pixels."""
        x = random_affine(to_tensor(images, self.device), rng)
        quality = torch.as_tensor(
            rng.uniform(QUALITY_MIN, QUALITY_MAX, len(images)), dtype=torch.float32, device=self.device
        )
        features = self(x, quality)
        teacher_logits = teacher_maps = None
        if teacher is not None:
            with torch.no_grad():
                teacher_logits = teacher(self.decoded(features))
                teacher_maps = teacher.stage_map(x) if maps else None
        return features, quality, teacher_logits, teacher_maps

    def logits(self, model: torch.nn.Module, features: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
        """``model`` on its inputs: latent heads also get the qualities."""
        return model(features) if self.codec is None else model(features, quality)

    def decoded(self, inputs: torch.Tensor) -> torch.Tensor:
        """The pixels a decoder would show for ``inputs`` (the teacher's view)."""
        if self.codec is None:
            return inputs
        with torch.no_grad():
            return self.codec.g_s(inputs).clamp(0, 1)


def accuracy(
    model: torch.nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    device: torch.device,
    inputs: _Inputs | None = None,
    quality: float = 4.0,
) -> float:
    """Top-1 accuracy of ``model`` on uint8 images (N, H, W, C) (latent heads: at ``quality``)."""
    if inputs is None or inputs.codec is None:
        return top1_accuracy(model, images, labels, device, batch=512)
    return top1_accuracy(_AtQuality(model, inputs, quality), images, labels, device, batch=512)


class _AtQuality(torch.nn.Module):
    """A latent head fed with its codec's latent of the input faces, all at one quality."""

    def __init__(self, head: torch.nn.Module, inputs: _Inputs, quality: float) -> None:
        super().__init__()
        self.head, self.inputs, self.quality = head, inputs, quality
        self.train(head.training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.full((len(x),), self.quality, device=x.device)
        return self.head(self.inputs(x, q), q)


def _map_loss(stage_map: torch.Tensor, teacher_map: torch.Tensor) -> torch.Tensor:
    """Relative squared error of a head's stage map against the teacher's."""
    return (stage_map - teacher_map).pow(2).mean() / teacher_map.pow(2).mean().clamp_min(1e-12)


def _loss(logits, labels, teacher_logits, config: ClassifierTrainConfig) -> torch.Tensor:
    loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
    if teacher_logits is None:
        return loss
    t = DISTILL_TEMPERATURE
    kl = F.kl_div(
        F.log_softmax(logits / t, 1),
        F.log_softmax(teacher_logits / t, 1),
        log_target=True,
        reduction="batchmean",
    )
    return (1 - config.distill_weight) * loss + config.distill_weight * t * t * kl


class ClassifierObjective:
    """A pixel classifier's or latent head's loss. Checkpoint entries: ``model``, ``optimizer``."""

    lr_min_ratio = 0.01

    def __init__(self, config: ClassifierTrainConfig) -> None:
        self.config = config

    def setup(self, run: engine.Run, resuming: bool) -> int:
        config, device = self.config, run.device
        self.run = run
        self.train_set = train_set = load_faces(config.data, config.split)
        if train_set.labels is None:
            raise DatasetError(f"{config.data}: classifier training needs labels")
        self.val = load_faces(config.data, config.val_split) if config.val_split else None
        spec = registry.classifier_spec(config.model)
        self.inputs = inputs = _Inputs(spec, device)
        model = registry.build_architecture(spec).to(device)
        if inputs.codec is None:  # pixel classifiers: NHWC convolutions are about 1.5–2.5× faster on CPUs
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.teacher = raw_teacher = None
        if config.teacher:
            raw_teacher = registry.create_model(registry.classifier_spec(config.teacher).name, device=device)
            # BatchNorm folded, channels-last: same logits, about 1.7x faster
            self.teacher = inference_copy(raw_teacher)
        self.match_maps = config.feature_weight > 0
        if self.match_maps and not (
            hasattr(model, "classify_map") and self.teacher is not None and hasattr(self.teacher, "stage_map")
        ):
            raise TrainingError(
                "--feature-weight needs a head with a stage map (LatentTailNet) and a --teacher pixel classifier"
            )
        self.cache = None
        if config.cache_views:
            if inputs.codec is None:
                raise TrainingError("--cache-views is for latent heads (a codec's latent), not pixel classifiers")
            self.cache = LatentCache(
                inputs.codec, train_set.images, config.cache_views, config.cache_qualities, device, self.teacher,
                config.seed, progress=run.world.is_main and not run.json_lines, maps=self.match_maps,
            )  # fmt: skip
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.params = list(model.parameters())
        if not resuming:  # else the engine loads the checkpoint
            if config.init:
                load_initial(model, config.init)
            elif raw_teacher is not None and hasattr(model, "init_from"):
                model.init_from(raw_teacher)  # a head ending in the teacher's last stage starts from it
        model.train()
        return len(train_set)

    def schedule(self) -> list[tuple[torch.optim.Optimizer, float]]:
        return [(self.optimizer, self.config.lr)]

    def step(self, batch: engine.Batch) -> dict[str, float | tuple[float, float]]:
        config, model, idx = self.config, self.model, batch.indices
        if self.cache is not None:
            features, quality, teacher_logits, teacher_maps = self.cache.batch(idx, batch.rng)
        else:
            features, quality, teacher_logits, teacher_maps = self.inputs.training_batch(
                self.train_set.images[idx], batch.rng, self.teacher, self.match_maps
            )
        y = torch.as_tensor(self.train_set.labels[idx], device=self.run.device)
        if self.match_maps:
            stage_map = model.stage_map(features, quality)
            logits = model.classify_map(stage_map)
            loss = _loss(logits, y, teacher_logits, config)
            loss = loss + config.feature_weight * _map_loss(stage_map, teacher_maps)
        else:
            logits = self.inputs.logits(model, features, quality)
            loss = _loss(logits, y, teacher_logits, config)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.run.apply_gradients(self.optimizer, self.params)
        return {"loss": float(loss.detach()), "acc": (int((logits.argmax(1) == y).sum()), len(idx))}

    def validate(self) -> dict[str, Any]:
        val, device = self.val, self.run.device
        if val is None or val.labels is None:
            return {}
        if self.inputs.codec is None:
            return {"val_acc": round(accuracy(self.model, val.images, val.labels, device), 4)}
        return {
            f"val_acc_q{q:g}": round(accuracy(self.model, val.images, val.labels, device, self.inputs, q), 4)
            for q in self.config.val_qualities
        }

    def state(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])


def train_classifier(config: ClassifierTrainConfig, resume: bool = False, json_lines: bool = False) -> Path:
    """Train (or resume) a classifier or latent head; returns the path of the last checkpoint."""
    return engine.run(ClassifierObjective(config), config, resume=resume, json_lines=json_lines)
