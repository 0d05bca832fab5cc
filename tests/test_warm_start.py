"""Fine-tuning starts (facecodec.train.warm_start): a wider codec from a narrower one's weights."""

from __future__ import annotations

import pytest
import torch

from facecodec.errors import WeightsError
from facecodec.models.classifier import FerNet
from facecodec.models.hyperprior import FaceHyperprior
from facecodec.models.semantic import SemanticFaceHyperprior
from facecodec.train.warm_start import GUIDE_PREFIXES, load_guide, missing_guide, warm_start

SIZES = {"N": 16, "M": 16, "levels": 8}


def _plain_and_semantic() -> tuple[FaceHyperprior, SemanticFaceHyperprior]:
    torch.manual_seed(0)
    plain = FaceHyperprior(1, **SIZES)
    with torch.no_grad():  # a trained-looking start: nothing zero, nothing at its init value
        for p in plain.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    semantic = SemanticFaceHyperprior(1, guide_width=4, sem_channels=2, sem_hidden=8, **SIZES)
    load_guide(semantic, FerNet(1, width=4).eval())  # trained guide weights, to be kept
    return plain.eval(), semantic.eval()


def test_a_plain_codec_warm_starts_the_expression_code_codec_decoding_the_same() -> None:
    plain, semantic = _plain_and_semantic()
    guide_before = {k: v.clone() for k, v in semantic.state_dict().items() if k.startswith(GUIDE_PREFIXES)}
    kept = warm_start(semantic, plain.state_dict())
    y = torch.randn(3, 16, 6, 6)
    padded = torch.cat([y, torch.zeros(3, 2, 6, 6)], dim=1)  # the code's channels: zero
    with torch.no_grad():
        assert torch.allclose(semantic.g_s(padded), plain.g_s(y), atol=1e-6)
        z = torch.randn(3, 16, 2, 2)
        scales, means = semantic.h_s(z).chunk(2, dim=1)
        plain_scales, plain_means = plain.h_s(z).chunk(2, dim=1)
        assert torch.allclose(scales[:, :16], plain_scales, atol=1e-6)  # the image channels' prior too
        assert torch.allclose(means[:, :16], plain_means, atol=1e-6)
    state = semantic.state_dict()
    assert all(torch.equal(state[k], v) for k, v in guide_before.items())  # guide weights kept
    assert set(guide_before) <= kept and missing_guide(kept)  # and reported as not from the start
    assert torch.equal(state["g_a.0.weight"], plain.state_dict()["g_a.0.weight"])  # the rest is the start's


def test_complete_weights_load_plainly_and_a_mismatch_is_refused() -> None:
    plain, semantic = _plain_and_semantic()
    other = SemanticFaceHyperprior(1, guide_width=4, sem_channels=2, sem_hidden=8, **SIZES)
    assert warm_start(other, semantic.state_dict()) == set()
    assert all(torch.equal(a, b) for a, b in zip(other.parameters(), semantic.parameters()))
    broken = {k: v for k, v in plain.state_dict().items() if not k.startswith("g_a.")}
    with pytest.raises(WeightsError, match="do not fit"):
        warm_start(FaceHyperprior(1, **SIZES), broken)  # only a wider codec's own parts are filled in


def test_model_classes_load_only_their_own_weights() -> None:
    plain, semantic = _plain_and_semantic()
    with pytest.raises(RuntimeError):
        semantic.load_state_dict(plain.state_dict())  # no warm start hidden in the model class
