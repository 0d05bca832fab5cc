"""Summaries (BD-rate, bytes to stay recognisable) and the report's outputs.

Outputs written to ``--out``: ``bench.json`` (everything), ``bench.csv`` (one
row per point), ``rd_psnr.png`` and ``rd_accuracy.png`` (one curve per codec),
and a rich table on the console.
"""

from __future__ import annotations

import csv
import importlib.metadata
import io
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

UNITS = {
    "bytes": "mean whole-file bytes per image: everything a user stores (container header, "
    "entropy-coded data, checksum); for facecodec the .ffc file",
    "bpp": "bits per pixel = whole-file bytes × 8 / (width × height), headers included, mean over images",
    "psnr": "dB, per image on uint8 pixels (peak 255), mean over images",
    "ssim": "pytorch_msssim SSIM, Gaussian window 11×11 σ=1.5, valid filtering, mean over images",
    "ms_ssim": "MS-SSIM (5 scales, same window); null unless the shorter side > 160 px",
    "invented": "invented detail: the decoded images' fine detail (pixel minus its 3×3 mean) that is "
    "not a scaled copy of the originals', as a fraction of the originals' fine-detail energy, pooled "
    "over images (0: blurred or faithful; high: stripes, ringing or blocking the originals lack)",
    "accuracy": "% of decoded images the classifier labels correctly",
    "agreement": "% of decoded images given the class the classifier gives the original",
    "encode_ips": "images/s encoding the whole set at this point (classical: per CPU-second of "
    "one single-threaded worker, i.e. one core; facecodec: wall clock, batched, on --device: "
    "the runtime's threads on cpu)",
    "decode_ips": "images/s decoding, as encode_ips",
    "heldout_agreement": "% of decoded images given the class each held-out panel recognizer gives "
    "the original, mean over the held-out panel (recognizers that never entered any codec's "
    "training or selection; see facecodec.panel)",
    "heldout_agreement_worst": "the held-out panel's lowest member agreement",
    "heldout_accuracy": "% of decoded images labelled correctly, mean over the held-out panel",
    "heldout_accuracy_worst": "the held-out panel's lowest member accuracy",
    "trainpanel_agreement": "as heldout_agreement, over the training panel (may enter codec losses: a diagnostic)",
    "trainpanel_accuracy": "as heldout_accuracy, over the training panel (a diagnostic)",
    "own_accuracy": "% of decoded images labelled correctly by the classifier the codec's entry names "
    "(own_classifier; for the expression codecs trained with the codec: a diagnostic)",
    "bd_rate": "% bytes a facecodec codec needs versus the anchor at equal quality "
    "(negative = fewer bytes); Bjontegaard delta, akima interpolation",
}

CSV_COLUMNS = (
    "codec", "family", "quality", "images", "bytes", "bpp", "psnr", "ssim", "ms_ssim", "invented",
    "heldout_agreement", "heldout_agreement_worst", "heldout_accuracy", "heldout_accuracy_worst",
    "trainpanel_agreement", "trainpanel_accuracy", "own_classifier", "own_accuracy", "accuracy", "agreement", "encode_ips", "decode_ips",
)  # fmt: skip
#: the metrics BD-rates are computed on, where measured (held-out panel first: the headline)
BD_METRICS = ("psnr", "heldout_accuracy", "heldout_agreement", "accuracy")

BD_METHOD = "akima"
BD_MIN_POINTS = 3
RECOGNISABLE_POINTS = 1.0  # accuracy within this many points of the originals
AGREEMENT_TARGET = 99.0  # without labels: ≥ this % of predictions unchanged


