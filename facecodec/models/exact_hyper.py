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

So the output is a pure function of the decoded ``z`` symbols on every device,
thread count and batch layout. Bound: ``|w| < 2**16``, ``|a| <= 2**21``,
fan-in ``< 2**13`` gives partial sums ``< 2**50``.

Because every sum is exact, *how* a layer is computed cannot change its result,
only its speed. For small inputs (a 48×48 face has a 3×3 ``z``) the transposed
convolution is run as one matrix product with its dense operator (built once
per input size from the same integer weights: the same non-zero products, so
the same sums); float64 ``conv_transpose2d`` on the CPU is about 4× slower
per face in batches (single faces keep it: reading the operator would cost more).
Convolutions run channels-last (about 1.4× faster in float64).

Data flow (``C`` = transposed conv, ``c`` = conv, all from the float model)::

    z_hat --fix--> C(5,s2) -> ReLU -> c(3) -> ReLU -> c(3) -> (scales, means)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

WEIGHT_BITS = 12
ACT_BITS = 10
ACT_LIMIT = float(2**21)
WEIGHT_LIMIT = float(2**16 - 1)
# largest dense operator (entries) built for a transposed convolution: 4M
# float64 entries = 32 MB; a 48×48 face needs 576 × 3456 ≈ 2M.
DENSE_LIMIT = 2**22
# the dense product reads the whole operator (16 MB for a 48×48 face) once per
# call: it pays from about 8 faces on; smaller batches use conv_transpose2d
DENSE_MIN_BATCH = 16


def _fix(t: torch.Tensor, bits: int, limit: float) -> torch.Tensor:
    return torch.clamp(torch.round(t.double() * 2.0**bits), -limit, limit)


def _deconv(
    a: torch.Tensor, weight: torch.Tensor, stride: int, pad: int, out_pad: int
) -> torch.Tensor:
    return F.conv_transpose2d(a, weight, None, stride=stride, padding=pad, output_padding=out_pad)


class ExactHyperSynthesis:
    """Fixed-point copy of a float ``h_s`` made of ConvTranspose2d/Conv2d/ReLU."""

    def __init__(self, h_s: nn.Sequential) -> None:
        self.layers: list[tuple[str, torch.Tensor, torch.Tensor, int, int, int]] = []
        for layer in h_s:
            if isinstance(layer, nn.ReLU):
                continue
            if not isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                raise TypeError(f"unsupported layer in h_s: {type(layer).__name__}")
            kind = "deconv" if isinstance(layer, nn.ConvTranspose2d) else "conv"
            weight = _fix(layer.weight.detach().cpu(), WEIGHT_BITS, WEIGHT_LIMIT)
            bias = _fix(layer.bias.detach().cpu(), WEIGHT_BITS + ACT_BITS, 2.0**52)
            out_pad = layer.output_padding[0] if kind == "deconv" else 0
            if kind == "conv":
                weight = weight.contiguous(memory_format=torch.channels_last)
            self.layers.append((kind, weight, bias, layer.stride[0], layer.padding[0], out_pad))
        self._dense: dict[tuple[int, int, int], tuple[torch.Tensor, torch.Size] | None] = {}

    def _dense_operator(self, i: int, shape: torch.Size) -> tuple[torch.Tensor, torch.Size] | None:
        """Transposed conv ``i`` on (·, C, h, w) inputs as a (C·h·w, C'·h'·w') matrix and
        its output shape (C', h', w'), or None where that matrix would be too big."""
        key = (i, shape[2], shape[3])
        if key not in self._dense:
            _, weight, _, stride, pad, out_pad = self.layers[i]
            cin, cout, kh, kw = weight.shape
            out_shape = torch.Size(
                (
                    cout,
                    (shape[2] - 1) * stride - 2 * pad + kh + out_pad,
                    (shape[3] - 1) * stride - 2 * pad + kw + out_pad,
                )
            )
            n_in, n_out = cin * shape[2] * shape[3], out_shape.numel()
            self._dense[key] = None
            if n_in * n_out <= DENSE_LIMIT:
                basis = torch.eye(n_in, dtype=torch.float64).view(n_in, cin, shape[2], shape[3])
                matrix = _deconv(basis, weight, stride, pad, out_pad).reshape(n_in, n_out)
                self._dense[key] = (matrix, out_shape)
        return self._dense[key]

    @torch.no_grad()
    def __call__(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(scales, means)`` as float64 dyadic rationals, on the CPU."""
        a = _fix(z_hat.cpu(), ACT_BITS, ACT_LIMIT)
        last = len(self.layers) - 1
        for i, (kind, weight, bias, stride, pad, out_pad) in enumerate(self.layers):
            dense = (
                self._dense_operator(i, a.shape)
                if kind == "deconv" and a.shape[0] >= DENSE_MIN_BATCH
                else None
            )
            if dense is not None:
                matrix, out_shape = dense
                acc = (a.reshape(a.shape[0], -1) @ matrix).view(a.shape[0], *out_shape)
            elif kind == "deconv":
                acc = _deconv(a, weight, stride, pad, out_pad)
            else:
                a = a.contiguous(memory_format=torch.channels_last)
                acc = F.conv2d(a, weight, None, stride=stride, padding=pad)
            # in place (acc is a fresh tensor); dividing by a power of two is exact
            a = acc.add_(bias.view(1, -1, 1, 1)).div_(2.0**WEIGHT_BITS).floor_()
            if i != last:
                a.clamp_(0.0, ACT_LIMIT)
        scales, means = (a / 2.0**ACT_BITS).chunk(2, dim=1)
        return scales, means
