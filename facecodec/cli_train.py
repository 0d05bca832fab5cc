"""``facecodec train``: codecs, classifiers, both jointly, and export to ``weights/``.

Thin wrappers over :mod:`facecodec.train`; every run folder holds ``last.pt``
(resumable with ``--resume``) and ``log.txt`` (one JSON line per epoch).
Under ``torchrun --nproc_per_node N -m facecodec train ...`` the same commands
train on N processes (see docs/training.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from .devices import DEVICE_CHOICES

_DATA_HELP = "Dataset: .npz (../shared/data layout), FER2013 .csv, or class-per-folder image tree."


def _common(default_out: str) -> Callable:
    """Options every training command has."""

    def wrap(fn: Callable) -> Callable:
        options = [
            click.option("--data", required=True, type=click.Path(exists=True), help=_DATA_HELP),
            click.option("--split", default="train", show_default=True, help="Split to train on ('' for all)."),
            click.option("--val-split", default="val", show_default=True, help="Split to validate on ('' for none)."),
            click.option("--epochs", default=40, show_default=True, type=click.IntRange(1)),
            click.option("--epoch-size", default=None, type=click.IntRange(1), help="Samples per epoch (default: the whole split)."),
            click.option("--init", default=None, help="Start from these weights: a model name, .safetensors or checkpoint .pt."),
            click.option("--seed", default=0, show_default=True, type=int),
            click.option("--out", default=default_out, show_default=True, type=click.Path(), help="Run folder (last.pt, log.txt)."),
            click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICE_CHOICES), help="auto = CUDA when available."),
            click.option("--resume", is_flag=True, help="Continue from OUT/last.pt (changed options are recorded)."),
            click.option("--json", "as_json", is_flag=True, help="Print only JSON lines: one per epoch, then the checkpoint."),
        ]  # fmt: skip
        for option in reversed(options):
            fn = option(fn)
        return fn

    return wrap


def _parse_qualities(text: str | list[float]) -> list[float]:
    """``"1,2.5,8"`` → [1.0, 2.5, 8.0] (a ValueError becomes click's one-line usage error)."""
    return text if isinstance(text, list) else [float(q) for q in text.split(",")]


def _parse_names(text: str | list[str]) -> list[str]:
    """``"a,b"`` → ["a", "b"] (empty: none)."""
    return text if isinstance(text, list) else [n for n in text.split(",") if n]


def _codec_options(fn: Callable) -> Callable:
    options = [
        click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1)),
        click.option("--lr", default=5e-4, show_default=True, type=float),
        click.option("--lmbda-min", default=4e-4, show_default=True, type=float, help="λ (rate-distortion trade-off) at quality 1."),
        click.option("--lmbda-max", default=5e-2, show_default=True, type=float, help="λ at quality 8."),
        click.option("--quality-range", default=(1.0, 8.0), show_default=True, type=(float, float), help="Qualities drawn per sample in training (equal ends: a single-rate model)."),
        click.option("--val-qualities", default="1,4,8", show_default=True, type=_parse_qualities, metavar="Q,Q,...", help="Qualities validated after each epoch."),
        click.option("--quality-power", default=1.0, show_default=True, type=click.FloatRange(min=0.1), help="Qualities drawn as lo + (hi-lo)·u^P, u uniform: 1 = uniform, >1 = more low qualities (where one variable-rate model costs most)."),
        click.option("--augment/--no-augment", default=False, show_default=True, help="Random rotation (±10°), scale (0.9–1.1) and shift (±10%) on top of the flips: classifiers trained along overfit less."),
        click.option("--task-weight", default=0.1, show_default=True, type=float, help="γ: bpp per nat of expression cross-entropy on decoded faces."),
        click.option("--feature-weight", default=0.0, show_default=True, type=float, help="φ: weight of the classifier-feature distance (original vs decoded)."),
        click.option("--agreement-weight", default=0.0, show_default=True, type=float, help="κ: bpp per nat of KL from the classifier's reading of the original to that of the decoded face."),
        click.option("--semantic-weight", default=0.0, show_default=True, type=float, help="Codecs with an expression code (face-fer-v3, -v9): bpp per nat of KL from the guide classifier's reading of the original to the code head's."),
        click.option("--task-balance", default=None, type=float, help="Adaptive: keep the expression terms at this ratio of rate+distortion."),
        click.option("--guide-init", default=None, help="Codecs with an encoder guide (face-fer-v3, -v9): the classifier (name, .safetensors, .pt) whose first stages guide the encoder."),
        click.option("--guide-lr-scale", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Guided codecs: learning-rate multiplier of the guide projection (it starts at zero)."),
        click.option("--panel", default="", type=_parse_names, metavar="NAME,NAME,...", help="Training-panel recognizers (docs/panel.md): the decoded face must read as the original to each of them (held-out ones are refused)."),
        click.option("--panel-weight", default=0.0, show_default=True, type=click.FloatRange(min=0), help="bpp per nat of the panel's mean KL between its readings of random views of the original and of the decoded face."),
        click.option("--panel-noise", default=0.0, show_default=True, type=click.FloatRange(min=0), help="σ of Gaussian noise added alike to both views the panel reads (a smoothed reading: gradients that follow faces, not one network's pixel patterns)."),
        click.option("--panel-feature-weight", default=0.0, show_default=True, type=click.FloatRange(min=0), help="bpp per unit of the distance between the panel members' feature maps (every stage) on the original and decoded views."),
        click.option("--detail-weight", default=0.0, show_default=True, type=click.FloatRange(min=0), help="The detail floor, at every quality: bpp per 255²·MSE between the fine detail (pixel minus its 3×3 mean) of the decoded and the original face; stops low qualities drawing patterns the face lacks."),
        click.option("--adversarial-weight", default=0.0, show_default=True, type=click.FloatRange(min=0), help="bpp per nat of a face discriminator's non-saturating loss on decoded faces (realism)."),
        click.option("--feature-match-weight", default=0.0, show_default=True, type=click.FloatRange(min=0), help="bpp per unit of the discriminator's feature-matching distance (decoded vs original)."),
        click.option("--discriminator-lr", default=2e-4, show_default=True, type=click.FloatRange(min=0, min_open=True)),
        click.option("--amp/--no-amp", default=None, help="bfloat16 autocast of the transforms [default: on for CUDA]."),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run_codec(opts: dict[str, Any], joint: bool) -> None:
    from .devices import pick_device
    from .train.codec_trainer import CodecTrainConfig, train_codec

    resume, as_json = opts.pop("resume"), opts.pop("as_json")
    opts["split"] = opts["split"] or None
    opts["val_split"] = opts["val_split"] or None
    if opts["amp"] is None:
        opts["amp"] = pick_device(opts["device"]).type == "cuda"
    path = train_codec(CodecTrainConfig(joint=joint, **opts), resume=resume, json_lines=as_json)
    _done(path, as_json)


def _done(path, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"checkpoint": str(path)}))
    else:
        click.echo(f"checkpoint: {path}")


