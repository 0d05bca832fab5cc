"""The expression-code codec (face-fer-v3): a code in the latent, read by the decoder and a head."""

from __future__ import annotations

from pathlib import Path

import torch
from click.testing import CliRunner

from facecodec.cli import main
from facecodec.container import ANS
from facecodec.models.classifier import FerNet
from facecodec.models.guided import GuidedFaceHyperprior
from facecodec.models.latent_classifier import SemanticLatentHead
from facecodec.models.semantic import SemanticFaceHyperprior
from facecodec.models.torch_inference import torch_codec
from facecodec.runtime.codec import CodedFace
from facecodec.train.warm_start import load_guide, missing_guide, warm_start

SIZES = {"N": 16, "M": 16, "levels": 8, "guide_width": 4}


def _compress(model: torch.nn.Module, x: torch.Tensor, q: torch.Tensor) -> list[bytes]:
    return torch_codec(model).compress(x.numpy(), q.numpy())


def _decompress(model: torch.nn.Module, streams: list[bytes], q: torch.Tensor) -> torch.Tensor:
    faces = [CodedFace((s,), ANS, 6, 6) for s in streams]
    return torch.from_numpy(torch_codec(model).decompress(faces, q.numpy()))


def _pair() -> tuple[GuidedFaceHyperprior, SemanticFaceHyperprior, set[str]]:
    torch.manual_seed(0)
    guided = GuidedFaceHyperprior(1, **SIZES)
    load_guide(guided, FerNet(1, width=4).eval())
    with torch.no_grad():
        guided.guide_proj.weight.normal_(0, 5.0)
    semantic = SemanticFaceHyperprior(1, sem_channels=2, sem_hidden=8, **SIZES)
    kept = warm_start(semantic, guided.state_dict())  # the fine-tuning start
    for m in (guided, semantic):
        m.update(force=True)
        m.eval()
    return guided, semantic, kept


def test_starts_decoding_as_the_codec_it_was_initialised_from() -> None:
    guided, semantic, kept = _pair()
    assert missing_guide(kept)  # the guide's last stage is not in a guided codec's weights
    assert not any(k.startswith(("guide.", "guide_proj.")) for k in kept)  # but its trunk and projection are
    x = torch.rand(3, 1, 48, 48)
    q = torch.tensor([1.0, 4.5, 8.0])
    streams = _compress(semantic, x, q)
    assert torch.equal(semantic.latent(x, q)[:, :16], guided.latent(x, q))
    assert torch.equal(_decompress(semantic, streams, q), _decompress(guided, _compress(guided, x, q), q))


def test_the_code_is_the_same_at_every_quality_and_reaches_the_decoder() -> None:
    _, semantic, _ = _pair()
    with torch.no_grad():  # trained gains differ by quality
        semantic.log_gain.copy_(torch.linspace(-1.0, 1.0, 8)[:, None].expand(8, 16))
        semantic.log_inv_gain.copy_(-semantic.log_gain)
    x = torch.rand(2, 1, 48, 48)
    low, high = (semantic.latent(x, torch.full((2,), q)) for q in (1.0, 8.0))
    assert torch.equal(low[:, 16:], high[:, 16:])
    assert not torch.equal(low[:, :16], high[:, :16])
    with torch.no_grad():
        semantic.g_s[0].weight[16:].normal_(0, 1.0)  # let g_s read the code
        code_off = low.clone()
        code_off[:, 16:] = 0
        assert not torch.equal(semantic.g_s(low), semantic.g_s(code_off))


def test_head_reads_only_the_code() -> None:
    head = SemanticLatentHead(latent_channels=18, sem_channels=2, hidden=8).eval()
    y = torch.randn(4, 18, 6, 6)
    other = y.clone()
    other[:, :16] = torch.randn(4, 16, 6, 6)
    assert torch.equal(head(y), head(other))
    assert head(torch.randn(1, 18, 8, 8)).shape == (1, 7)  # other sizes: averaged to 6×6


def test_semantic_term_is_zero_when_the_head_agrees() -> None:
    from facecodec.train.codec_trainer import semantic_term

    logits = torch.randn(5, 7)
    same = semantic_term({"guide_logits": logits, "sem_logits": logits})
    assert float(same["kl"]) < 1e-6 and float(same["agree"]) == 1.0
    assert float(semantic_term({"guide_logits": logits, "sem_logits": -logits})["kl"]) > 0.1


def test_joint_run_trains_the_code_and_exports_its_head(tmp_path: Path, tiny_npz: Path) -> None:
    from facecodec import registry

    out = tmp_path / "semantic"
    result = CliRunner().invoke(main, [
        "train", "joint", "--data", str(tiny_npz), "--model", "face-fer-v3",
        "--guide-init", "fer-cnn-joint-v1", "--classifier-init", "fer-cnn-joint-v1", "--batch-size", "8",
        "--epochs", "1", "--epoch-size", "16", "--semantic-weight", "0.05", "--out", str(out),
        "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 0, result.output
    state = torch.load(out / "last.pt", weights_only=True)["model"]
    start = SemanticFaceHyperprior(**registry.get_spec("face-fer-v3").kwargs)
    assert not torch.equal(state["sem_proj.weight"], start.sem_proj.weight)  # random start: it moved
    teacher = registry.create_model("fer-cnn-joint-v1")
    assert torch.equal(state["guide_fc.weight"], teacher.head.weight)  # the guide stays frozen
    weights = tmp_path / "weights"
    result = CliRunner().invoke(main, ["train", "export", str(out / "last.pt"), "--name", "fer-latent-v8",
                                       "--out", str(weights)])  # fmt: skip
    assert result.exit_code == 0, result.output
    from safetensors.torch import load_file

    head = load_file(str(weights / "fer-latent-v8.safetensors"))
    assert torch.equal(head["mlp.0.weight"], state["sem_head.mlp.0.weight"])
    result = CliRunner().invoke(main, ["train", "export", str(out / "last.pt"), "--name", "face-hp-v1",
                                       "--out", str(weights)])  # fmt: skip
    assert result.exit_code == 1 and "does not hold a 'face-hp-v1'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_semantic_weight_needs_a_codec_with_a_code(tmp_path: Path, tiny_npz: Path) -> None:
    result = CliRunner().invoke(main, ["train", "codec", "--data", str(tiny_npz), "--model", "face-hp-v1",
                                       "--semantic-weight", "0.05", "--epochs", "1", "--out",
                                       str(tmp_path / "x"), "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 1
    assert "no expression code" in result.output and len(result.output.strip().splitlines()) == 1


def test_classify_pairs_face_fer_v3_and_v9_files_with_their_own_models() -> None:
    from facecodec import registry

    assert registry.latent_classifier_for("face-fer-v3").name == "fer-latent-v8"
    assert registry.latent_classifier_for("face-fer-v9").name == "fer-latent-v13"
    assert registry.pixel_classifier_for("face-fer-v3") == "fer-cnn-joint-v4"
    assert registry.pixel_classifier_for("face-fer-v9") == "fer-cnn-joint-v1"
    head = registry.get_spec("fer-latent-v8")
    codec = registry.get_spec("face-fer-v3").kwargs
    assert head.kwargs["latent_channels"] == codec["M"] + codec["sem_channels"]
