"""A latent head that ends in a pixel classifier's last stage (LatentTailNet)."""

from __future__ import annotations

import pytest
import torch

from facecodec.models.classifier import FerNet
from facecodec.models.latent_classifier import LatentTailNet


def _pair() -> tuple[LatentTailNet, FerNet]:
    torch.manual_seed(0)
    classifier = FerNet(width=8).eval()
    head = LatentTailNet(latent_channels=12, width=16, stage_channels=32, out_channels=64).eval()
    return head, classifier


def test_stage_map_has_the_classifiers_third_stage_shape() -> None:
    head, classifier = _pair()
    x = torch.rand(2, 1, 48, 48)
    y = torch.randn(2, 12, 6, 6)
    with torch.no_grad():
        assert classifier.stage_map(x).shape == (2, 32, 6, 6)
        assert head.stage_map(y, torch.tensor([2.0, 7.0])).shape == (2, 32, 6, 6)
        assert head(y, torch.tensor([2.0, 7.0])).shape == (2, 7)


def test_init_from_makes_the_tail_finish_the_classifier_exactly() -> None:
    head, classifier = _pair()
    x = torch.rand(3, 1, 48, 48)
    with torch.no_grad():
        before = head.classify_map(classifier.stage_map(x))
        head.init_from(classifier)
        after = head.classify_map(classifier.stage_map(x))
        assert not torch.allclose(before, classifier(x), atol=1e-3)
        torch.testing.assert_close(after, classifier(x), rtol=1e-5, atol=1e-5)


def test_quality_is_required() -> None:
    head, _ = _pair()
    with pytest.raises(ValueError, match="quality"):
        head(torch.randn(1, 12, 6, 6))