@click.group()
def train() -> None:
    """Train codecs, classifiers or both jointly; export runs to weights/."""


@train.command("codec")
@_common("runs/codec")
@click.option("--model", default="face-hp-v1", show_default=True, help="Registry name of the codec architecture.")
@_codec_options
@click.option("--classifier", default=None, help="Frozen classifier for the expression term (standalone mode); none = rate-distortion only.")
@click.option("--classifier-init", default=None, help="Its weights, if not its own shipped ones (name, .safetensors, .pt).")
def train_codec_cmd(**opts: Any) -> None:
    """Train a variable-rate codec: rate + λ·distortion [+ expression terms].

    Without --classifier this is rate-distortion training. With it, the codec
    is fine-tuned against that frozen classifier (standalone mode); see
    'facecodec train joint' to train the classifier along.
    """
    _run_codec(opts, joint=False)


@train.command("joint")
@_common("runs/joint")
@click.option("--model", default="face-fer-v3", show_default=True, help="Registry name of the codec architecture.")
@_codec_options
@click.option("--classifier", default="fer-cnn-joint-v4", show_default=True, help="Registry name of the classifier architecture trained along.")
@click.option("--classifier-init", default="fer-cnn-joint-v1", show_default=True, help="Classifier weights to start from (name, .safetensors, .pt).")
@click.option("--classifier-lr", default=5e-4, show_default=True, type=float)
@click.option("--original-weight", default=1.0, show_default=True, type=float, help="Weight of the classifier's loss on original faces.")
@click.option("--consistency-weight", default=0.0, show_default=True, type=click.FloatRange(min=0), help="c: the classifier also learns to read a decoded face as it reads the original (KL, original's reading detached).")
@click.option("--degrade", default=0.0, show_default=True, type=click.FloatRange(0, 1), help="Share of the original faces the classifier learns from that get a random degradation (noise, blur or JPEG), so that it reads a slightly changed face as the face itself. The codec's agreement and feature terms then target that view.")
@click.option("--freeze-codec", is_flag=True, help="Train only the classifier, on the (fixed) codec's decoded faces at random qualities and on originals.")
@click.option("--classifier-ema", default=None, type=click.FloatRange(0, 1, min_open=True, max_open=True), help="Keep an exponential moving average of the classifier's weights (decay, e.g. 0.999) and export that.")
def train_joint_cmd(**opts: Any) -> None:
    """Train a codec and a classifier together (FER-aware codec).

    The codec minimises rate + λ·distortion + γ·CE(classifier(decoded)); the
    classifier learns from decoded and original faces, so it stays accurate
    on both. Export both from the one checkpoint with 'facecodec train export'.
    """
    _run_codec(opts, joint=True)


