"""The quality scale: its limits, the 1/16 steps a file stores, and quality errors.

Quality is a number in [1, 8] (1 smallest files, 8 best fidelity); a codec with
an expression-only tier also codes [its ``tier_min``, 1) (face-fer-v5: 0.25).
A ``.ffc`` file stores ``round(quality * 16)`` in one byte, so any value is
rounded to a multiple of 1/16.

This module imports neither numpy nor torch (the Pillow plugin reads qualities
at open time).
"""

from __future__ import annotations

from .errors import QualityError

QUALITY_MIN, QUALITY_MAX = 1.0, 8.0
QUALITY_RESOLUTION = 16  # file stores round(quality * 16)
DEFAULT_QUALITY = 4.0


def quality_code(quality: float, minimum: float = QUALITY_MIN) -> int:
    """The byte a file stores for ``quality``; outside [minimum, 8] is an error (``minimum``:
    the codec's lowest quality, 1 unless it has an expression-only tier, ``ModelSpec.quality_min``)."""
    q = _as_number(quality)
    if not minimum <= q <= QUALITY_MAX:
        raise QualityError(f"quality {q:g} is outside {minimum:g}..{QUALITY_MAX:g}")
    return round(q * QUALITY_RESOLUTION)


def quality_from_code(code: int) -> float:
    """The quality a stored code stands for."""
    return code / QUALITY_RESOLUTION


def codec_quality_code(codec: str, quality: float) -> int:
    """Like :func:`quality_code` for registered codec ``codec``; a quality it does not code
    is a :class:`QualityError` that names the codecs that do (if any)."""
    from . import registry

    spec = registry.codec_spec(codec)
    q = _as_number(quality)
    if spec.quality_min <= q <= QUALITY_MAX:
        return round(q * QUALITY_RESOLUTION)
    own = f"{spec.name} codes qualities {spec.quality_min:g}..{QUALITY_MAX:g}"
    others = [
        s.name for s in map(registry.codec_spec, registry.model_names("codec"))
        if s.quality_min <= q <= QUALITY_MAX
    ]  # fmt: skip
    if others:
        tier = " with an expression-only tier" if q < QUALITY_MIN else ""
        raise QualityError(f"{own}; {q:g} needs a codec{tier}: {', '.join(others)}")
    lowest = min(s.quality_min for s in map(registry.codec_spec, registry.model_names("codec")))
    raise QualityError(f"{own}; {q:g} is outside every codec's qualities ({lowest:g}..{QUALITY_MAX:g})")


def rounding_note(quality: float) -> str | None:
    """``"quality 1.03 rounded to 1"`` when a file cannot store ``quality`` exactly, else None."""
    stored = quality_from_code(round(_as_number(quality) * QUALITY_RESOLUTION))
    if stored == quality:
        return None
    return f"quality {quality:g} rounded to {stored:g} (files store qualities in steps of 1/{QUALITY_RESOLUTION})"


def _as_number(quality: object) -> float:
    try:
        return float(quality)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise QualityError(f"quality must be a number, got {quality!r}") from None