# --- summaries -----------------------------------------------------------------
def _curve(points: Sequence[dict[str, Any]], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(bpp, metric) of the points on the rate–quality front, sorted by rate.

    Points with no value are dropped, and so is any point that does not beat
    every cheaper point (a noisy or saturated curve must be monotonic for BD).
    """
    pairs = sorted(
        (p["bpp"], p[metric]) for p in points
        if p.get(metric) is not None and math.isfinite(p[metric]) and p["bpp"] > 0
    )  # fmt: skip
    rates, values = [], []
    for rate, value in pairs:
        if values and value <= values[-1]:
            continue
        if rates and rate == rates[-1]:
            continue
        rates.append(rate)
        values.append(value)
    return np.array(rates, float), np.array(values, float)


def bd_rate(
    anchor: Sequence[dict[str, Any]], test: Sequence[dict[str, Any]], metric: str
) -> dict[str, Any]:
    """BD-rate (%) of ``test`` against ``anchor`` on ``metric``; None with a reason when undefined."""
    import bjontegaard as bd

    ra, da = _curve(anchor, metric)
    rt, dt = _curve(test, metric)
    entry: dict[str, Any] = {
        "bd_rate": None,
        "points": [len(ra), len(rt)],
        "overlap": None,
        "note": None,
    }
    if min(len(ra), len(rt)) < BD_MIN_POINTS:
        entry["note"] = f"under {BD_MIN_POINTS} usable points"
        return entry
    lo, hi = max(da.min(), dt.min()), min(da.max(), dt.max())
    span = max(da.max(), dt.max()) - min(da.min(), dt.min())
    overlap = max(hi - lo, 0.0) / span if span > 0 else 0.0
    entry["overlap"] = round(overlap, 3)
    if overlap <= 0:
        entry["note"] = "curves do not overlap"
        return entry
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(
                bd.bd_rate(
                    ra, da, rt, dt, method=BD_METHOD, require_matching_points=False, min_overlap=0
                )
            )
    except (ValueError, AssertionError, ZeroDivisionError, np.linalg.LinAlgError) as exc:
        entry["note"] = f"BD-rate failed: {exc}"
        return entry
    if not math.isfinite(value):
        entry["note"] = "BD-rate undefined"
        return entry
    entry["bd_rate"] = round(value, 2)
    entry["interval"] = [round(float(lo), 3), round(float(hi), 3)]
    return entry


def _median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(float(np.median(vals)), 1) if vals else None


def recognisable(result: dict[str, Any]) -> list[dict[str, Any]]:
    """For each codec, the cheapest point that keeps expressions recognisable.

    With labels: accuracy within 1 point of the classifier's accuracy on the
    originals. Without labels: at least 99 % agreement with its predictions on
    the originals. Without a classifier: not measured.
    """
    base = result["classifier"].get("accuracy_original")
    has_classifier = result["classifier"].get("name") is not None
    no_classifier = result["classifier"].get("note") or "no classifier registered"
    if base is not None:
        metric, threshold = "accuracy", base - RECOGNISABLE_POINTS
        criterion = f"accuracy ≥ {threshold:.2f}% (originals {base:.2f}% − {RECOGNISABLE_POINTS:g})"
    elif has_classifier:
        metric, threshold = "agreement", AGREEMENT_TARGET
        criterion = f"agreement ≥ {AGREEMENT_TARGET:g}% (no labels)"
    else:
        metric, threshold, criterion = None, None, None
    rows = []
    for codec in dict.fromkeys(p["codec"] for p in result["points"]):
        pts = [p for p in result["points"] if p["codec"] == codec]
        row: dict[str, Any] = {
            "codec": codec, "family": pts[0]["family"], "criterion": criterion,
            "quality": None, "bytes": None, "bpp": None, "accuracy": None,
            "agreement": None, "psnr": None, "reason": None,
            "encode_ips_median": _median([p["encode_ips"] for p in pts]),
            "decode_ips_median": _median([p["decode_ips"] for p in pts]),
        }  # fmt: skip
        if metric is None:
            row["reason"] = no_classifier
        else:
            ok = [p for p in pts if p[metric] is not None and p[metric] >= threshold - 1e-9]
            if ok:
                best = min(ok, key=lambda p: p["bytes"])
                row.update(
                    {
                        k: best[k]
                        for k in ("quality", "bytes", "bpp", "accuracy", "agreement", "psnr")
                    }
                )
            else:
                row["reason"] = "not reached in this sweep"
        rows.append(row)
    return rows


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """BD-rates of each facecodec codec against each baseline, and bytes to stay recognisable."""
    points = result["points"]
    by_codec: dict[str, list[dict[str, Any]]] = {}
    for p in points:
        by_codec.setdefault(p["codec"], []).append(p)
    learned = [c for c, pts in by_codec.items() if pts[0]["family"] == "facecodec"]
    anchors = [c for c, pts in by_codec.items() if pts[0]["family"] != "facecodec"]
    bd = []
    for test in learned:
        for anchor in anchors:
            for metric in BD_METRICS:
                if metric != "psnr" and not any(p.get(metric) is not None for p in points):
                    continue
                entry = bd_rate(by_codec[anchor], by_codec[test], metric)
                bd.append({"codec": test, "anchor": anchor, "metric": metric, **entry})
    return {"bd_method": BD_METHOD, "bd_rate": bd, "recognisable": recognisable(result)}


def environment() -> dict[str, Any]:
    """Versions and machine facts that the figures depend on."""
    import os
    import platform

    import PIL
    from PIL import features

    env: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "openjpeg": features.version("jpg_2000"),
        "libwebp": features.version("webp"),
        "libavif": features.version("avif"),
    }
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
        env["cuda"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover
        pass
    from ..runtime.graphs import threads

    env["onnxruntime"] = importlib.metadata.version("onnxruntime")
    env["runtime_threads"] = threads() or os.cpu_count()  # ONNX Runtime's default: the cores
    from .codecs import imagecodecs_jxl

    ic = imagecodecs_jxl()
    env["imagecodecs"] = getattr(ic, "__version__", None) if ic else None
    return env


# --- files ---------------------------------------------------------------------------
def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def to_csv(points: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for p in points:
        writer.writerow({k: "" if p.get(k) is None else p[k] for k in CSV_COLUMNS})
    return buf.getvalue()


_MARKERS = "osD^vP*Xh<>"
_BPP_TICKS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1, 1.5, 2, 3, 4, 6, 8, 12, 16)


def plot(result: dict[str, Any], metric: str) -> bytes:
    """bpp (log axis) against ``metric``, one curve per codec, as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = result["points"]
    use = metric
    if metric == "accuracy" and not any(p["accuracy"] is not None for p in points):
        use = "agreement" if any(p["agreement"] is not None for p in points) else None
    labels = {
        "psnr": "PSNR (dB)",
        "accuracy": "expression accuracy on decoded faces (%)",
        "agreement": "agreement with predictions on originals (%)",
        "heldout_agreement": "held-out recognizers: label unchanged (%, mean of panel)",
    }
    fig = Figure(figsize=(7.5, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ds = result["dataset"]
    ax.set_title(
        f"{Path(ds['path']).name} ({ds['split']}, {ds['images']} faces {ds['width']}×{ds['height']})"
    )
    ax.set_xlabel("bits per pixel (whole file, headers included)")
    if use is None:
        ax.text(0.5, 0.5, "no classifier registered:\naccuracy not measured", ha="center",
                va="center", transform=ax.transAxes, fontsize=13)  # fmt: skip
        ax.set_ylabel(labels["accuracy"])
    else:
        ax.set_ylabel(labels[use])
        codecs_ = list(dict.fromkeys(p["codec"] for p in points))
        for i, codec in enumerate(codecs_):
            pts = sorted(
                (p for p in points if p["codec"] == codec and p.get(use) is not None),
                key=lambda p: p["bpp"],
            )
            if not pts:
                continue
            learned = pts[0]["family"] == "facecodec"
            ax.plot(
                [p["bpp"] for p in pts], [p[use] for p in pts],
                marker=_MARKERS[i % len(_MARKERS)], linestyle="-" if learned else "--",
                linewidth=2.2 if learned else 1.2, markersize=5, label=codec,
            )  # fmt: skip
        base = result["classifier"].get("accuracy_original")
        if use == "accuracy" and base is not None:
            ax.axhline(base, color="black", linewidth=0.8, label=f"originals ({base:.1f}%)")
            ax.axhline(base - RECOGNISABLE_POINTS, color="grey", linewidth=0.8, linestyle=":",
                       label=f"originals − {RECOGNISABLE_POINTS:g} point")  # fmt: skip
        ax.set_xscale("log")
        rates = [p["bpp"] for p in points]
        ticks = [t for t in _BPP_TICKS if min(rates) / 1.2 <= t <= max(rates) * 1.2]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xticks([], minor=True)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def write_outputs(result: dict[str, Any], out: Path) -> dict[str, str]:
    """Write JSON, CSV and both plots into ``out``; their paths."""
    from ..errors import FacecodecError
    from ..imageio import write_atomic

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacecodecError(f"cannot create output folder {out}: {exc.strerror}") from None
    paths = {
        "json": out / "bench.json",
        "csv": out / "bench.csv",
        "plot_psnr": out / "rd_psnr.png",
        "plot_accuracy": out / "rd_accuracy.png",
    }
    if any(p.get("heldout_agreement") is not None for p in result["points"]):
        paths["plot_heldout"] = out / "rd_heldout.png"
    result["outputs"] = {k: str(v) for k, v in paths.items()}
    write_atomic(paths["csv"], to_csv(result["points"]).encode(), force=True)
    for key, metric in (("plot_psnr", "psnr"), ("plot_accuracy", "accuracy"), ("plot_heldout", "heldout_agreement")):
        if key in paths:
            write_atomic(paths[key], plot(result, metric), force=True)
    write_atomic(paths["json"], to_json(result).encode(), force=True)
    return result["outputs"]
