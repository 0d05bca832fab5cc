"""The quality scale: its limits, the 1/16 steps a file stores, and quality errors.

Quality is a number in [1, 8] (1 smallest files, 8 best fidelity), the same for
every codec. A ``.ffc`` file stores ``round(quality * 16)`` in one byte, so any value is
rounded to a multiple of 1/16.

This module imports neither numpy nor torch (the Pillow plugin reads qualities
at open time).
"""

from __future__ import annotations

from .errors import QualityError

QUALITY_MIN, QUALITY_MAX = 1.0, 8.0
QUALITY_RESOLUTION = 16  # file stores round(quality * 16)
DEFAULT_QUALITY = 4.0


def quality_code(quality: float) -> int:
    """The byte a file stores for ``quality``; outside [1, 8] is an error."""
    q = _as_number(quality)
    if not QUALITY_MIN <= q <= QUALITY_MAX:
        raise QualityError(f"quality {q:g} is outside {QUALITY_MIN:g}..{QUALITY_MAX:g}")
    return round(q * QUALITY_RESOLUTION)


def quality_from_code(code: int) -> float:
    """The quality a stored code stands for."""
    return code / QUALITY_RESOLUTION


def codec_quality_code(codec: str, quality: float) -> int:
    """Like :func:`quality_code` for registered codec ``codec``; a quality it does not code
    is a :class:`QualityError` that names the codec and its qualities."""
    from . import registry

    spec = registry.codec_spec(codec)
    q = _as_number(quality)
    if not QUALITY_MIN <= q <= QUALITY_MAX:
        raise QualityError(f"{spec.name} codes qualities {QUALITY_MIN:g}..{QUALITY_MAX:g}, got {q:g}")
    return round(q * QUALITY_RESOLUTION)


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
