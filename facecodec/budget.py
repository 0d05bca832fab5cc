"""Rate control: the best quality per image that fits a byte or bpp budget.

``facecodec encode --max-bytes N`` / ``--target-bpp X`` (and
:func:`encode_to_budget`) search each image's quality on the grid the file
stores (steps of 1/16 from 1 to 8) by bisection: the file at quality 1 and at
quality 8 are tried, then the interval is halved until neighbours on the grid
bracket the budget — at most 9 encodes per image, all batched. The result is
the highest quality whose *whole file* (header and CRC included) fits. File
size grows with quality almost everywhere; where it does not, the search still
only returns files that fit. An image that does not fit even at quality 1 gets
a :class:`~facecodec.errors.BudgetError` naming the smallest size possible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import api, registry
from .errors import BudgetError, FacecodecError
from .imageio import to_array
from .quality import QUALITY_MAX, QUALITY_MIN, QUALITY_RESOLUTION

CODE_MAX = round(QUALITY_MAX * QUALITY_RESOLUTION)


def bytes_for_bpp(bpp: float, width: int, height: int) -> int:
    """The byte budget a whole-file bpp target allows for a ``width``×``height`` image."""
    return math.floor(bpp * width * height / 8)


def encode_to_budget(
    images: Sequence[Any],
    model: str = registry.DEFAULT_CODEC,
    max_bytes: int | Sequence[int] | None = None,
    target_bpp: float | None = None,
    device: str = "auto",
    batch_size: int = api.DEFAULT_BATCH,
) -> list[api.Encoded | FacecodecError]:
    """Encode each image at the highest quality whose file fits its budget.

    Give ``max_bytes`` (one number, or one per image) or ``target_bpp``
    (whole-file bits per pixel). Each slot holds the :class:`~facecodec.api.Encoded`
    file or the :class:`FacecodecError` of an image that cannot fit.
    """
    if (max_bytes is None) == (target_bpp is None):
        raise FacecodecError("give exactly one of max_bytes and target_bpp")
    arrays = [to_array(im) for im in images]
    n = len(arrays)
    if target_bpp is not None:
        if not target_bpp > 0:
            raise BudgetError(f"target bpp must be positive, got {target_bpp}")
        budgets = [bytes_for_bpp(target_bpp, a.shape[1], a.shape[0]) for a in arrays]
    elif isinstance(max_bytes, int):
        budgets = [max_bytes] * n
    else:
        budgets = list(max_bytes)
        if len(budgets) != n:
            raise FacecodecError("give one byte budget, or one per image")

    def encode_at(idx: list[int], codes: dict[int, int]) -> dict[int, api.Encoded]:
        qualities = [codes[i] / QUALITY_RESOLUTION for i in idx]
        out = api.encode_batch([arrays[i] for i in idx], model, qualities, device, batch_size)
        return dict(zip(idx, out))

    code_min = round(QUALITY_MIN * QUALITY_RESOLUTION)
    everyone = list(range(n))
    best: dict[int, api.Encoded] = {}
    results: list[api.Encoded | FacecodecError | None] = [None] * n
    smallest = encode_at(everyone, dict.fromkeys(everyone, code_min))
    lo, hi = {}, {}
    for i, enc in smallest.items():
        if len(enc.data) > budgets[i]:
            results[i] = BudgetError(
                f"does not fit in {budgets[i]} bytes: the smallest file ({model}, quality {enc.quality:g}) "
                f"has {len(enc.data)} bytes"
            )
        else:
            best[i], lo[i], hi[i] = enc, code_min, CODE_MAX + 1
    top = encode_at(list(lo), dict.fromkeys(lo, CODE_MAX)) if lo else {}
    for i, enc in top.items():
        if len(enc.data) <= budgets[i]:
            best[i], lo[i] = enc, CODE_MAX
        else:
            hi[i] = CODE_MAX
    active = [i for i in lo if hi[i] - lo[i] > 1]
    while active:
        mids = {i: (lo[i] + hi[i]) // 2 for i in active}
        for i, enc in encode_at(active, mids).items():
            if len(enc.data) <= budgets[i]:
                best[i], lo[i] = enc, mids[i]
            else:
                hi[i] = mids[i]
        active = [i for i in active if hi[i] - lo[i] > 1]
    for i, enc in best.items():
        results[i] = enc
    return results  # type: ignore[return-value]
