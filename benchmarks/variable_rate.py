"""What does one variable-rate codec cost against codecs trained for one λ each?

For each single-rate model (trained with ``--quality-range q q``, i.e. at the
λ of quality ``q``), measure its rate and PSNR on the data, then find the rate
at which each variable-rate model reaches the same PSNR: the variable-rate
model is evaluated on a fine grid of qualities around ``q`` (steps of 1/16,
the quality resolution of ``.ffc``) and its log-rate is interpolated linearly
in PSNR. Reports ``extra_rate = R_vr / R_single − 1`` per pair (positive = the
variable-rate model needs that much more rate for the same PSNR).

Rates are the entropy models' estimate (bits from the likelihoods) for both
sides, so the comparison is like for like; the ``.ffc`` header adds the same
bytes to both.

    python benchmarks/variable_rate.py --data ../shared/data/fer2013/fer2013_trainval.npz \\
        --vr face-hp-v1 --vr runs/vr-control/last.pt --single 3=runs/single-q3/last.pt
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from facecodec import registry
from facecodec.train.codec_trainer import evaluate_codec
from facecodec.train.data import load_faces
from facecodec.train.init_weights import load_initial


def _codec(source: str, architecture: str) -> torch.nn.Module:
    model = registry.build_architecture(registry.codec_spec(architecture))
    load_initial(model, source)
    return model.eval()


def _point(model: torch.nn.Module, images: np.ndarray, q: float) -> tuple[float, float]:
    with torch.no_grad():
        r = evaluate_codec(model, images, [q], torch.device("cpu"))[f"q{q:g}"]
    return r["bpp_est"], r["psnr"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="val")
    parser.add_argument("-n", type=int, default=None, help="first N images (default: all)")
    parser.add_argument("--architecture", default="face-hp-v1", help="registry codec whose architecture all models share")
    parser.add_argument("--vr", action="append", required=True, help="variable-rate model: name, .safetensors or .pt")
    parser.add_argument("--single", action="append", required=True, help="Q=SOURCE: a model trained at quality Q only")
    parser.add_argument("--span", type=float, default=1.0, help="search qualities Q ± span")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    images = load_faces(args.data, args.split).images[: args.n]
    rows = []
    for item in args.single:
        q_text, source = item.split("=", 1)
        q = float(q_text)
        bpp_s, psnr_s = _point(_codec(source, args.architecture), images, q)
        row = {"quality": q, "single": source, "single_bpp": round(bpp_s, 4), "single_psnr": round(psnr_s, 3)}
        for vr in args.vr:
            model = _codec(vr, args.architecture)
            grid = np.arange(max(1.0, q - args.span), min(8.0, q + args.span) + 1e-9, 1 / 16)
            curve = [_point(model, images, float(g)) for g in grid]
            bpps, psnrs = np.array([c[0] for c in curve]), np.array([c[1] for c in curve])
            order = np.argsort(psnrs)
            if not psnrs.min() <= psnr_s <= psnrs.max():
                row[vr] = {"note": f"PSNR {psnr_s:.2f} outside {psnrs.min():.2f}–{psnrs.max():.2f}"}
                continue
            bpp_vr = float(np.exp(np.interp(psnr_s, psnrs[order], np.log(bpps[order]))))
            same_q = curve[int(np.argmin(np.abs(grid - q)))]
            row[vr] = {
                "bpp_at_equal_psnr": round(bpp_vr, 4),
                "extra_rate": round(bpp_vr / bpp_s - 1, 4),
                "at_same_quality": {"bpp": round(same_q[0], 4), "psnr": round(same_q[1], 3)},
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"data": f"{args.data} split={args.split}", "images": len(images), "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
