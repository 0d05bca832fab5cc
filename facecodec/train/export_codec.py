"""``facecodec train export`` for codecs: checkpoint → weights/ with measured figures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import api
from ..evaluate import measure_codec
from ..weights import read_manifest
from .codec_trainer import CodecTrainConfig
from .data import load_faces
from .export import load_checkpoint_model, save_weights, set_measured


def training_command(config: dict[str, Any]) -> str:
    """The ``facecodec train codec`` command line that a checkpoint's config came from."""
    defaults = CodecTrainConfig(data=config["data"]).__dict__
    parts = ["facecodec train codec"]  # every option spelled out, defaults too
    for key in ("data", "model", "split", "val_split", "epochs", "batch_size", "lr",
                "lmbda_min", "lmbda_max", "seed", "out", "device"):  # fmt: skip
        value = config.get(key, defaults.get(key))
        parts.append(f"--{key.replace('_', '-')} {value if value not in (None, '') else repr('')}")
    return " ".join(parts)


def export_codec(
    checkpoint: Path, name: str, out_dir: Path, measure_data: str | None,
    measure_split: str | None, qualities: list[float], device: str, note: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Export a codec checkpoint; measure it on real files when ``measure_data`` is given."""
    model, meta = load_checkpoint_model(checkpoint, name)
    config = meta["config"]
    last_val = meta["history"][-1].get("val") if meta["history"] else None
    record = {
        "kind": "codec",
        "qualities": "1..8, continuous in steps of 1/16",
        "training_data": f"{Path(config.get('data', '?')).name} split={config.get('split')}",
        "training_command": training_command(config),
        "training_config": config,
        "epochs_trained": (meta["epoch"] or 0) + 1,
        "last_validation_estimate": last_val,
    }
    if meta["resumes"]:
        record["resumed_with_changes"] = meta["resumes"]
    if note:
        record["note"] = note
    save_weights(model, name, out_dir, record)
    if measure_data:
        images = load_faces(measure_data, measure_split).images
        previous = os.environ.get("FACECODEC_WEIGHTS")
        os.environ["FACECODEC_WEIGHTS"] = str(out_dir)
        api.load_model.cache_clear()
        try:
            points = measure_codec(name, images, qualities, device)
        finally:
            if previous is None:
                os.environ.pop("FACECODEC_WEIGHTS")
            else:
                os.environ["FACECODEC_WEIGHTS"] = previous
            api.load_model.cache_clear()
        summary = ", ".join(f"q{p['quality']:g} {p['bpp']:.2f}bpp/{p['psnr']:.1f}dB" for p in points)
        set_measured(
            name, out_dir,
            {"data": f"{Path(measure_data).name} split={measure_split}", "images": len(images),
             "bpp": "whole .ffc file bytes*8/pixels", "psnr": "mean of per-image PSNR (uint8)",
             "points": points, "summary": summary},
        )  # fmt: skip
    return read_manifest(out_dir)["models"][name]
