"""Folding BatchNorm into convolutions keeps a classifier's outputs."""

from __future__ import annotations

import torch
from torch import nn

from facecodec.models.classifier import FerNet
from facecodec.models.inference import fuse_conv_bn
from facecodec.models.latent_classifier import LatentFerNet, LatentTailNet


def _randomise_bn(model: nn.Module) -> None:
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def test_fused_fernet_matches_and_has_no_batchnorm() -> None:
    model = FerNet(width=8).eval()
    _randomise_bn(model)
    fused = fuse_conv_bn(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    x = torch.rand(4, 1, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), model(x), rtol=1e-4, atol=1e-4)


def test_fused_latent_head_matches_and_leaves_the_original_alone() -> None:
    model = LatentFerNet(latent_channels=8, width=16).eval()
    _randomise_bn(model)
    fused = fuse_conv_bn(model)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # untouched
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    y = torch.randn(3, 8, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(fused(y), model(y), rtol=1e-4, atol=1e-4)


def test_fused_tail_head_and_fused_classifier_stage_maps_match() -> None:
    model = LatentTailNet(latent_channels=8, width=16, stage_channels=16, out_channels=32).eval()
    _randomise_bn(model)
    fused = fuse_conv_bn(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    y, q = torch.randn(3, 8, 6, 6), torch.tensor([1.0, 4.5, 8.0])
    classifier = FerNet(width=8).eval()
    _randomise_bn(classifier)
    x = torch.rand(2, 1, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(fused(y, q), model(y, q), rtol=1e-4, atol=1e-4)
        # the split point is found again after folding removed the BatchNorm layers
        torch.testing.assert_close(
            fuse_conv_bn(classifier).stage_map(x), classifier.stage_map(x), rtol=1e-4, atol=1e-4
        )
