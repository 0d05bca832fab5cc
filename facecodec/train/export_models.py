"""``facecodec train export``: checkpoint → ``weights/`` with measured figures.

One command for every kind: a codec run, a classifier run, a latent-head run,
and a joint run (its checkpoint holds the codec as ``model`` and the
classifier as ``classifier``; export each under its own name). The manifest
entry records the exact training command, rebuilt from the run's stored
configuration, and figures measured through the public API on real files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from .. import api, container, registry
from ..errors import QualityError, WeightsError
from ..evaluate import measure_classifier, measure_codec
from ..runtime.graphs import graphs_of
from ..weights import read_manifest, using_weights_dir
from .data import load_faces
from .export import checkpoint_meta, load_checkpoint_model, save_weights, set_measured
from .export_runtime import export_runtime


@contextmanager
def _weights_from(out_dir: Path) -> Iterator[None]:
    api.load_model.cache_clear()
    try:
        with using_weights_dir(out_dir):
            yield
    finally:
        api.load_model.cache_clear()


def _load(checkpoint: Path, name: str) -> tuple[torch.nn.Module, dict[str, Any]]:
    spec = registry.get_spec(name)
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if spec.kind == "classifier" and "classifier" in state:  # the classifier of a joint run
        model = registry.build_architecture(spec)
        model.load_state_dict(state["classifier"])
        return model.eval(), checkpoint_meta(state)
    try:
        if spec.kind == "latent-classifier" and any(k.startswith("sem_head.") for k in state.get("model", {})):
            model = registry.build_architecture(spec)  # a code head trained inside its codec's run
            model.load_state_dict({k[len("sem_head.") :]: v for k, v in state["model"].items() if k.startswith("sem_head.")})
            return model.eval(), checkpoint_meta(state)
        return load_checkpoint_model(checkpoint, name)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise WeightsError(f"{checkpoint} does not hold a {name!r}: {first}") from None


def check_measure_qualities(name: str, qualities: list[float]) -> None:
    """Refuse qualities no codec ``name`` is measured on can code, before anything is written."""
    registry.get_spec(name)
    if not qualities:
        raise QualityError(f"no qualities to measure {name} on")
    for q in qualities:
        api.quality_code(q)  # the encoder's own range check


def export_model(
    checkpoint: Path, name: str, out_dir: Path, measure_data: str | None,
    measure_split: str | None, qualities: list[float], device: str, note: str | None = None,
    command: Callable[[dict[str, Any]], str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Export ``name`` from a checkpoint; measure it on real files when ``measure_data`` is given.

    ``command`` rebuilds the command line of the run from its stored config for the
    manifest (the CLI passes :func:`facecodec.cli_train.training_command`; the library
    does not import the CLI); without it the manifest records none."""
    spec = registry.get_spec(name)
    if measure_data:
        check_measure_qualities(name, qualities)
    model, meta = _load(checkpoint, name)
    config = meta["config"]
    record: dict[str, Any] = {
        "kind": spec.kind,
        "training_data": f"{Path(config.get('data', '?')).name} split={config.get('split')}",
        "training_config": config,
        "epochs_trained": (meta["epoch"] or 0) + 1,
        "last_validation": meta["history"][-1] if meta["history"] else None,
    }
    if command is not None:
        record["training_command"] = command(config)
    if spec.kind == "codec":
        record["qualities"] = "1..8, continuous in steps of 1/16"
    if meta["resumes"]:
        record["resumed_with_changes"] = meta["resumes"]
    if note:
        record["note"] = note
    save_weights(model, name, out_dir, record)
    if graphs_of(spec):  # the lean runtime's graphs for the new weights
        export_runtime([name], out_dir)
    if measure_data:
        measure_shipped(name, out_dir, measure_data, measure_split, qualities, device)
    return read_manifest(out_dir)["models"][name]


def measure_shipped(
    name: str, out_dir: Path, measure_data: str, measure_split: str | None, qualities: list[float], device: str
) -> dict[str, Any]:
    """Measure ``name`` as shipped in ``out_dir`` on real ``.ffc`` files and record the figures
    in its manifest entry (export does this; run again when what the files hold changes)."""
    spec = registry.get_spec(name)
    check_measure_qualities(name, qualities)
    faces = load_faces(measure_data, measure_split)
    data = f"{Path(measure_data).name} split={measure_split}"
    with _weights_from(out_dir):
        if spec.kind == "codec":
            heldout = _heldout_panel(faces.images, faces.labels)
            points = measure_codec(name, faces.images, qualities, device, panel=heldout)
            summary = ", ".join(f"q{p['quality']:g} {p['bpp']:.2f}bpp/{p['psnr']:.1f}dB" for p in points)
            measured = {"data": data, "images": len(faces.images), "bpp": "whole .ffc file bytes*8/pixels",
                        "file_format": container.VERSION, "psnr": "mean of per-image PSNR (uint8)",
                        "points": points, "summary": summary}  # fmt: skip
            if heldout is not None:
                measured["heldout"] = (
                    f"held-out recognizer panel ({', '.join(m.name for m in heldout.members)}; docs/panel.md): "
                    "heldout_agreement = mean % of faces whose label is unchanged, _worst = its worst member, "
                    "heldout_accuracy = mean % right"
                )
        else:
            if faces.labels is None:
                raise WeightsError(f"{measure_data}: measuring a classifier needs labels")
            codecs = [c for c in registry.model_names("codec") if (out_dir / registry.get_spec(c).weights_file).exists()]
            measured = {"data": data, **measure_classifier(name, faces.images, faces.labels, codecs, qualities, device)}
            measured["summary"] = _classifier_summary(measured)
    set_measured(name, out_dir, measured)
    return measured


def _heldout_panel(images: Any, labels: Any) -> Any:
    """The held-out recognizer panel read on ``images``, or None where its weights are not
    at hand (an installed package: the panel lives in a source checkout)."""
    from .. import panel

    try:
        return panel.load("held-out", images, labels)
    except WeightsError:
        return None


def _classifier_summary(measured: dict[str, Any]) -> str:
    parts = []
    if "original_accuracy" in measured:
        parts.append(f"originals {measured['original_accuracy']:.4f}")
    for codec, points in measured["codecs"].items():
        accs = " ".join(f"q{p['quality']:g}:{p['accuracy']:.3f}" for p in points)
        parts.append(f"{codec} {accs}")
    return "; ".join(parts)
