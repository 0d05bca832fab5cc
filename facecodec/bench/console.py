"""The bench report on a terminal: rich tables of points, bytes to stay recognisable, BD-rates."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _fmt(value: Any, digits: int = 2, suffix: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}{suffix}"
    return f"{value}{suffix}"


def _device_label(result: dict[str, Any]) -> str:
    device = result["settings"]["device"]
    if device == "cpu":
        threads = result.get("environment", {}).get("runtime_threads")
        return f"cpu ({threads} threads)" if threads else "cpu"
    return result.get("environment", {}).get("cuda") or device


def _short(note: str | None) -> str:
    if not note:
        return "no classifier registered"
    return "classifier unusable, see notes" if "unusable" in note else note


#: BD-rate table columns: metric → (heading, unit)
_BD_COLUMNS = {
    "psnr": ("on PSNR", " dB"),
    "heldout_accuracy": ("on held-out accuracy", "%"),
    "heldout_agreement": ("on held-out agreement", "%"),
    "accuracy": ("on --classifier accuracy", "%"),
}


def _panel_lines(result: dict[str, Any]) -> list[str]:
    lines = []
    for role, entry in (result.get("panel") or {}).items():
        orig = entry["originals"]
        lines.append(
            f"{role} recognizer panel ({', '.join(entry['members'])}) on the originals: "
            f"{_fmt(orig['accuracy'], 2)}% accuracy (worst member {_fmt(orig['accuracy_worst'], 2)}%)"
        )
    return lines


def print_report(result: dict[str, Any], console: Any = None) -> None:
    """The points, the bytes-to-recognisable summary and BD-rates as rich tables."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    points, summary, ds = result["points"], result["summary"], result["dataset"]
    has_ms = any(p["ms_ssim"] is not None for p in points)
    has_cls = any(p["agreement"] is not None for p in points)
    has_panel = any(p.get("heldout_agreement") is not None for p in points)
    has_own = any(p.get("own_accuracy") is not None for p in points)
    table = Table(
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        show_edge=False,
        title=f"facecodec bench: {ds['images']} faces {ds['width']}×{ds['height']}, "
        f"{Path(ds['path']).name} ({ds['split']})",
        caption="bpp = whole-file bytes × 8 / pixels (headers included); held-out: mean (worst) "
        "of recognizers no codec saw, the figures to quote; own acc%: the codec's own classifier "
        "(a diagnostic); img/s: classical per CPU-second on one core, facecodec wall-clock "
        "batched on " + _device_label(result),
    )
    cols = ["q", "bytes", "bpp", "PSNR", "SSIM"] + (["MS-SSIM"] if has_ms else []) + ["invented"]
    cols += ["held-out agree% (worst)", "held-out acc% (worst)"] if has_panel else []
    cols += ["own acc%"] if has_own else []
    cols += (["acc%", "agree%"] if has_cls else []) + ["enc/s", "dec/s"]
    table.add_column("codec", no_wrap=True)
    for col in cols:
        table.add_column(col, justify="right")
    for i, p in enumerate(points):
        last = i + 1 == len(points) or points[i + 1]["codec"] != p["codec"]
        row = [p["codec"], f"{p['quality']:g}", _fmt(p["bytes"], 1), _fmt(p["bpp"], 3),
               _fmt(p["psnr"]), _fmt(p["ssim"], 3)]  # fmt: skip
        if has_ms:
            row.append(_fmt(p["ms_ssim"], 3))
        row.append(_fmt(p.get("invented"), 3))
        if has_panel:
            row += [f"{_fmt(p['heldout_agreement'], 1)} ({_fmt(p['heldout_agreement_worst'], 1)})",
                    f"{_fmt(p['heldout_accuracy'], 1)} ({_fmt(p['heldout_accuracy_worst'], 1)})"]  # fmt: skip
        if has_own:
            row.append(_fmt(p.get("own_accuracy"), 1))
        if has_cls:
            row += [_fmt(p["accuracy"], 1), _fmt(p["agreement"], 1)]
        row += [_fmt(p["encode_ips"], 0), _fmt(p["decode_ips"], 0)]
        table.add_row(*row, end_section=last)
    console.print(table)

    cls = result["classifier"]
    rec = summary["recognisable"]
    if cls.get("name"):
        criterion = next((r["criterion"] for r in rec if r["criterion"]), "")
        small = _per_codec_table(f"Fewest bytes that keep expressions recognisable ({cls['name']}: {criterion})")
        small.add_column("codec", no_wrap=True)
        for col in ("q", "bytes", "bpp", "acc%", "agree%", "PSNR", "enc/s", "dec/s"):
            small.add_column(col, justify="right")
        for r in sorted(rec, key=lambda r: (r["bytes"] is None, r["bytes"] or 0)):
            if r["bytes"] is None:
                cells = ["not reached", "–", "–", "–", "–", "–"]
            else:
                cells = [f"{r['quality']:g}", _fmt(r["bytes"], 1), _fmt(r["bpp"], 3),
                         _fmt(r["accuracy"], 1), _fmt(r["agreement"], 1), _fmt(r["psnr"])]  # fmt: skip
            small.add_row(
                r["codec"], *cells, _fmt(r["encode_ips_median"], 0), _fmt(r["decode_ips_median"], 0)
            )
    else:
        small = _per_codec_table(f"Per codec (accuracy not measured: {_short(cls.get('note'))})")
        small.add_column("codec", no_wrap=True)
        for col in ("bpp range", "PSNR range", "enc/s", "dec/s"):
            small.add_column(col, justify="right")
        for r in rec:
            pts = [p for p in points if p["codec"] == r["codec"]]
            bpp = [p["bpp"] for p in pts]
            db = [p["psnr"] for p in pts]
            small.add_row(
                r["codec"], f"{min(bpp):.3f}–{max(bpp):.3f}", f"{min(db):.2f}–{max(db):.2f}",
                _fmt(r["encode_ips_median"], 0), _fmt(r["decode_ips_median"], 0),
            )  # fmt: skip
    console.print(small)

    bd = summary["bd_rate"]
    if bd:
        bdt = Table(
            box=box.SIMPLE_HEAD,
            collapse_padding=True,
            show_edge=False,
            title=f"BD-rate of facecodec against each baseline ({summary['bd_method']})",
            caption="negative = fewer bytes for the same quality; averaged over the quality "
            "interval both curves cover",
        )
        for col in ("codec", "anchor"):
            bdt.add_column(col, no_wrap=True)
        shown = [m for m in _BD_COLUMNS if any(e["metric"] == m for e in bd)]
        for metric in shown:
            bdt.add_column(_BD_COLUMNS[metric][0], justify="right")
        for codec, anchor in dict.fromkeys((e["codec"], e["anchor"]) for e in bd):
            cells = []
            for metric in shown:
                unit = _BD_COLUMNS[metric][1]
                e = next(
                    (e for e in bd if (e["codec"], e["anchor"], e["metric"]) == (codec, anchor, metric)),
                    {"bd_rate": None, "note": "not measured"},
                )
                if e["bd_rate"] is None:
                    cells.append(f"– ({e['note']})")
                else:
                    lo, hi = e["interval"]
                    cells.append(f"{e['bd_rate']:+.1f}% over {lo:.1f}–{hi:.1f}{unit}")
            bdt.add_row(codec, anchor, *cells)
        console.print(bdt)
    if cls.get("name") and cls.get("accuracy_original") is not None:
        console.print(
            f"classifier {escape(cls['name'])} on the originals: {cls['accuracy_original']:.2f}% accuracy"
        )
    for line in _panel_lines(result):
        console.print(escape(line))
    for note in result["notes"]:
        console.print(f"[yellow]note:[/] {escape(note)}")
    outputs = result.get("outputs") or {}
    if outputs:
        console.print("wrote " + escape(", ".join(outputs.values())))
    console.print(f"runtime {result['runtime_s']:.1f} s")


def _per_codec_table(title: str) -> Any:
    """The per-codec summary table under the points (a rich Table; the caller adds its columns)."""
    from rich import box
    from rich.table import Table

    return Table(
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        show_edge=False,
        title=title,
        caption="speeds: median over the codec's sweep",
    )
