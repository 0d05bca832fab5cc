"""Measuring a registered codec on real files: whole-file bpp and PSNR per quality."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import api


def psnr_from_mse(mse: float | np.ndarray, peak: float = 255.0) -> float | np.ndarray:
    """PSNR in dB for a mean squared error (a number or an array of them) of images whose
    largest value is ``peak`` (255 for uint8, 1 for [0, 1] floats); inf where ``mse`` is 0.

    The one PSNR formula: :func:`psnr`, :func:`psnr_uint8`, the benchmarks and the
    training logs all go through it."""
    values = np.asarray(mse, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = 10 * np.log10(peak**2 / values)
    return float(out) if out.ndim == 0 else out


def psnr(originals: np.ndarray, decoded: np.ndarray, peak: float = 255.0) -> np.ndarray:
    """Per-image PSNR in dB of two stacks of images (N, ...); inf for identical images."""
    diff = originals.astype(np.float64) - decoded.astype(np.float64)
    return psnr_from_mse(np.mean(diff.reshape(len(diff), -1) ** 2, axis=1), peak)  # type: ignore[return-value]


def psnr_uint8(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (peak 255); inf for identical images."""
    return float(psnr(a[None], b[None])[0])


#: fine detail is each pixel minus the mean of its DETAIL_WINDOW × DETAIL_WINDOW neighbourhood
#: (edges replicated): invented detail here, the detail floor in training (train.codec_loss)
DETAIL_WINDOW = 3


def _fine_detail(images: np.ndarray) -> np.ndarray:
    """Each pixel's fine detail (see :data:`DETAIL_WINDOW`), float64 (N, H·W·C)."""
    x = images.astype(np.float64)
    h, w = x.shape[1:3]
    r = DETAIL_WINDOW // 2
    padded = np.pad(x, ((0, 0), (r, r), (r, r), (0, 0)), mode="edge")
    window = range(DETAIL_WINDOW)
    box = sum(padded[:, i : i + h, j : j + w] for i in window for j in window) / DETAIL_WINDOW**2
    return (x - box).reshape(len(x), -1)


def invented_detail(originals: np.ndarray, decoded: np.ndarray) -> float:
    """The decoded images' fine detail that is not the originals' (:mod:`facecodec.bench.metrics` defines it), pooled
    over uint8 (N, H, W, C) arrays; 0 when the originals have no fine detail at all."""
    h, h_hat = _fine_detail(originals), _fine_detail(decoded)
    energy = (h * h).sum(1)
    along = np.divide((h_hat * h).sum(1) ** 2, energy, out=np.zeros_like(energy), where=energy > 0)
    total = float(energy.sum())
    return float(((h_hat * h_hat).sum(1) - along).sum() / total) if total > 0 else 0.0


def measure_codec(
    model: str,
    images: np.ndarray,
    qualities: Sequence[float],
    device: str = "auto",
    batch_size: int = 256,
    panel: Any = None,
) -> list[dict[str, Any]]:
    """Encode and decode ``images`` (N, H, W, C) at each quality.

    ``bpp`` counts every byte of each ``.ffc`` file (header, stream, CRC)
    over the image's pixels, averaged over images; ``psnr`` is the mean of
    per-image PSNR on the decoded uint8 pixels; ``invented`` the fine detail the decoded
    faces have that the originals lack (:func:`invented_detail`). With ``panel`` (a
    :class:`facecodec.panel.Panel` of the held-out recognizers, loaded on the same
    originals) each point also has ``heldout_agreement`` (mean %), its worst member
    and ``heldout_accuracy`` (mean %).
    """
    points = []
    for q in qualities:
        encoded = api.encode_batch(list(images), model, q, device, batch_size)
        decoded = np.stack(api.decode_batch([e.data for e in encoded], device, batch_size))
        psnrs = [psnr_uint8(img, dec) for img, dec in zip(images, decoded)]
        point = {
            "quality": q,
            "bpp": round(float(np.mean([e.bpp for e in encoded])), 4),
            "bytes": round(float(np.mean([len(e.data) for e in encoded])), 2),
            "psnr": round(float(np.mean(psnrs)), 3),
            "invented": round(invented_detail(images, decoded), 3),
        }
        if panel is not None:
            scored = panel.score(decoded)
            point["heldout_agreement"] = scored["agreement"]
            point["heldout_agreement_worst"] = scored["agreement_worst"]
            point["heldout_accuracy"] = scored["accuracy"]
        points.append(point)
    return points


def right_answers(predictions: Sequence[Any], labels: np.ndarray) -> np.ndarray:
    """Per item: 1 where the prediction's label is right, else 0 (a failed item counts as wrong)."""
    from .registry import FER_CLASSES

    return np.array(
        [not isinstance(p, Exception) and p.label == FER_CLASSES[int(y)] for p, y in zip(predictions, labels)],
        dtype=np.int8,
    )


def accuracy_of(predictions: Sequence[Any], labels: np.ndarray) -> float:
    """Share of predictions whose label is right (a failed item counts as wrong)."""
    return int(right_answers(predictions, labels).sum()) / max(1, len(labels))


def measure_classifier(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    codecs: Sequence[str],
    qualities: Sequence[float],
    device: str = "auto",
    batch_size: int = 256,
) -> dict[str, Any]:
    """Accuracy of classifier ``name`` on originals and on each codec's files per quality.

    A pixel classifier reads the decoded images; a latent head reads the
    decoded latents of its own codec, and is compared with the default pixel
    classifier on the same files (``pixel_accuracy``, ``agreement``).
    """
    from . import registry
    from .recognition import classify_batch

    spec = registry.classifier_spec(name)
    result: dict[str, Any] = {"images": len(images)}
    if spec.reads_pixels:
        preds = classify_batch(list(images), model=name, device=device, batch_size=batch_size)
        result["original_accuracy"] = round(accuracy_of(preds, labels), 4)
        codecs_to_measure = list(codecs)
    else:
        codecs_to_measure = [spec.codec]
    per_codec: dict[str, list[dict[str, Any]]] = {}
    for codec in codecs_to_measure:
        points = []
        for q in qualities:
            encoded = api.encode_batch(list(images), codec, q, device, batch_size)
            files = [e.data for e in encoded]
            point = {"quality": q, "bpp": round(float(np.mean([e.bpp for e in encoded])), 4)}
            if spec.reads_pixels:
                preds = classify_batch(files, model=name, domain="pixel", device=device, batch_size=batch_size)
                point["accuracy"] = round(accuracy_of(preds, labels), 4)
            else:
                latent = classify_batch(files, model=name, domain="latent", device=device, batch_size=batch_size)
                pixel = classify_batch(files, domain="pixel", device=device, batch_size=batch_size)
                point["accuracy"] = round(accuracy_of(latent, labels), 4)
                point["pixel_accuracy"] = round(accuracy_of(pixel, labels), 4)
                point["agreement"] = round(float(np.mean([a.label == b.label for a, b in zip(latent, pixel)])), 4)
            points.append(point)
        per_codec[codec] = points
    result["codecs"] = per_codec
    return result
