"""Per-image fidelity metrics and classifier predictions, batched.

* PSNR: per image on uint8 pixels (peak 255), averaged over images; an image
  decoded without any error counts as 100 dB so the mean stays finite.
* SSIM: ``pytorch_msssim.ssim`` on 0..255 pixels with the standard Gaussian
  window of Wang et al. (2004), 11×11, σ = 1.5, valid filtering (no padding):
  a 48×48 face gives 38×38 window positions. Images with a side under 11 px
  use the largest odd window that fits. Colour: the mean over channels.
* MS-SSIM: ``pytorch_msssim.ms_ssim``, same window, 5 scales; only defined
  when the shorter side exceeds 160 px ((11 − 1) × 2⁴), otherwise None.
* Invented detail: the fine detail (each pixel minus the mean of its 3×3
  neighbourhood, edges replicated) of a decoded image that is *not* a scaled
  copy of the original's, as a fraction of the original's fine-detail energy,
  pooled over the images: with ``h`` the detail of the original and ``ĥ`` the
  decoded image's, ``Σ (‖ĥ‖² − ⟨ĥ, h⟩² / ‖h‖²) / Σ ‖h‖²``. A blurred or faithful
  image scores near 0; stripes, ringing or blocking that the original does not
  have score high. It needs no recognizer, so it sees the patterns a codec draws
  for a classifier's sake (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

PSNR_CAP = 100.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
MS_SSIM_MIN_SIDE = 160


def psnr(originals: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB of uint8 (N, H, W, C) arrays, capped at ``PSNR_CAP``."""
    from ..evaluate import psnr as uncapped

    return np.minimum(uncapped(originals, decoded), PSNR_CAP)


def invented_detail(originals: np.ndarray, decoded: np.ndarray) -> float:
    """Invented detail, pooled over uint8 (N, H, W, C) arrays (:func:`facecodec.evaluate.invented_detail`)."""
    from ..evaluate import invented_detail as pooled

    return pooled(originals, decoded)


def _tensor(images: np.ndarray) -> torch.Tensor:
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()


def ssim_window(height: int, width: int) -> int:
    """The SSIM window side used for an image of this size."""
    side = min(SSIM_WINDOW, height, width)
    return side if side % 2 else side - 1


def ssim(originals: np.ndarray, decoded: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Per-image SSIM of uint8 (N, H, W, C) arrays."""
    import torch
    from pytorch_msssim import ssim as _ssim

    win = ssim_window(*originals.shape[1:3])
    out = []
    with torch.no_grad():
        for s in range(0, len(originals), batch):
            x, y = _tensor(originals[s : s + batch]), _tensor(decoded[s : s + batch])
            out.append(
                _ssim(
                    x, y, data_range=255.0, size_average=False, win_size=win, win_sigma=SSIM_SIGMA
                )
            )
    return torch.cat(out).double().numpy()


def ms_ssim(originals: np.ndarray, decoded: np.ndarray, batch: int = 64) -> np.ndarray | None:
    """Per-image MS-SSIM, or None when the images are too small (side ≤ 160 px)."""
    if min(originals.shape[1:3]) <= MS_SSIM_MIN_SIDE:
        return None
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    out = []
    with torch.no_grad():
        for s in range(0, len(originals), batch):
            x, y = _tensor(originals[s : s + batch]), _tensor(decoded[s : s + batch])
            out.append(
                _ms_ssim(
                    x,
                    y,
                    data_range=255.0,
                    size_average=False,
                    win_size=SSIM_WINDOW,
                    win_sigma=SSIM_SIGMA,
                )
            )
    return torch.cat(out).double().numpy()


def classifier_input(images: np.ndarray, device: Any = "cpu") -> torch.Tensor:
    """uint8 (N, H, W, C) → float (N, 1, 48, 48) in [0, 1]: the classifier contract.

    Colour images become ITU-R 601 luma; other sizes are resized (bilinear,
    antialiased) to 48×48.
    """
    import torch
    import torch.nn.functional as F

    x = _tensor(images).to(device).div_(255.0)
    if x.shape[1] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)
        x = (x * weights).sum(dim=1, keepdim=True)
    if tuple(x.shape[2:]) != (48, 48):
        x = F.interpolate(x, size=(48, 48), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp_(0.0, 1.0)


def prepare_classifier(model: Any) -> Any:
    """An eval-mode copy of ``model``, BatchNorm folded into the convolutions, channels-last.

    The classifier sees every decoded face of every point, so its speed
    counts: on the 2-core CPU fer-cnn-v1 goes from about 320 to 550 faces/s
    (same predictions; logits differ by float rounding). Objects that are not
    torch modules are returned unchanged.
    """
    import torch

    from ..models.inference import inference_copy

    if isinstance(model, torch.nn.Module):
        model = inference_copy(model)
    return model


def predict(model: Any, images: np.ndarray, device: Any = "cpu", batch: int = 512) -> np.ndarray:
    """The classifier's predicted class (argmax of its logits) for each image."""
    import torch

    preds = []
    with torch.no_grad():
        for s in range(0, len(images), batch):
            x = classifier_input(images[s : s + batch], device)
            logits = model(x.contiguous(memory_format=torch.channels_last))
            preds.append(logits.argmax(dim=1).cpu())
    return torch.cat(preds).numpy().astype(np.int64)
