"""The sweep: every codec at every quality over one dataset, measured per point.

Classical codecs run in a pool of worker processes, one task per
(codec, quality) point, each coding every image one at a time on one core;
facecodec codecs run in this process, batched, on ``device``. Each point's
decoded images come back here for the metrics and the classifier.

Timings are images/s for the whole set at that point: classical codecs per
CPU-second of one single-threaded worker (one core, unaffected by other load),
facecodec on the wall clock with the runtime's threads (``FACECODEC_THREADS``,
default the cores; or the GPU), entropy coding and ``.ffc`` packing included.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FacecodecError, UsageError
from . import codecs, metrics
from .classical import classical_runs, timed
from .context import (
    Context,
    load_dataset,
    load_panels,
    make_context,
    map_labels,
    own_classifier,
    resolve_classifier,
)

NO_CLASSIFIER = "no classifier registered"
_SLOWEST_FIRST = ("avif", "jxl", "webp", "jpeg2000", "jpeg")


@dataclass
class BenchConfig:
    """What to benchmark; see :func:`run_bench`."""

    data: str | Path
    split: str | None = "auto"
    out: str | Path | None = "results"
    models: Sequence[str] | None = None
    baselines: Sequence[str] | None = None
    qualities: Mapping[str, Sequence[float]] = field(default_factory=dict)
    limit: int | None = None
    device: str = "auto"
    classifier: str | None = None
    workers: int | None = None
    batch_size: int = 256
    panel: bool = True


#: column prefix of each panel's figures in a point
PANEL_PREFIX = {"held-out": "heldout", "training": "trainpanel"}


# --- classical codecs in worker processes ---------------------------------------
# --- one point -------------------------------------------------------------------
def _evaluate(
    codec: str, family: str, quality: float, coded: dict[str, Any], ctx: Context
) -> dict[str, Any]:
    images = ctx.images
    n, h, w = images.shape[:3]
    decoded = coded["decoded"]
    sizes = coded["bytes"]
    ms = metrics.ms_ssim(images, decoded)
    enc_s, dec_s = coded["encode_s"], coded["decode_s"]
    point: dict[str, Any] = {
        "codec": codec,
        "family": family,
        "quality": float(quality),
        "images": int(n),
        "bytes": _r(np.mean(sizes), 2),
        "bpp": _r(np.mean(sizes * 8 / (h * w)), 4),
        "psnr": _r(np.mean(metrics.psnr(images, decoded)), 3),
        "ssim": _r(np.mean(metrics.ssim(images, decoded)), 4),
        "ms_ssim": None if ms is None else _r(np.mean(ms), 4),
        "invented": _r(metrics.invented_detail(images, decoded), 3),
        "accuracy": None,
        "agreement": None,
        "encode_ips": _r(n / enc_s, 1) if enc_s > 0 else None,
        "decode_ips": _r(n / dec_s, 1) if dec_s > 0 else None,
    }
    if ctx.classifier is not None:
        preds = metrics.predict(ctx.classifier, decoded, ctx.device)
        point["agreement"] = _r(np.mean(preds == ctx.original_preds) * 100, 2)
        if ctx.labels is not None:
            point["accuracy"] = _r(np.mean(preds == ctx.labels) * 100, 2)
    for panel in ctx.panels:
        score = panel.score(decoded, ctx.device)
        prefix = PANEL_PREFIX[panel.role]
        for key in ("agreement", "agreement_worst", "accuracy", "accuracy_worst"):
            point[f"{prefix}_{key}"] = score[key]
        point.setdefault("panel_members", {}).update(score["members"])
    return point


def _r(value: Any, digits: int) -> float:
    return round(float(value), digits)


def _facecodec_points(
    codec: codecs.FacecodecCodec, qualities: Sequence[float], ctx: Context, advance
) -> Iterator[dict[str, Any]]:
    images = list(ctx.images)
    own = own_classifier(codec.name, ctx)
    codec.warm_up(ctx.images, qualities[0])
    for q in qualities:
        files, encode_s = timed(lambda q=q: codec.encode_many(images, q))
        decoded, decode_s = timed(lambda files=files: codec.decode_many(files))
        coded = {
            "bytes": np.array([len(f) for f in files], np.int64),
            "decoded": np.stack(decoded),
            "encode_s": encode_s,
            "decode_s": decode_s,
        }
        point = _evaluate(codec.name, "facecodec", q, coded, ctx)
        if own is not None:  # the codec's own classifier: a diagnostic, never the headline
            name, model = own
            preds = metrics.predict(model, coded["decoded"], ctx.device)
            point["own_classifier"] = name
            point["own_accuracy"] = _r(np.mean(preds == ctx.labels) * 100, 2)
        yield point
        advance(f"{codec.name} q{q:g}")


# --- the whole run -----------------------------------------------------------------
def _sweeps(
    config: BenchConfig, notes: list[str]
) -> tuple[list[codecs.FacecodecCodec], dict[str, list[float]]]:
    """The facecodec codecs and the (available) baselines, each with its qualities."""
    from .. import registry

    overrides = {k: list(v) for k, v in (config.qualities or {}).items()}
    names = list(config.models) if config.models else registry.model_names("codec")
    learned = []
    for name in names:
        if registry.get_spec(name).kind != "codec":
            raise FacecodecError(f"{name!r} is not a codec")
        learned.append(codecs.FacecodecCodec(name, config.device, config.batch_size))
    wanted = list(codecs.BASELINES) if config.baselines is None else list(config.baselines)
    sweeps: dict[str, list[float]] = {  # facecodec first: the report's subject
        c.name: [c.check_quality(q) for q in overrides.get(c.name, c.default_qualities)]
        for c in learned
    }
    for name in wanted:
        if name not in codecs.BASELINES:
            raise UsageError(
                f"unknown baseline {name!r}; choose from {', '.join(codecs.BASELINES)}"
            )
        why = codecs.baseline_available(name)
        if why:
            notes.append(why)
            continue
        codec = codecs.baseline(name)
        sweeps[name] = [
            codec.check_quality(q) for q in overrides.get(name, codec.default_qualities)
        ]
    unknown = set(overrides) - set(sweeps) - set(wanted)
    if unknown:
        raise UsageError(
            f"--qualities names {', '.join(sorted(unknown))}, which this run does not bench "
            f"(codecs: {', '.join(sweeps)})"
        )
    return learned, sweeps


@contextlib.contextmanager
def _progress(console: Any, total: int) -> Iterator[Any]:
    if console is None:
        yield lambda label: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]bench[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting", total=total)
        yield lambda label: bar.update(task, advance=1, description=label)


def run_bench(
    data: str | Path,
    *,
    split: str | None = "auto",
    out: str | Path | None = "results",
    models: Sequence[str] | None = None,
    baselines: Sequence[str] | None = None,
    qualities: Mapping[str, Sequence[float]] | None = None,
    limit: int | None = None,
    device: str = "auto",
    classifier: str | None = None,
    workers: int | None = None,
    batch_size: int = 256,
    panel: bool = True,
    console: Any = None,
) -> dict[str, Any]:
    """Benchmark facecodec codecs against classical codecs on a face dataset.

    ``data`` is an ``.npz`` (shared/data layout), a FER2013 ``.csv`` or an image
    folder. ``models`` defaults to every registered codec, ``baselines`` to
    jpeg, jpeg2000, webp, avif and jxl (when imagecodecs is installed).
    ``qualities`` overrides a codec's sweep (``{"jpeg": [5, 10]}``).
    ``classifier`` names a registered FER classifier (default: the first one
    registered; ``"none"``: no accuracy). ``console``: a rich console for the
    progress bar (None: silent). ``panel``: also score every point with the recognizer
    panel (:mod:`facecodec.panel`) when its weights are there: the held-out members'
    agreement and accuracy, mean and worst, are the figures to quote. Writes ``bench.json``, ``bench.csv``,
    ``rd_psnr.png`` and ``rd_accuracy.png`` into ``out`` (unless None) and
    returns the report as a dict (the JSON's content).
    """
    from . import report

    started = time.perf_counter()
    _check_dependencies()
    config = BenchConfig(
        data, split, out, models, baselines, dict(qualities or {}), limit, device,
        classifier, workers, batch_size, panel,
    )  # fmt: skip
    if limit is not None and limit < 1:
        raise FacecodecError("--limit must be at least 1")
    notes: list[str] = []
    dataset, used_split = load_dataset(data, split)
    dataset = dataset.subset(limit)
    images = np.ascontiguousarray(dataset.images)
    learned, sweeps = _sweeps(config, notes)
    if not sweeps:
        raise FacecodecError("nothing to bench: no codec selected or available")

    from ..devices import pick_device

    dev = pick_device(device)
    classifier_name = resolve_classifier(classifier)
    if classifier_name is None:
        why = "classifier off (--classifier none)" if classifier else NO_CLASSIFIER
        notes.append(why + ": accuracy and agreement are null")
    n_workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    points: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    learned_names = {c.name for c in learned}
    tasks = [(name, q) for name, qs in sweeps.items() if name not in learned_names for q in qs]
    tasks.sort(key=lambda t: _SLOWEST_FIRST.index(t[0]))  # long tasks first: even finish
    total = sum(len(qs) for qs in sweeps.values())
    # Classical codecs first, in worker processes started before any torch work
    # here; their points are measured (SSIM, classifier) in this process as they
    # finish. facecodec afterwards, so its wall-clock timings have the machine.
    with (
        classical_runs(tasks, images, n_workers) as classical,
        _progress(console, total) as advance,
    ):
        try:
            ctx = make_context(images, dataset, classifier_name, dev, notes)
        except FacecodecError as exc:
            if classifier:  # asked for by name: its failure is the run's failure
                raise
            notes.append(f"classifier {classifier_name} unusable, accuracy not measured: {exc}")
            classifier_name = None
            ctx = make_context(images, dataset, None, dev, notes)
        if panel:
            from ..train.data import FER2013_CLASSES

            ctx.panels = load_panels(images, map_labels(dataset, FER2013_CLASSES, subset=False)[0], dev, notes)
        for name, q, coded in classical:
            if "error" in coded:
                skipped.append({"codec": name, "quality": q, "reason": coded["error"]})
                notes.append(f"{name} q{q:g} failed: {coded['error']}")
            else:
                points.append(_evaluate(name, "baseline", q, coded, ctx))
            advance(f"{name} q{q:g}")
        for codec in learned:
            try:
                points.extend(_facecodec_points(codec, sweeps[codec.name], ctx, advance))
            except FacecodecError as exc:
                if models:  # asked for by name: its failure is the run's failure
                    raise
                skipped.append({"codec": codec.name, "reason": str(exc)})
                notes.append(f"{codec.name} skipped: {exc}")
    order = list(sweeps)
    points.sort(key=lambda p: (order.index(p["codec"]), sweeps[p["codec"]].index(p["quality"])))

    n, h, w, c = images.shape
    result: dict[str, Any] = {
        "dataset": {
            "path": str(data), "split": used_split, "images": int(n), "height": int(h),
            "width": int(w), "channels": int(c), "labelled": dataset.labels is not None,
            "classes": list(dataset.classes), "limit": limit,
        },
        "settings": {
            "codecs": {name: {"qualities": qs, "knob": _knob(name, learned_names)} for name, qs in sweeps.items()},
            "device": str(dev), "workers": n_workers, "batch_size": batch_size,
        },
        "classifier": {
            "name": classifier_name,
            "accuracy_original": ctx.original_accuracy,
            "note": None if classifier_name else _no_classifier_note(classifier, notes),
        },
        "panel": {p.role: {"members": [m.name for m in p.members], "originals": p.originals()} for p in ctx.panels},
        "units": report.UNITS,
        "points": points,
        "skipped": skipped,
        "notes": notes,
    }  # fmt: skip
    result["summary"] = report.summarise(result)
    result["environment"] = report.environment()
    result["runtime_s"] = round(time.perf_counter() - started, 2)
    if out is not None:
        result["outputs"] = report.write_outputs(result, Path(out))
    return result


def _no_classifier_note(asked: str | None, notes: list[str]) -> str:
    if asked:
        return "classifier off (--classifier none)"
    unusable = [n for n in notes if n.startswith("classifier ") and "unusable" in n]
    return unusable[0] if unusable else NO_CLASSIFIER


def _check_dependencies() -> None:
    """The bench's own libraries, named in one error when any is missing."""
    import importlib.util

    wanted = {
        "matplotlib": "matplotlib",
        "bjontegaard": "bjontegaard",
        "pytorch_msssim": "pytorch-msssim",
        "torch": "torch",
    }
    missing = [pkg for mod, pkg in wanted.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise FacecodecError(
            f"facecodec bench needs {', '.join(missing)}: pip install 'facecodec[train]'"
        )


def _knob(name: str, learned: set[str]) -> str:
    if name in learned:
        return "quality (1 smallest .. 8 best)"
    cls = codecs._BASELINE_CLASSES[name]
    return f"{cls.knob} ({cls.low:g}..{cls.high:g})"
