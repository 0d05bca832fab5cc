"""Agreement with the training panel, and realism: the codec loss terms that ask for faces.

A codec tuned against one classifier learns what that network likes, not what
a face shows. These two terms ask instead that decoded faces read as the
originals read to *several* recognizers, and that they look like faces.

**Panel agreement** (the training panel of :mod:`facecodec.panel`, frozen)::

    A = mean over members f of  KL( f(v(x)) ‖ f(v(x̂)) )

where ``v`` is a random view applied identically to the original and the decoded
face (rotation ±8°, scale 0.9–1.1, shift ±6 %, mirror, then a random resize to
40–56 px that the recognizer resizes back, and a partial box blur), so that no
single network's sensitivity to exact pixel positions pays.

Two options meant to make what the codec learns less particular to the members
(measured in docs/training.md: neither raised the held-out panel's agreement):

* ``noise`` σ adds the same Gaussian noise to both views. A recognizer's reading
  under noise is a locally averaged (smoothed) classifier, whose input gradients
  follow image structure rather than the pixel-level patterns one network happens
  to respond to (Kaur, Cohen and Lipton, "Are Perceptually-Aligned Gradients a
  General Property of Robust Classifiers?", 2019).
* ``features`` also asks each member's feature map at every stage to match
  (``F = mean over members and stages of ‖f_l(v(x̂)) − f_l(v(x))‖₁ / ‖f_l(v(x))‖₁``):
  many channels at several scales to agree rather than seven logits, a perceptual
  loss in the sense of LPIPS (Zhang et al., CVPR 2018) made of the panel's own features.

**Realism** (after HiFiC, Mentzer et al. 2020, and MS-ILLM, Muckley et al. 2023):
a small patch discriminator ``D`` on 48×48 faces, trained with the
non-saturating loss ``softplus(−D(x)) + softplus(D(x̂))``; the codec gets

    G = softplus(−D(x̂))  and  FM = mean_l ‖D_l(x̂) − D_l(x)‖₁ / ‖D_l(x)‖₁

(``D_l``: the discriminator's intermediate feature maps; feature matching
steadies the adversarial signal on small data). All terms are in nats; the
codec trainer weighs them in bpp per nat.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .. import registry
from ..models.inference import inference_copy
from .augment import random_affine
from .task_loss import prediction_kl

VIEW_SIZES = (40, 56)  # a view's random resize, in px (recognizers resize back to their own input)


def random_views(x: torch.Tensor, x_hat: torch.Tensor, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The same random view (affine, resize, blur) of each original and its decoded face."""
    both = random_affine(torch.cat([x, x_hat], 1), rng, max_rotate_deg=8.0, max_shift=0.06)
    size = int(rng.integers(VIEW_SIZES[0], VIEW_SIZES[1] + 1))
    if size != both.shape[-1]:
        both = F.interpolate(both, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    box = F.avg_pool2d(F.pad(both, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    amount = torch.as_tensor(rng.uniform(0, 0.6, (len(x), 1, 1, 1)), dtype=x.dtype, device=x.device)
    both = amount * box + (1 - amount) * both
    return both[:, :1], both[:, 1:]


def feature_distance(maps_hat: list[torch.Tensor], maps: list[torch.Tensor]) -> torch.Tensor:
    """Mean over stages of ‖a − b‖₁ / ‖b‖₁ between decoded and original feature maps."""
    return torch.stack([(a - b).abs().mean() / b.abs().mean().clamp_min(1e-6) for a, b in zip(maps_hat, maps)]).mean()


class PanelAgreement:
    """Mean KL between the training panel's readings of original and decoded views
    (and, with ``features``, the distance between their feature maps)."""

    def __init__(self, names: list[str], device: torch.device, noise: float = 0.0, features: bool = False) -> None:
        self.names = [registry.training_panel_spec(n).name for n in names]  # held-out members refused
        self.noise, self.features = noise, features
        self.members = []
        for name in self.names:
            net = inference_copy(registry.create_model(name, device=device))
            for p in net.parameters():
                p.requires_grad_(False)
            self.members.append(net)

    def __call__(self, x: torch.Tensor, x_hat: torch.Tensor, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        view, view_hat = random_views(x, x_hat, rng)
        if self.noise:
            noise = torch.as_tensor(rng.normal(0.0, self.noise, view.shape), dtype=x.dtype, device=x.device)
            view, view_hat = view + noise, view_hat + noise
        kls, agree, dists = [], [], []
        for net in self.members:
            with torch.no_grad():
                maps, target = net.maps_and_logits(view)
            maps_hat, logits = net.maps_and_logits(view_hat)
            kls.append(prediction_kl(target, logits))
            agree.append((logits.argmax(1) == target.argmax(1)).float().mean())
            if self.features:
                dists.append(feature_distance(maps_hat, maps))
        out = {"kl": torch.stack(kls).mean(), "agree": torch.stack(agree).mean().detach()}
        if self.features:
            out["features"] = torch.stack(dists).mean()
        return out


class FaceDiscriminator(nn.Module):
    """Patch discriminator for 48×48 grey faces: four spectrally normalised strided convolutions
    (48 → 24 → 12 → 6) and a 1×1 output, one logit per 8×8-pixel patch."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        chans = (1, width, 2 * width, 4 * width)
        self.stages = nn.ModuleList(
            nn.Sequential(spectral_norm(nn.Conv2d(a, b, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True))
            for a, b in itertools.pairwise(chans)
        )
        self.out = spectral_norm(nn.Conv2d(chans[-1], 1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        h = x * 2 - 1
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        return self.out(h), feats


class Realism:
    """The discriminator, its optimiser, and the codec's adversarial and feature-matching terms."""

    def __init__(self, device: torch.device, lr: float = 2e-4) -> None:
        self.disc = FaceDiscriminator().to(device)
        self.optimizer = torch.optim.Adam(self.disc.parameters(), lr=lr, betas=(0.5, 0.9))

    def codec_terms(self, x: torch.Tensor, x_hat: torch.Tensor) -> dict[str, torch.Tensor]:
        """``adv`` and ``fm`` for the codec (gradients reach ``x_hat`` only)."""
        for p in self.disc.parameters():
            p.requires_grad_(False)
        logits, feats_hat = self.disc(x_hat)
        with torch.no_grad():
            _, feats = self.disc(x)
        for p in self.disc.parameters():
            p.requires_grad_(True)
        return {"adv": F.softplus(-logits).mean(), "fm": feature_distance(feats_hat, feats)}

    def step(self, x: torch.Tensor, x_hat: torch.Tensor) -> float:
        """One discriminator update on originals and (detached) decoded faces; returns its loss."""
        real, _ = self.disc(x)
        fake, _ = self.disc(x_hat.detach())
        loss = F.softplus(-real).mean() + F.softplus(fake).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())

    def state(self) -> dict[str, Any]:
        return {"discriminator": self.disc.state_dict(), "discriminator_optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.disc.load_state_dict(state["discriminator"])
        self.optimizer.load_state_dict(state["discriminator_optimizer"])
