"""Markdown tables for docs/models.md from benchmarks/results/fer_accuracy.json.

    python benchmarks/models_tables.py benchmarks/results/fer_accuracy.json
"""

from __future__ import annotations

import json
import sys


def _matched(points: list[dict]) -> None:
    print("| anchor q | anchor bpp | accuracy % | test bpp at that accuracy | ratio |")
    print("|--:|--:|--:|--:|--:|")
    for m in points:
        le = "≤ " if m.get("upper_bound") else ""
        tb = "not reached" if m["test_bpp"] is None else f"{le}{m['test_bpp']:.3f}"
        ratio = "–" if m["rate_ratio"] is None else f"{le}{m['rate_ratio']:.2f}"
        print(f"| {m['anchor_quality']:g} | {m['anchor_bpp']:.3f} | {m['accuracy']:.2f} | {tb} | {ratio} |")


def main() -> None:
    with open(sys.argv[1]) as fh:
        result = json.load(fh)
    classifiers = [c for c in result["summary"] if c != "systems"]
    orig = {c: result["summary"][c]["originals"] for c in classifiers}
    print("| codec | setting | bytes | bpp | PSNR dB | " + " | ".join(f"acc. {c} %" for c in classifiers) + " |")
    print("|---|--:|--:|--:|--:|" + "--:|" * len(classifiers))
    print("| originals | – | – | – | – | " + " | ".join(f"{orig[c]:.2f}" for c in classifiers) + " |")
    for p in result["points"]:
        accs = " | ".join(f"{p['accuracy_by_classifier'][c]:.2f}" for c in classifiers)
        print(f"| {p['codec']} | {p['quality']:g} | {p['bytes']:.1f} | {p['bpp']:.3f} | {p['psnr']:.2f} | {accs} |")
    for c in classifiers:
        s = result["summary"][c]
        print(f"\n**{c}** (originals {s['originals']:.2f} %)\n")
        print("| comparison | BD-rate on accuracy | accuracy interval |")
        print("|---|--:|---|")
        for k, e in s["bd_rate_accuracy"].items():
            val = f"{e['bd_rate']:+.1f} %" if e["bd_rate"] is not None else f"n/a ({e['note']})"
            print(f"| {k} | {val} | {e.get('interval')} |")
        if "matched_points" in s:
            print()
            _matched(s["matched_points"])
        print("\n| codec | fewest bytes within 1 pt | within 1.5 pt |")
        print("|---|--:|--:|")
        for k, row in s["fewest_bytes"].items():
            cells = []
            for key in ("within_1", "within_1.5"):
                b = row[key]
                cells.append("not reached" if b is None else f"{b['bytes']:.1f} B ({b['bpp']:.3f} bpp, q {b['quality']:g})")
            print(f"| {k} | {cells[0]} | {cells[1]} |")
    systems = result["summary"].get("systems")
    if systems:
        e = systems["bd_rate_accuracy"]
        bd = f"n/a ({e.get('note')})" if e["bd_rate"] is None else f"{e['bd_rate']:+.1f} % over {e['interval']}"
        print(f"\n**Pipelines**: {systems['test']} against {systems['anchor']}: BD-rate on accuracy {bd}\n")
        _matched(systems["matched_points"])


if __name__ == "__main__":
    main()
