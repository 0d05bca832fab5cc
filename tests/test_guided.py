"""The guided codec: a classifier trunk inside the encoder, decoding unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from facecodec.cli import main
from facecodec.container import ANS
from facecodec.models.classifier import FerNet
from facecodec.models.guided import GuidedFaceHyperprior
from facecodec.models.hyperprior import FaceHyperprior
from facecodec.models.torch_inference import torch_codec
from facecodec.runtime.codec import CodedFace
from facecodec.train.warm_start import load_guide, missing_guide, warm_start

SIZES = {"N": 16, "M": 16, "levels": 8}


def _compress(model: torch.nn.Module, x: torch.Tensor, q: torch.Tensor) -> list[bytes]:
    return torch_codec(model).compress(x.numpy(), q.numpy())


def _decompress(model: torch.nn.Module, streams: list[bytes], q: torch.Tensor) -> torch.Tensor:
    faces = [CodedFace((s,), ANS, 6, 6) for s in streams]
    return torch.from_numpy(torch_codec(model).decompress(faces, q.numpy()))


def _pair() -> tuple[FaceHyperprior, GuidedFaceHyperprior]:
    torch.manual_seed(0)
    plain = FaceHyperprior(1, **SIZES)
    guided = GuidedFaceHyperprior(1, guide_width=4, **SIZES)
    kept = warm_start(guided, plain.state_dict())  # a plain codec's weights: the fine-tuning start
    assert missing_guide(kept) and {k.split(".")[0] for k in kept} == {"guide", "guide_proj"}
    for m in (plain, guided):
        m.update(force=True)
        m.eval()
    return plain, guided


def test_starts_as_the_plain_codec_it_was_initialised_from() -> None:
    plain, guided = _pair()
    x = torch.rand(3, 1, 48, 48)
    q = torch.tensor([1.0, 4.5, 8.0])
    assert torch.equal(guided.latent(x, q), plain.latent(x, q))
    assert _compress(guided, x, q) == _compress(plain, x, q)


def test_the_guide_changes_the_latent_but_decoding_needs_no_guide() -> None:
    plain, guided = _pair()
    with torch.no_grad():
        guided.guide_proj.weight.normal_(0, 50.0)
        guided.guide_proj.bias.fill_(2.0)
    x = torch.rand(2, 1, 48, 48)
    q = torch.tensor([2.0, 6.0])
    assert not torch.equal(guided.latent(x, q), plain.latent(x, q))
    streams = _compress(guided, x, q)
    assert streams != _compress(plain, x, q)
    # the decoder half is the plain codec's: same weights, same pixels
    assert torch.equal(_decompress(guided, streams, q), _decompress(plain, streams, q))


def test_guide_is_frozen_and_copied_from_a_classifier() -> None:
    _, guided = _pair()
    guided.train()
    assert not guided.guide.training and guided.g_a.training
    assert not any(p.requires_grad for p in guided.guide.parameters())
    classifier = FerNet(1, width=4).eval()
    load_guide(guided, classifier)
    x = torch.rand(2, 1, 48, 48)
    with torch.no_grad():
        assert torch.allclose(guided.guide((x - 0.5) / 0.25), classifier.stage_map(x))


def test_joint_training_leaves_the_guide_alone(tmp_path: Path, tiny_npz: Path) -> None:
    from facecodec import registry

    out = tmp_path / "guided"
    result = CliRunner().invoke(main, [
        "train", "joint", "--data", str(tiny_npz), "--model", "face-fer-v3",
        "--guide-init", "fer-cnn-joint-v1", "--classifier-init", "fer-cnn-joint-v1", "--batch-size", "8",
        "--epochs", "1", "--epoch-size", "16", "--out", str(out), "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 0, result.output
    state = torch.load(out / "last.pt", weights_only=True)["model"]
    teacher = registry.create_model("fer-cnn-joint-v1")
    trunk = teacher.body[: teacher.split_index()].state_dict()
    assert all(torch.equal(state[f"guide.{k}"], v) for k, v in trunk.items())
    assert state["guide_proj.weight"].abs().sum() > 0  # the projection learned


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--model", "face-hp-v1", "--guide-init", "fer-cnn-joint-v1"], "no encoder guide"),
     (["--model", "face-fer-v3"], "needs --guide-init")],
)  # fmt: skip
def test_guide_options_checked(tmp_path: Path, tiny_npz: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["train", "codec", "--data", str(tiny_npz), *args, "--epochs", "1",
                                       "--out", str(tmp_path / "x"), "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_projection_gets_its_own_learning_rate_and_the_trunk_none() -> None:
    from facecodec.train.codec_trainer import _param_groups

    _, guided = _pair()
    plain_group, guide_group = _param_groups(guided, 10.0)
    assert guide_group["lr_scale"] == 10.0 and plain_group["lr_scale"] == 1.0
    assert {id(p) for p in guide_group["params"]} == {id(p) for p in guided.guide_proj.parameters()}
    trunk = {id(p) for p in guided.guide.parameters()}
    assert not trunk & {id(p) for p in plain_group["params"]}
    assert len(_param_groups(FaceHyperprior(1, **SIZES), 10.0)) == 1  # plain codecs: one group
