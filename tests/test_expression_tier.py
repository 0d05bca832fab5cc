"""face-fer-v5's expression-only tier: below quality 1 a file carries only the expression code.

Random test weights (conftest): the mechanics, not the figures (those are in
test_shipped_weights and docs/models.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from test_cli import assert_one_line_error, run

from facecodec import api, container, registry
from facecodec.errors import QualityError
from facecodec.models.expression_tier import TIER_PREFIX
from facecodec.train.tier_trainer import TierTrainConfig, trade_off, train_tier


def test_files_from_quality_1_up_are_the_base_codecs(faces) -> None:
    """Without its tier, face-fer-v5 is a SemanticFaceHyperprior: from quality 1 up it writes
    what that codec writes with the same weights."""
    from facecodec.models.semantic import SemanticFaceHyperprior

    spec = registry.get_spec("face-fer-v5")
    base = SemanticFaceHyperprior(**{k: v for k, v in spec.kwargs.items() if k != "tier_min"}).eval()
    state = api.load_model("face-fer-v5", "cpu").state_dict()
    base.load_state_dict({k: v for k, v in state.items() if not k.startswith(TIER_PREFIX)})
    base.update(force=False)
    x = torch.from_numpy(faces["a"]).permute(2, 0, 1)[None].float() / 255
    for q in (1.0, 2.5, 8.0):
        v5 = container.unpack(api.encode(faces["a"], model="face-fer-v5", quality=q, device="cpu"))
        (face,) = base.compress(x, torch.tensor([q]))
        assert v5.stream == face.streams[0] and v5.model_id == spec.model_id


def test_a_tier_file_holds_the_code_alone_and_decodes_to_its_latent(faces) -> None:
    model = api.load_model("face-fer-v5", "cpu")
    data = api.encode(faces["b"], model="face-fer-v5", quality=0.5, device="cpu")
    parsed = container.unpack(data)
    assert parsed.quality_code == 8
    assert len(data) < len(api.encode(faces["b"], model="face-fer-v5", quality=1, device="cpu"))
    x = torch.from_numpy(faces["b"]).permute(2, 0, 1)[None].float() / 255
    q = torch.tensor([0.5])
    expected = model.tier_forward(x, q)["y_hat"].detach()  # eval mode: hard rounding
    (face,) = model.compress(x, q)
    decoded = model.decompress_latent([face], q)
    assert torch.allclose(decoded, expected, atol=1e-5)
    assert not decoded[:, : model.image_channels].any()  # heads see the code alone
    image = api.decode_array(data)
    assert image.shape == faces["b"].shape


def test_mixed_batches_split_between_the_tiers(faces) -> None:
    images = [faces["a"], faces["b"], faces["c"]]
    together = api.encode_batch(images, "face-fer-v5", [0.25, 3.0, 0.9375], "cpu")
    alone = [api.encode(im, model="face-fer-v5", quality=q, device="cpu") for im, q in zip(images, [0.25, 3.0, 0.9375])]
    assert [e.data for e in together] == alone
    decoded = api.decode_batch([e.data for e in together], device="cpu")
    assert [d.shape for d in decoded] == [(48, 48, 1)] * 3
    for d, data in zip(decoded, alone):
        assert np.array_equal(d, api.decode_array(data, device="cpu"))


def test_qualities_below_1_only_for_a_codec_with_a_tier(faces, tmp_path: Path, write_png) -> None:
    with pytest.raises(QualityError, match=r"face-fer-v3 codes qualities 1\.\.8; 0\.5 needs a codec with an expression-only tier: .*face-fer-v5"):
        api.encode(faces["a"], model="face-fer-v3", quality=0.5, device="cpu")
    with pytest.raises(QualityError, match=r"face-fer-v5 codes qualities 0\.25\.\.8; 0\.2 is outside every codec's"):
        api.encode(faces["a"], model="face-fer-v5", quality=0.2, device="cpu")
    png = write_png(faces["a"], tmp_path / "a.png")
    result = run("encode", png, "-o", tmp_path / "a.ffc", "--model", "face-fer-v3", "-q", "0.5")
    assert_one_line_error(result, "face-fer-v3 codes qualities 1..8", "face-fer-v5", code=2)
    assert not (tmp_path / "a.ffc").exists()
    result = run("encode", png, "-o", tmp_path / "a.ffc", "--model", "face-fer-v5", "-q", "0.5")
    assert result.exit_code == 0, result.output
    info = run("info", tmp_path / "a.ffc", "--json")
    assert json.loads(info.output)["quality"] == 0.5


def test_garbage_tier_streams_decode_without_crashing() -> None:
    rng = np.random.default_rng(0)
    for n in (0, 1, 5, 9, 40):
        stream = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        data = container.pack(container.FfcFile(model_id=6, quality_code=4, width=48, height=48, channels=1, stream=stream))
        assert api.decode_array(data).shape == (48, 48, 1)


def test_trade_off_falls_geometrically_to_its_floor() -> None:
    s = trade_off(torch.tensor([0.25, 0.625, 0.99999]), 0.25, 0.04)
    assert torch.allclose(s, torch.tensor([0.04, 0.2, 1.0]), atol=1e-4)


def test_tier_training_moves_only_the_tier_and_exports_only_it(tmp_path: Path, tiny_npz: Path, weights_dir: Path) -> None:
    out = tmp_path / "run"
    ckpt = train_tier(TierTrainConfig(data=str(tiny_npz), epochs=1, batch_size=8, out=str(out), device="cpu", val_limit=8))
    state = torch.load(ckpt, weights_only=True)
    base = registry.create_model("face-fer-v3").state_dict()  # the default --init
    trained = state["model"]
    moved = {k for k, v in trained.items() if k in base and not torch.equal(v, base[k])}
    assert not moved  # the base codec's weights are untouched
    assert not torch.equal(trained["tier_face"], torch.full_like(trained["tier_face"], 0.5))
    assert "val" in json.loads(state["history"])[-1]
    # resuming a finished run trains nothing more
    assert train_tier(TierTrainConfig(data=str(tiny_npz), epochs=1, batch_size=8, out=str(out), device="cpu"), resume=True) == ckpt

    shipped = tmp_path / "weights"
    result = run("train", "export", ckpt, "--name", "face-fer-v5", "--out", shipped)
    assert result.exit_code == 0, result.output
    stored = load_file(str(shipped / "face-fer-v5.safetensors"))  # the whole codec, in one file
    assert any(k.startswith(TIER_PREFIX) for k in stored) and "g_s.0.weight" in stored
    entry = json.loads((shipped / "MANIFEST.json").read_text())["models"]["face-fer-v5"]
    assert entry["training_command"].startswith("facecodec train tier ")
    assert entry["qualities"].startswith("0.25..8")


def test_a_tight_byte_budget_lands_in_the_tier(faces) -> None:
    from facecodec.budget import encode_to_budget
    from facecodec.errors import BudgetError

    smallest = len(api.encode(faces["a"], model="face-fer-v5", quality=0.25, device="cpu"))
    assert smallest < len(api.encode(faces["a"], model="face-fer-v5", quality=1, device="cpu"))
    (enc,) = encode_to_budget([faces["a"]], model="face-fer-v5", max_bytes=smallest, device="cpu")
    assert enc.quality < 1 and len(enc.data) <= smallest
    (refused,) = encode_to_budget([faces["a"]], model="face-fer-v3", max_bytes=smallest, device="cpu")
    assert isinstance(refused, BudgetError) and "quality 1)" in str(refused)


def test_forward_runs_the_tier_below_quality_1_and_refuses_a_mix(faces) -> None:
    model = api.load_model("face-fer-v5", "cpu")
    x = torch.from_numpy(np.stack([faces["a"], faces["b"]])).permute(0, 3, 1, 2).float() / 255
    low = model(x, torch.tensor([0.25, 0.5]))
    assert low["likelihoods_z"].numel() == 2  # no hyper-latent in the tier
    assert model(x, torch.tensor([1.0, 4.0]))["likelihoods_z"].shape[1] == model.N
    with pytest.raises(ValueError, match="mixes"):
        model(x, torch.tensor([0.5, 2.0]))


def test_codec_forward_gathers_a_mixed_batch_from_both_tiers(faces) -> None:
    from facecodec.train.codec_trainer import codec_forward, rd_loss

    model = api.load_model("face-fer-v5", "cpu")
    x = torch.from_numpy(np.stack([faces["a"], faces["b"], faces["c"]])).permute(0, 3, 1, 2).float() / 255
    quality, lmbda = torch.tensor([2.0, 0.25, 4.0]), torch.full((3,), 1e-2)
    with torch.no_grad():
        out, terms = codec_forward(model, x, quality, lmbda)
        high = model(x[[0, 2]], quality[[0, 2]])
        low = model(x[[1]], quality[[1]])
    assert torch.allclose(out["x_hat"][[0, 2]], high["x_hat"]) and torch.allclose(out["x_hat"][1:2], low["x_hat"])
    expected = (2 * rd_loss(high, x[[0, 2]], lmbda[:2])["bpp"] + rd_loss(low, x[[1]], lmbda[:1])["bpp"]) / 3
    assert torch.allclose(terms["bpp"], expected)
    # the frozen codec's (eval-mode) tier faces are the ones its files decode to
    decoded = api.decode_array(api.encode(faces["b"], model="face-fer-v5", quality=0.25, device="cpu"))
    face = (out["x_hat"][1].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    assert np.abs(face.astype(int) - decoded.astype(int)).max() <= 1


def test_a_frozen_codec_with_a_tier_trains_a_classifier_on_its_tier_faces(tmp_path: Path, tiny_npz: Path) -> None:
    out = tmp_path / "leg"
    args = ["train", "joint", "--data", tiny_npz, "--model", "face-fer-v5", "--init", "face-fer-v5",
            "--classifier", "fer-cnn-joint-v6", "--classifier-init", "fer-cnn-joint-v6", "--freeze-codec",
            "--batch-size", "8", "--epoch-size", "16", "--epochs", "1", "--device", "cpu", "--out", out]  # fmt: skip
    result = run(*args, "--quality-range", "0.25", "8", "--val-qualities", "0.5,2")
    assert result.exit_code == 0, result.output
    val = json.loads(torch.load(out / "last.pt", weights_only=True)["history"])[-1]["val"]
    assert {"q0.5", "q2"} <= set(val) and val["q0.5"]["bpp_est"] < val["q2"]["bpp_est"]
    assert_one_line_error(run(*args, "--quality-range", "0.1", "8"), "quality range of face-fer-v5 is [0.25, 8]")
    assert_one_line_error(run(*args, "--model", "face-fer-v3", "--init", "face-fer-v3", "--quality-range", "0.5", "8"), "is [1, 8]")


def test_measuring_a_classifier_skips_qualities_below_a_codecs_range(faces) -> None:
    from facecodec.evaluate import measure_classifier

    images = np.stack([faces["a"], faces["b"]])
    measured = measure_classifier("fer-cnn-joint-v4", images, np.array([0, 3]), ["face-fer-v3", "face-fer-v5"], [0.5, 1.0], "cpu")
    assert [p["quality"] for p in measured["codecs"]["face-fer-v3"]] == [1.0]
    assert [p["quality"] for p in measured["codecs"]["face-fer-v5"]] == [0.5, 1.0]
