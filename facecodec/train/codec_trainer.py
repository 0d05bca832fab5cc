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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .. import registry
from ..errors import DatasetError, TrainingError
from ..evaluate import psnr_from_mse
from ..models.hyperprior import lambda_for_quality
from ..quality import QUALITY_MAX, QUALITY_MIN
from .augment import random_affine, random_degrade
from .codec_loss import codec_forward, evaluate_codec, semantic_term
from .data import load_faces
from .distributed import average_gradients, barrier
from .ema import WeightAverage
from .init_weights import load_initial
from .loop import (
    EpochReporter,
    atomic_torch_save,
    cosine_lr,
    epoch_batches,
    start_run,
    to_tensor,
)
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
) -> tuple[torch.nn.Module, torch.nn.Module | None, bool]:
    """The codec and the classifier (if any), and whether the codec's guide (if any) has trained weights."""
    model = registry.build_architecture(registry.codec_spec(config.model))
    guide_ready = resuming or not is_guided(model)
    if config.init:
        guide_ready = not missing_guide(load_initial(model, config.init)) or guide_ready
    if config.guide_init:
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
        load_initial(classifier, config.classifier_init or config.classifier, key="classifier")
    return model.to(device), classifier.to(device) if classifier is not None else None, guide_ready


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


def train_codec(config: CodecTrainConfig, resume: bool = False, json_lines: bool = False) -> Path:
    """Train (or resume) a codec, optionally with the expression terms; returns the checkpoint."""
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
    out_dir, ckpt_path, device, world = start_run(config.out, config.device, config.seed)

    train_set = load_faces(config.data, config.split)
    if config.classifier and train_set.labels is None:
        raise DatasetError(f"{config.data}: the expression term needs labelled data")
    val = None
    if config.val_split:
        val = load_faces(config.data, config.val_split).subset(config.val_limit)

    resuming = resume and ckpt_path.exists()
    model, classifier, guide_ready = _build(
        replace(config, init=None, classifier_init=None, guide_init=None) if resuming else config, device, resuming
    )
    aux_params = [p for n, p in model.named_parameters() if n.endswith(".quantiles")]
    groups = _param_groups(model, config.guide_lr_scale)  # a guided codec's classifier trunk is frozen
    main_params = [p for group in groups for p in group["params"]]
    optimizer = torch.optim.Adam(groups, lr=config.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=1e-3)
    task, cls_optimizer, cls_params = None, None, []
    if classifier is not None:
        weights = TaskWeights(
            config.task_weight, config.feature_weight, config.original_weight,
            config.agreement_weight, config.task_balance, consistency=config.consistency_weight,
        )  # fmt: skip
        task = TaskTerm(classifier, weights, joint=config.joint)
        if config.joint:
            classifier.train()
            cls_params = list(classifier.parameters())
            cls_optimizer = torch.optim.AdamW(
                cls_params, lr=config.classifier_lr, weight_decay=0.05
            )
    average = WeightAverage(classifier, config.classifier_ema) if config.classifier_ema else None
    if config.panel_weight and not config.panel:
        raise TrainingError("--panel-weight needs --panel: the training-panel recognizers to agree with")
    panel = PanelAgreement(config.panel, device) if config.panel_weight else None
    realism = Realism(device, config.discriminator_lr) if (config.adversarial_weight or config.feature_match_weight) else None
    start_epoch, history, resumes = 0, [], []
    if resuming:
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        aux_optimizer.load_state_dict(state["aux_optimizer"])
        if classifier is not None:
            classifier.load_state_dict(state.get("classifier_raw", state["classifier"]))
            if average is not None:
                average.module.load_state_dict(state["classifier"])
            task.load_state(json.loads(state.get("task_state", "{}")))
        if realism is not None and "discriminator" in state:
            realism.load_state(state)
        if cls_optimizer is not None:
            cls_optimizer.load_state_dict(state["classifier_optimizer"])
        start_epoch, history = state["epoch"] + 1, json.loads(state["history"])
        resumes = json.loads(state.get("resumes", "[]"))
        before = json.loads(state["config"])
        now = json.loads(json.dumps(asdict(config)))  # tuples as lists, as stored
        changed = {k: [before.get(k), v] for k, v in now.items() if k in before and before[k] != v}
        if changed:  # recorded so that exported weights say how they were really trained
            resumes.append({"from_epoch": start_epoch, "changed": changed})

    if config.semantic_weight and not hasattr(model, "sem_head"):
        raise TrainingError(f"{config.model} has no expression code; --semantic-weight is for face-fer-v3 and later")
    if not guide_ready:
        raise TrainingError(
            f"{config.model} needs --guide-init: the trained classifier whose first stages guide its encoder"
        )
    size = min(config.epoch_size or len(train_set), len(train_set))
    steps_per_epoch = math.ceil(size / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    reporter = EpochReporter(
        config.epochs, steps_per_epoch, out_dir / "log.txt", quiet=not world.is_main, json_lines=json_lines
    )
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.amp)
    model.train(not config.freeze_codec)  # frozen: the decoded faces are the real (rounded) ones
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng(config.seed * 1000 + epoch)
        started = time.time()
        sums: dict[str, float] = {}
        reporter.start_epoch(epoch)
        plan = epoch_batches(len(train_set), config.batch_size, rng, config.epoch_size, world)
        for i, idx in enumerate(plan):
            step = epoch * steps_per_epoch + i
            lr_factor = cosine_lr(step, total_steps, 1.0, config.lr_min_ratio, config.warmup_steps)
            for group in optimizer.param_groups:
                group["lr"] = config.lr * lr_factor * group.get("lr_scale", 1.0)
            if cls_optimizer is not None:
                for group in cls_optimizer.param_groups:
                    group["lr"] = config.classifier_lr * lr_factor
            if config.augment:  # random_affine flips too
                x = random_affine(to_tensor(train_set.images[idx], device), rng)
            else:
                x = to_tensor(train_set.images[idx], device, flip=rng.random(len(idx)) < 0.5)
            quality = torch.as_tensor(
                _draw_qualities(rng, config.quality_range, config.quality_power, len(idx)),
                dtype=torch.float32, device=device,
            )  # fmt: skip
            lmbda = lambda_for_quality(quality, config.lmbda_min, config.lmbda_max)
            with amp, torch.set_grad_enabled(not config.freeze_codec):
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
            if panel is not None:
                agreement = panel(x, x_hat, rng)
                loss = loss + config.panel_weight * agreement["kl"]
                logs.update({"panel_kl": float(agreement["kl"].detach()), "panel_agree": float(agreement["agree"])})
            if realism is not None:
                real = realism.codec_terms(x, x_hat)
                loss = loss + config.adversarial_weight * real["adv"] + config.feature_match_weight * real["fm"]
                logs.update({"adv": float(real["adv"].detach()), "fm": float(real["fm"].detach())})
            optimizer.zero_grad(set_to_none=True)
            if task is not None:
                labels = torch.as_tensor(train_set.labels[idx], device=device)
                # the classifier's view of the originals: some degraded (its decoded view is x_hat)
                view = random_degrade(x, rng, config.degrade) if config.degrade else x
                with amp:
                    extra = task(view, out["x_hat"].clamp(0, 1), labels, terms["loss"].detach())
                loss = loss + extra["codec"]
                logs.update(
                    {k: float(extra[k]) for k in ("ce_hat", "acc_hat", "acc_orig", "agree") if k in extra}
                )
                if task.weights.balance is not None:
                    logs["task_scale"] = task.scale
                if cls_optimizer is not None:  # both backward passes before either step
                    cls_optimizer.zero_grad(set_to_none=True)
                    extra["classifier"].backward(inputs=cls_params, retain_graph=not config.freeze_codec)
            if not config.freeze_codec:  # the codec's step, then its entropy models' quantiles
                loss.backward(inputs=main_params)
                average_gradients(main_params, world)
                torch.nn.utils.clip_grad_norm_(main_params, 1.0)
                optimizer.step()
                aux_optimizer.zero_grad(set_to_none=True)
                model.aux_loss().backward()
                average_gradients(aux_params, world)
                aux_optimizer.step()
            if realism is not None:
                logs["disc"] = realism.step(x, x_hat)
            if cls_optimizer is not None:
                average_gradients(cls_params, world)
                cls_optimizer.step()
                if average is not None:
                    average.update(classifier)
            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
            reporter.step(i + 1, {k: v / (i + 1) for k, v in sums.items()})
        record = {
            "epoch": epoch,
            "seconds": round(time.time() - started, 1),
            **{f"train_{k}": round(v / max(1, len(plan)), 4) for k, v in sums.items()},
        }
        if world.is_main:
            if val is not None:
                record["val"] = evaluate_codec(
                    model, val.images, config.val_qualities, device,
                    average.module if average is not None else classifier, val.labels,
                )  # fmt: skip
            history.append(record)
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "aux_optimizer": aux_optimizer.state_dict(),
                "epoch": epoch,
                "config": json.dumps(asdict(config)),
                "history": json.dumps(history),
                "resumes": json.dumps(resumes),
            }
            if classifier is not None:  # with an EMA, the averaged weights are the run's classifier
                state["classifier"] = (average.module if average is not None else classifier).state_dict()
                if average is not None:
                    state["classifier_raw"] = classifier.state_dict()
                state["task_state"] = json.dumps(task.state())
            if cls_optimizer is not None:
                state["classifier_optimizer"] = cls_optimizer.state_dict()
            if realism is not None:
                state.update(realism.state())
            atomic_torch_save(state, ckpt_path)
            reporter.end_epoch(record)
        barrier(world)
    reporter.close()
    return ckpt_path
