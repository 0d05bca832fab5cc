"""``facecodec bench``: facecodec codecs against JPEG, JPEG 2000, WebP, AVIF and JPEG XL.

:func:`run_bench` sweeps every codec over its qualities on a face dataset and
measures whole-file bpp, PSNR, SSIM (MS-SSIM on large images), a FER
classifier's accuracy and agreement on the decoded faces, and encode/decode
speed; it writes JSON, CSV and rate-quality plots. Modules:

* :mod:`.codecs`: the codec interface, the classical baselines, the facecodec adapter;
* :mod:`.metrics`: PSNR, SSIM, MS-SSIM, classifier predictions;
* :mod:`.runner`: the sweep (process pool for classical codecs);
* :mod:`.report`: BD-rate, summaries, JSON/CSV/plots, the rich tables.
"""

from __future__ import annotations

from .runner import run_bench

__all__ = ["run_bench"]
