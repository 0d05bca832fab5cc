"""Training the variable-rate face codec: the codec objective of the training engine.

Every sample gets a quality ``q`` drawn from ``quality_range``; the loss is rate +
distortion (:mod:`.codec_loss`), plus, as configured, the expression terms of
:mod:`.task_loss` (a classifier, frozen or, in joint runs, trained along on decoded and
original faces), the expression code's term and the panel and realism terms of
:mod:`.panel_term`. The EntropyBottleneck quantiles train on their auxiliary loss with a
second optimiser. Epochs, schedule, logs, checkpoints and ``--resume`` are the engine's
(:mod:`.engine`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import registry
from ..errors import DatasetError, TrainingError
from ..evaluate import psnr_from_mse
from ..models.hyperprior import lambda_for_quality
from ..quality import QUALITY_MAX, QUALITY_MIN
from . import engine
from .augment import random_affine, random_degrade
from .codec_loss import codec_forward, detail_mse, evaluate_codec, semantic_term
from .data import load_faces
from .ema import WeightAverage
from .init_weights import load_initial
from .loop import to_tensor
from .panel_term import PanelAgreement, Realism
from .task_loss import TaskTerm, TaskWeights
from .warm_start import is_guided, load_guide, missing_guide


@dataclass
class CodecTrainConfig:
    """Everything that defines a codec training run (stored in checkpoints).

    With ``classifier`` set, the loss gains the expression terms of
    :mod:`.task_loss` (standalone: that classifier frozen; ``joint``: trained
    along on decoded and original faces).
    """

    data: str
    model: str = "face-hp-v1"  # as `facecodec train codec`: trains from scratch without a guide
    split: str | None = "train"
    val_split: str | None = "val"
    val_limit: int = 512
    epochs: int = 40
    epoch_size: int | None = None  # samples per epoch (None: the whole split)
    batch_size: int = 32
    lr: float = 5e-4
    lr_min_ratio: float = 0.02
    warmup_steps: int = 300
    lmbda_min: float = 4e-4
    lmbda_max: float = 5e-2
    quality_range: tuple[float, float] = (QUALITY_MIN, QUALITY_MAX)  # qualities drawn in training
    quality_power: float = 1.0  # q = lo + (hi - lo) * u**power: > 1 favours low qualities
    augment: bool = False  # random rotation/scale/shift on top of the flips (see augment.random_affine)
    init: str | None = None  # codec weights to start from (name, .safetensors, .pt)
    guide_init: str | None = None  # guided codecs: the classifier whose trunk guides the encoder
    guide_lr_scale: float = 1.0  # guided codecs: learning-rate multiplier of the guide projection
    classifier: str | None = None  # classifier architecture: enables the task term
    classifier_init: str | None = None  # its weights (default: its own shipped weights)
    joint: bool = False
    classifier_lr: float = 5e-4
    task_weight: float = 0.1
    feature_weight: float = 0.0
    original_weight: float = 1.0
    freeze_codec: bool = False  # joint: only the classifier learns, on the frozen codec's decoded faces
    classifier_ema: float | None = None  # joint: keep an EMA of the classifier (decay), saved as the classifier
    agreement_weight: float = 0.0
    consistency_weight: float = 0.0  # joint: KL(classifier on original ‖ on decoded) in the classifier's loss
    degrade: float = 0.0  # joint: share of the classifier's original faces degraded (augment.random_degrade)
    semantic_weight: float = 0.0  # codecs with an expression code: KL(guide ‖ code head), nats → bpp
    panel: list[str] = field(default_factory=list)  # training-panel recognizers for the agreement term
    panel_weight: float = 0.0  # bpp per nat of the panel's mean KL (original view ‖ decoded view)
    panel_noise: float = 0.0  # σ of the Gaussian noise added to both views the panel reads
    panel_feature_weight: float = 0.0  # bpp per unit of the panel's feature-map distance
    detail_weight: float = 0.0  # the detail floor: bpp per 255²·MSE of the fine detail, every quality
    adversarial_weight: float = 0.0  # bpp per nat of the discriminator's non-saturating loss
    feature_match_weight: float = 0.0  # bpp per unit of the discriminator feature-matching distance
    discriminator_lr: float = 2e-4
    task_balance: float | None = None
    amp: bool = False  # bfloat16 autocast for the transforms (CUDA)
    seed: int = 0
    out: str = "runs/codec"
    device: str = "auto"
    val_qualities: list[float] = field(default_factory=lambda: [1.0, 4.0, 8.0])


def _build(
    config: CodecTrainConfig, device: torch.device, resuming: bool
) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """The codec and the classifier (if any), with their starting weights unless ``resuming``."""
    model = registry.build_architecture(registry.codec_spec(config.model))
    guide_ready = resuming or not is_guided(model)
    if config.init and not resuming:
        guide_ready = not missing_guide(load_initial(model, config.init)) or guide_ready
    if config.guide_init and not resuming:
        if not is_guided(model):
            raise TrainingError(f"{config.model} has no encoder guide; --guide-init is for guided codecs")
        guide = registry.build_architecture(registry.get_spec(config.classifier or registry.DEFAULT_CLASSIFIER))
        load_initial(guide, config.guide_init, key="classifier")
        load_guide(model, guide)
        guide_ready = True
    classifier = None
    if config.classifier:
        spec = registry.get_spec(config.classifier)
        classifier = registry.build_architecture(spec)
        if not resuming:
            load_initial(classifier, config.classifier_init or config.classifier, key="classifier")
    if config.semantic_weight and not hasattr(model, "sem_head"):
        raise TrainingError(f"{config.model} has no expression code; --semantic-weight is for face-fer-v3 and later")
    if not guide_ready:
        raise TrainingError(
            f"{config.model} needs --guide-init: the trained classifier whose first stages guide its encoder"
        )
    return model.to(device), classifier.to(device) if classifier is not None else None


#: weights a guided codec adds to its start (zero or random): they learn ``guide_lr_scale`` × faster
FAST_PREFIXES = ("guide_proj.", "sem_proj.", "sem_log_gain", "sem_head.")


def _param_groups(model: torch.nn.Module, guide_lr_scale: float) -> list[dict]:
    """The codec's trainable weights; a guided codec's projection (and an expression code's
    layers) learn ``guide_lr_scale`` × faster (the projection starts at zero and must grow large
    enough to survive quantisation at low qualities)."""
    plain, guide = [], []
    for name, p in model.named_parameters():
        if p.requires_grad and not name.endswith(".quantiles"):
            (guide if name.startswith(FAST_PREFIXES) else plain).append(p)
    groups = [{"params": plain, "lr_scale": 1.0}]
    if guide:
        groups.append({"params": guide, "lr_scale": guide_lr_scale})
    return groups


def _draw_qualities(rng: np.random.Generator, span: tuple[float, float], power: float, n: int) -> np.ndarray:
    lo, hi = span
    return lo + (hi - lo) * rng.random(n) ** power


def check_config(config: CodecTrainConfig) -> None:
    """Refuse inconsistent options before anything is loaded or written."""
    if config.joint and not config.classifier:
        raise TrainingError("joint training needs a classifier (--classifier)")
    if (config.freeze_codec or config.classifier_ema or config.consistency_weight or config.degrade) and not config.joint:
        raise TrainingError("--freeze-codec, --classifier-ema, --consistency-weight and --degrade are for joint training")
    if not 0 <= config.degrade <= 1:
        raise TrainingError(f"--degrade is a share of the faces, in [0, 1], got {config.degrade:g}")
    lo, hi = config.quality_range
    registry.codec_spec(config.model)  # a codec, or one line naming the codecs
    if not QUALITY_MIN <= lo <= hi <= QUALITY_MAX:
        raise TrainingError(f"quality range of {config.model} is [{QUALITY_MIN:g}, {QUALITY_MAX:g}], got {lo:g},{hi:g}")
    if any(not QUALITY_MIN <= q <= QUALITY_MAX for q in config.val_qualities):
        raise TrainingError(f"validation qualities of {config.model} lie in [{QUALITY_MIN:g}, {QUALITY_MAX:g}]")


class CodecObjective:
    """The codec's loss and, in joint runs, its classifier's; the discriminator's with realism terms.

    Checkpoint entries: ``model``, ``optimizer``, ``aux_optimizer``; with a classifier
    ``classifier`` (with an EMA: the average, and the raw weights as ``classifier_raw``) and
    ``task_state``; joint: ``classifier_optimizer``; realism: ``discriminator``,
    ``discriminator_optimizer``.
    """

    def __init__(self, config: CodecTrainConfig) -> None:
        self.config = config
        self.lr_min_ratio = config.lr_min_ratio

    def setup(self, run: engine.Run, resuming: bool) -> int:
        config, device = self.config, run.device
        self.run = run
        self.train_set = load_faces(config.data, config.split)
        if config.classifier and self.train_set.labels is None:
            raise DatasetError(f"{config.data}: the expression term needs labelled data")
        self.val = load_faces(config.data, config.val_split).subset(config.val_limit) if config.val_split else None
        self.model, self.classifier = model, classifier = _build(config, device, resuming)
        self.aux_params = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
        groups = _param_groups(model, config.guide_lr_scale)  # a guided codec's classifier trunk is frozen
        self.main_params = [p for group in groups for p in group["params"]]
        self.optimizer = torch.optim.Adam(groups, lr=config.lr)
        self.aux_optimizer = torch.optim.Adam(self.aux_params, lr=1e-3)
        self.task: TaskTerm | None = None
        self.cls_optimizer: torch.optim.Optimizer | None = None
        self.cls_params: list[torch.nn.Parameter] = []
        if classifier is not None:
            weights = TaskWeights(
                config.task_weight, config.feature_weight, config.original_weight,
                config.agreement_weight, config.task_balance, consistency=config.consistency_weight,
            )  # fmt: skip
            self.task = TaskTerm(classifier, weights, joint=config.joint)
            if config.joint:
                classifier.train()
                self.cls_params = list(classifier.parameters())
                self.cls_optimizer = torch.optim.AdamW(self.cls_params, lr=config.classifier_lr, weight_decay=0.05)
        self.average = WeightAverage(classifier, config.classifier_ema) if config.classifier_ema else None
        if config.panel_weight and not config.panel:
            raise TrainingError("--panel-weight needs --panel: the training-panel recognizers to agree with")
        if config.panel_feature_weight and not config.panel_weight:
            raise TrainingError("--panel-feature-weight goes with --panel-weight (the panel's agreement term)")
        self.panel = (
            PanelAgreement(config.panel, device, noise=config.panel_noise, features=bool(config.panel_feature_weight))
            if config.panel_weight else None
        )  # fmt: skip
        realism = config.adversarial_weight or config.feature_match_weight
        self.realism = Realism(device, config.discriminator_lr) if realism else None
        self.amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.amp)
        model.train(not config.freeze_codec)  # frozen: the decoded faces are the real (rounded) ones
        return len(self.train_set)

    def schedule(self) -> list[tuple[torch.optim.Optimizer, float]]:
        out: list[tuple[torch.optim.Optimizer, float]] = [(self.optimizer, self.config.lr)]
        if self.cls_optimizer is not None:
            out.append((self.cls_optimizer, self.config.classifier_lr))
        return out

    def step(self, batch: engine.Batch) -> dict[str, float]:
        config, device, model, task = self.config, self.run.device, self.model, self.task
        idx, rng = batch.indices, batch.rng
        if config.augment:  # random_affine flips too
            x = random_affine(to_tensor(self.train_set.images[idx], device), rng)
        else:
            x = to_tensor(self.train_set.images[idx], device, flip=rng.random(len(idx)) < 0.5)
        quality = torch.as_tensor(
            _draw_qualities(rng, config.quality_range, config.quality_power, len(idx)),
            dtype=torch.float32, device=device,
        )  # fmt: skip
        lmbda = lambda_for_quality(quality, config.lmbda_min, config.lmbda_max)
        with self.amp, torch.set_grad_enabled(not config.freeze_codec):
            out, terms = codec_forward(model, x, quality, lmbda)
        loss = terms["loss"]
        code = semantic_term(out) if config.semantic_weight else None
        if code is not None:
            loss = loss + config.semantic_weight * code["kl"]
        logs = {"loss": float(loss.detach()), "bpp": float(terms["bpp"].detach()),
                "psnr": psnr_from_mse(max(float(terms["mse"].detach()), 1e-10), peak=1.0)}  # fmt: skip
        if code is not None:  # acc_sem: how often the code head's top-1 is the guide's
            logs.update({"sem_kl": float(code["kl"].detach()), "acc_sem": float(code["agree"])})
        x_hat = out["x_hat"].clamp(0, 1)
        if config.detail_weight:
            detail = detail_mse(x, x_hat)
            loss = loss + config.detail_weight * 255**2 * detail
            logs["detail_psnr"] = psnr_from_mse(max(float(detail.detach()), 1e-10), peak=1.0)
        if self.panel is not None:
            agreement = self.panel(x, x_hat, rng)
            loss = loss + config.panel_weight * agreement["kl"]
            logs.update({"panel_kl": float(agreement["kl"].detach()), "panel_agree": float(agreement["agree"])})
            if "features" in agreement:
                loss = loss + config.panel_feature_weight * agreement["features"]
                logs["panel_feat"] = float(agreement["features"].detach())
        if self.realism is not None:
            real = self.realism.codec_terms(x, x_hat)
            loss = loss + config.adversarial_weight * real["adv"] + config.feature_match_weight * real["fm"]
            logs.update({"adv": float(real["adv"].detach()), "fm": float(real["fm"].detach())})
        self.optimizer.zero_grad(set_to_none=True)
        if task is not None:
            labels = torch.as_tensor(self.train_set.labels[idx], device=device)
            # the classifier's view of the originals: some degraded (its decoded view is x_hat)
            view = random_degrade(x, rng, config.degrade) if config.degrade else x
            with self.amp:
                extra = task(view, out["x_hat"].clamp(0, 1), labels, terms["loss"].detach())
            loss = loss + extra["codec"]
            logs.update({k: float(extra[k]) for k in ("ce_hat", "acc_hat", "acc_orig", "agree") if k in extra})
            if task.weights.balance is not None:
                logs["task_scale"] = task.scale
            if self.cls_optimizer is not None:  # both backward passes before either step
                self.cls_optimizer.zero_grad(set_to_none=True)
                extra["classifier"].backward(inputs=self.cls_params, retain_graph=not config.freeze_codec)
        if not config.freeze_codec:  # the codec's step, then its entropy models' quantiles
            loss.backward(inputs=self.main_params)
            self.run.apply_gradients(self.optimizer, self.main_params, clip=1.0)
            self.aux_optimizer.zero_grad(set_to_none=True)
            model.aux_loss().backward()
            self.run.apply_gradients(self.aux_optimizer, self.aux_params)
        if self.realism is not None:
            logs["disc"] = self.realism.step(x, x_hat)
        if self.cls_optimizer is not None:
            self.run.apply_gradients(self.cls_optimizer, self.cls_params)
            if self.average is not None:
                self.average.update(self.classifier)
        return logs

    def _reading_classifier(self) -> torch.nn.Module | None:
        """The classifier validation reads and the checkpoint names the run's: with an EMA, the average."""
        return self.average.module if self.average is not None else self.classifier

    def validate(self) -> dict[str, Any]:
        if self.val is None:
            return {}
        val = evaluate_codec(
            self.model, self.val.images, self.config.val_qualities, self.run.device,
            self._reading_classifier(), self.val.labels,
        )  # fmt: skip
        return {"val": val}

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "aux_optimizer": self.aux_optimizer.state_dict(),
        }
        if self.classifier is not None and self.task is not None:
            state["classifier"] = self._reading_classifier().state_dict()  # type: ignore[union-attr]
            if self.average is not None:
                state["classifier_raw"] = self.classifier.state_dict()
            state["task_state"] = json.dumps(self.task.state())
        if self.cls_optimizer is not None:
            state["classifier_optimizer"] = self.cls_optimizer.state_dict()
        if self.realism is not None:
            state.update(self.realism.state())
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.aux_optimizer.load_state_dict(state["aux_optimizer"])
        if self.classifier is not None and self.task is not None:
            self.classifier.load_state_dict(state.get("classifier_raw", state["classifier"]))
            if self.average is not None:
                self.average.module.load_state_dict(state["classifier"])
            self.task.load_state(json.loads(state.get("task_state", "{}")))
        if self.realism is not None and "discriminator" in state:
            self.realism.load_state(state)
        if self.cls_optimizer is not None:
            self.cls_optimizer.load_state_dict(state["classifier_optimizer"])


def train_codec(config: CodecTrainConfig, resume: bool = False, json_lines: bool = False) -> Path:
    """Train (or resume) a codec, optionally with the expression terms; returns the checkpoint."""
    check_config(config)
    return engine.run(CodecObjective(config), config, resume=resume, json_lines=json_lines)
