"""Integer-exact hyper-synthesis: entropy parameters that never desync.

A learned codec only decodes if the decoder derives *exactly* the same entropy
parameters (means, scale indexes) as the encoder did. Float convolutions do not
promise that: their summation order changes with the device, the thread count
and the batch size (CompressAI issue #279: encode on GPU, decode on CPU gives
garbage). Here the hyper-synthesis ``h_s`` is re-run in fixed point:

* weights are rounded to integers in units of ``2**-WEIGHT_BITS``,
* activations are integers in units of ``2**-ACT_BITS``, clamped to
  ``±ACT_LIMIT``,
* each layer is an integer product-sum, computed in float64 where every
  operand and partial sum is an integer below ``2**53`` and therefore exact in
  any summation order, followed by an exact floor-shift and ReLU.

So the output is a pure function of the decoded ``z`` symbols on every machine,
thread count and batch layout, and *how* a layer is computed cannot change its
result, only its speed. Bound: ``|w| < 2**16``, ``|a| <= 2**21``, fan-in
``< 2**13`` gives partial sums ``< 2**50``.

This is numpy only: the encoder and the decoder, the torch reference path and
the lean runtime all run this one implementation. The weights are those of the
float model's ``h_s`` (``h_s.0``: transposed 5×5 convolution, stride 2;
``h_s.2``: 3×3 convolution; ``h_s.4``: 1×1 convolution), read from its state::

    z_hat --fix--> C(5,s2) -> ReLU -> c(3) -> ReLU -> c(1) -> (scales, means)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

WEIGHT_BITS = 12
ACT_BITS = 10
ACT_LIMIT = float(2**21)
WEIGHT_LIMIT = float(2**16 - 1)
#: the layers of ``h_s`` in a state dict: (prefix, transposed?, stride, padding, output padding)
LAYERS = (("h_s.0", True, 2, 2, 1), ("h_s.2", False, 1, 1, 0), ("h_s.4", False, 1, 0, 0))
#: batches of at least this many faces run a transposed convolution as one product with its
#: dense operator (built once per input size: about 0.4 s and 16 MB for a 48×48 face, then
#: about 10× faster); smaller batches, and operators over DENSE_LIMIT entries, run it tap by tap
DENSE_MIN_BATCH = 32
DENSE_LIMIT = 2**22


def _fix(t: np.ndarray, bits: int, limit: float) -> np.ndarray:
    return np.clip(np.round(np.asarray(t, dtype=np.float64) * 2.0**bits), -limit, limit)


def _conv_nhwc(a: np.ndarray, taps: np.ndarray, pad: int) -> np.ndarray:
    """Stride-1 convolution, channels last: (B, h, w, C) with ``taps`` (k, k, C, C') ->
    (B, h', w', C'), as one matrix product per kernel tap over the shifted input (exact sums)."""
    b = a.shape[0]
    kh, kw, cin, cout = taps.shape
    if pad:
        a = np.pad(a, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    oh, ow = a.shape[1] - kh + 1, a.shape[2] - kw + 1
    out = None
    for i in range(kh):
        for j in range(kw):
            tap = a[:, i : i + oh, j : j + ow, :].reshape(-1, cin) @ taps[i, j]
            out = tap if out is None else np.add(out, tap, out=out)
    return out.reshape(b, oh, ow, cout)


def _deconv_sizes(
    h: int, w: int, weight: np.ndarray, stride: int, pad: int, out_pad: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """A transposed convolution's output size before and after cropping ``pad``: ((H, W), (h', w'))."""
    kh, kw = weight.shape[2:]
    full = ((h - 1) * stride + kh + out_pad, (w - 1) * stride + kw + out_pad)
    return full, (full[0] - 2 * pad, full[1] - 2 * pad)


def _deconv(a: np.ndarray, weight: np.ndarray, stride: int, pad: int, out_pad: int) -> np.ndarray:
    """Transposed convolution (B, C, h, w) with (C, C', k, k) weights, as torch computes it:
    one matrix product, then each kernel tap's products added at its strided place."""
    b, c, h, w = a.shape
    _, cout, kh, kw = weight.shape
    (full_h, full_w), (oh, ow) = _deconv_sizes(h, w, weight, stride, pad, out_pad)
    taps = (a.transpose(0, 2, 3, 1).reshape(-1, c) @ weight.reshape(c, -1)).reshape(b, h, w, cout, kh, kw)
    full = np.zeros((b, cout, full_h, full_w))
    for i in range(kh):
        for j in range(kw):
            full[:, :, i : i + (h - 1) * stride + 1 : stride, j : j + (w - 1) * stride + 1 : stride] += (
                taps[..., i, j].transpose(0, 3, 1, 2)
            )
    return full[:, :, pad : pad + oh, pad : pad + ow]


class ExactHyperSynthesis:
    """Fixed-point copy of a float ``h_s``, built from its weights (numpy arrays, any float dtype).

    A transposed layer keeps its weights as torch lays them out (C, C', k, k); a convolution
    keeps them as kernel taps (k, k, C, C'), each a contiguous matrix for the products."""

    def __init__(self, state: Mapping[str, np.ndarray]) -> None:
        self.layers = []
        for prefix, transposed, stride, pad, out_pad in LAYERS:
            weight = _fix(state[f"{prefix}.weight"], WEIGHT_BITS, WEIGHT_LIMIT)
            if not transposed:
                weight = np.ascontiguousarray(weight.transpose(2, 3, 1, 0))
            bias = _fix(state[f"{prefix}.bias"], WEIGHT_BITS + ACT_BITS, 2.0**52)
            self.layers.append((transposed, weight, bias, stride, pad, out_pad))
        self._dense: dict[tuple[int, int, int], np.ndarray] = {}

    def _deconv(self, i: int, a: np.ndarray) -> np.ndarray:
        """Layer ``i`` (transposed) on ``a`` (B, C, h, w), channels-last out (B, h', w', C');
        the same exact sums whichever way it is computed."""
        _, weight, _, stride, pad, out_pad = self.layers[i]
        b, c, h, w = a.shape
        cout, n = weight.shape[1], c * h * w
        (full_h, full_w), (oh, ow) = _deconv_sizes(h, w, weight, stride, pad, out_pad)
        # building the operator transposes n basis inputs (at most 4·DENSE_LIMIT values uncropped)
        if b < DENSE_MIN_BATCH or n * cout * full_h * full_w > 4 * DENSE_LIMIT or n * cout * oh * ow > DENSE_LIMIT:
            return _deconv(a, weight, stride, pad, out_pad).transpose(0, 2, 3, 1)
        key = (i, h, w)
        if key not in self._dense:
            basis = _deconv(np.eye(n).reshape(n, c, h, w), weight, stride, pad, out_pad)
            self._dense[key] = np.ascontiguousarray(basis.transpose(0, 2, 3, 1).reshape(n, -1))
        return (a.reshape(b, -1) @ self._dense[key]).reshape(b, oh, ow, cout)

    def __call__(self, z_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(scales, means)`` for ``z_hat`` (B, N, h, w) as float64 dyadic rationals (B, M, h', w')."""
        a = _fix(z_hat, ACT_BITS, ACT_LIMIT)
        last = len(self.layers) - 1
        for i, (transposed, weight, bias, _, pad, _) in enumerate(self.layers):
            acc = self._deconv(i, a) if transposed else _conv_nhwc(a, weight, pad)  # channels last
            # dividing by a power of two is exact
            a = np.floor((acc + bias) / 2.0**WEIGHT_BITS)
            if i != last:
                np.clip(a, 0.0, ACT_LIMIT, out=a)
        scales, means = np.split(a.transpose(0, 3, 1, 2) / 2.0**ACT_BITS, 2, axis=1)
        return scales, means
