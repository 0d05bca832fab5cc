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


def _fix(t: torch.Tensor, bits: int, limit: float) -> torch.Tensor:
    return torch.clamp(torch.round(t.double() * 2.0**bits), -limit, limit)


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
            self.layers.append(
                (kind, weight, bias, layer.stride[0], layer.padding[0], out_pad)
            )

    @torch.no_grad()
    def __call__(self, z_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(scales, means)`` as float64 dyadic rationals, on the CPU."""
        a = _fix(z_hat.cpu(), ACT_BITS, ACT_LIMIT)
        last = len(self.layers) - 1
        for i, (kind, weight, bias, stride, pad, out_pad) in enumerate(self.layers):
            if kind == "deconv":
                acc = F.conv_transpose2d(
                    a, weight, None, stride=stride, padding=pad, output_padding=out_pad
                )
            else:
                acc = F.conv2d(a, weight, None, stride=stride, padding=pad)
            acc = acc + bias.view(1, -1, 1, 1)
            a = torch.floor(acc / 2.0**WEIGHT_BITS)
            if i != last:
                a = torch.clamp(a, 0.0, ACT_LIMIT)
        scales, means = (a / 2.0**ACT_BITS).chunk(2, dim=1)
        return scales, means
