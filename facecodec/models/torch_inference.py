"""The PyTorch path of inference: torch transforms behind the runtime's coding, and classifiers.

:class:`TorchTransforms` gives a trained :class:`~.hyperprior.FaceHyperprior`
(or a subclass) the :class:`~facecodec.runtime.codec.Transforms` interface, so
that :func:`torch_codec` codes with the very same gains, symbols, exact
hyper-synthesis and streams as the lean runtime; only the float transforms
run in torch (on any device: this is the CUDA path, and the reference the
runtime's ONNX graphs are tested against).
"""

from __future__ import annotations

import numpy as np
import torch

from ..runtime.codec import Codec


class TorchTransforms:
    """``analyze`` / ``synthesize`` of a torch codec on ``device``, numpy in and out."""

    def __init__(self, model: torch.nn.Module, device: torch.device | str = "cpu") -> None:
        self.model, self.device = model, torch.device(device)

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(self.device)

    @torch.no_grad()
    def analyze(self, x: np.ndarray, gain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = self.model.analysis(self._tensor(x)).float() * self._tensor(gain)
        z = self.model.h_a(y).float()
        return y.cpu().numpy(), z.cpu().numpy()

    @torch.no_grad()
    def synthesize(self, y_hat: np.ndarray) -> np.ndarray:
        return self.model.g_s(self._tensor(y_hat)).float().clamp_(0, 1).cpu().numpy()


def torch_codec(model: torch.nn.Module, device: torch.device | str = "cpu") -> Codec:
    """``model`` (an ``update()``d codec in eval mode) as a :class:`Codec` running on ``device``."""
    state = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return Codec(state, TorchTransforms(model.eval(), device))


def torch_classifier(model: torch.nn.Module, device: torch.device | str = "cpu"):
    """A classifier or latent head as ``f(x, quality=None) -> probabilities`` on numpy arrays
    (BatchNorm folded, channels-last: the same outputs, faster)."""
    from .inference import inference_copy

    net = inference_copy(model).to(device)
    dev = torch.device(device)

    @torch.no_grad()
    def run(x: np.ndarray, quality: np.ndarray | None = None) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(dev)
        extra = () if quality is None else (torch.from_numpy(np.asarray(quality, np.float32)).to(dev),)
        return net(t.contiguous(memory_format=torch.channels_last), *extra).float().softmax(1).cpu().numpy()

    return run