@train.command("classifier")
@_common("runs/classifier")
@click.option("--model", default="fer-cnn-joint-v4", show_default=True, help="Classifier (pixels) or latent head (a codec's latent) to train.")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1))
@click.option("--lr", default=2e-3, show_default=True, type=float)
@click.option("--teacher", default=None, help="Pixel classifier to distil from (for latent heads: its view of the decoded face).")
@click.option("--distill-weight", default=0.5, show_default=True, type=float, help="α of the distillation term.")
@click.option("--feature-weight", default=0.0, show_default=True, type=float, help="μ: latent heads ending in the teacher's last stage (LatentTailNet): weight of matching the teacher's stage map.")
@click.option("--cache-views", default=0, show_default=True, type=click.IntRange(0), help="Latent heads: cache this many augmented views per face in memory (teacher on the view's pixels); 0 = compute latents online.")
@click.option("--cache-qualities", default=4, show_default=True, type=click.IntRange(1), help="Random qualities cached per view.")
def train_classifier_cmd(**opts: Any) -> None:
    """Train an expression classifier on faces, or a latent head on a codec's latent."""
    from .train.classifier_trainer import ClassifierTrainConfig, train_classifier

    resume, as_json = opts.pop("resume"), opts.pop("as_json")
    opts["split"] = opts["split"] or None
    opts["val_split"] = opts["val_split"] or None
    path = train_classifier(ClassifierTrainConfig(**opts), resume=resume, json_lines=as_json)
    _done(path, as_json)


_QUALITIES = click.option("--qualities", default="1,2,3,4,5,6,7,8", show_default=True, type=_parse_qualities, metavar="Q,Q,...", help="Comma-separated qualities to measure.")
_DEVICE = click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICE_CHOICES))


@train.command("export")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="Registry name the weights are for (a joint run holds a codec and a classifier).")
@click.option("--out", default="weights", show_default=True, type=click.Path(file_okay=False))
@click.option("--measure-data", type=click.Path(exists=True), help="Dataset to measure on (bpp/PSNR, accuracy).")
@click.option("--measure-split", default="val", show_default=True)
@_QUALITIES
@click.option("--note", default=None, help="Free text stored in the manifest (e.g. how a run was resumed).")
@_DEVICE
@click.option("--json", "as_json", is_flag=True, help="Print the manifest entry as JSON.")
def train_export_cmd(checkpoint, name, out, measure_data, measure_split, qualities, note, device, as_json) -> None:
    """Export CHECKPOINT to OUT/NAME.safetensors and the manifest (sha256, command, figures)."""
    from pathlib import Path

    from .train.export_models import export_model

    entry = export_model(
        Path(checkpoint), name, Path(out), measure_data, measure_split, qualities, device, note,
        command=training_command,
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps({"name": name, **entry}))
        return
    click.echo(f"exported {name}: {entry['file']} sha256 {entry['sha256'][:16]}…")
    click.echo(f"  {(entry.get('measured') or {}).get('summary', 'not measured')}")


@train.command("export-runtime")
@click.argument("names", nargs=-1)
@click.option("--out", default="weights", show_default=True, type=click.Path(file_okay=False, exists=True), help="Folder with the models' weights and MANIFEST.json.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per graph written.")
def train_export_runtime_cmd(names, out, as_json) -> None:
    """Write the lean runtime's ONNX graphs of NAMES (default: every shipped codec, classifier
    and latent head) to OUT/runtime/ and record them in the manifest.

    The graphs hold no weights (the runtime reads them from each model's
    safetensors file), so they are re-exported only when an architecture changes;
    'train export' writes them for the model it exports."""
    from pathlib import Path

    from . import registry
    from .runtime.graphs import graphs_of
    from .train.export_runtime import export_runtime

    chosen = list(names) or [n for n in registry.model_names() if graphs_of(registry.get_spec(n))]
    for name in chosen:
        registry.get_spec(name)  # unknown names: one line, before anything is written
    records = export_runtime(chosen, Path(out))
    if as_json:
        for record in records:
            click.echo(json.dumps(record))
        return
    total = sum(r["bytes"] for r in records)
    click.echo(f"exported {len(records)} runtime graphs of {len(chosen)} models to {Path(out) / 'runtime'} ({total / 1024:.0f} KiB)")


@train.command("measure")
@click.argument("name")
@click.option("--data", required=True, type=click.Path(exists=True), help=_DATA_HELP)
@click.option("--split", default="val", show_default=True)
@click.option("--weights", "weights_dir", default="weights", show_default=True, type=click.Path(file_okay=False, exists=True), help="Folder with the model's weights and MANIFEST.json.")
@_QUALITIES
@_DEVICE
@click.option("--json", "as_json", is_flag=True, help="Print the measured figures as JSON.")
def train_measure_cmd(name, data, split, weights_dir, qualities, device, as_json) -> None:
    """Re-measure a shipped model NAME on real files and update its manifest figures.

    What 'train export --measure-data' does, without a checkpoint: for when the
    files change but the weights do not (a new .ffc format version)."""
    from pathlib import Path

    from .train.export_models import measure_shipped

    measured = measure_shipped(name, Path(weights_dir), data, split, qualities, device)
    if as_json:
        click.echo(json.dumps({"name": name, "measured": measured}))
    else:
        click.echo(f"measured {name}: {measured['summary']}")


def training_command(config: dict[str, Any]) -> str:
    """The ``facecodec train ...`` command line a run's stored config came from (for the
    manifest: :func:`facecodec.train.export_models.export_model` takes it as ``command``)."""
    sub = ("joint" if config.get("joint") else "codec") if "lmbda_min" in config else "classifier"
    command = train.commands[sub]
    parts = [f"facecodec train {sub}"]
    for param in command.params:
        if param.name in ("resume",) or param.name not in config:
            continue
        value = config[param.name]
        flag = param.opts[0]
        if isinstance(value, bool):
            if getattr(param, "secondary_opts", None):
                parts.append(flag if value else param.secondary_opts[0])
            elif value:
                parts.append(flag)
            continue
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = (" " if param.nargs > 1 else ",").join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        parts.append(f"{flag} {value if value != '' else repr('')}")
    return " ".join(parts)
