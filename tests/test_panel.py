"""The recognizer panel: its fixed split, the guard that keeps held-out members out of training,
scoring, the bench's panel columns, and the codec loss terms that use the training panel."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facecodec import panel, registry
from facecodec.cli import main
from facecodec.errors import UnknownModel
from facecodec.train.panel_term import PanelAgreement, Realism, random_views


def _family(name: str) -> str:
    return registry.get_spec(name).architecture


def test_panel_is_large_varied_and_split_once():
    training, held_out = registry.panel_names("training"), registry.panel_names("held-out")
    assert len(training) + len(held_out) >= 6
    assert len(held_out) >= 3
    assert not set(training) & set(held_out)
    assert len({_family(n) for n in training + held_out}) >= 4
    # no held-out member shares an architecture family with the training panel
    assert not {_family(n) for n in held_out} & {_family(n) for n in training}


@pytest.mark.parametrize("name", registry.panel_names("held-out"))
def test_held_out_members_cannot_enter_training(name: str):
    with pytest.raises(UnknownModel, match="held out"):
        registry.training_panel_spec(name)
    with pytest.raises(UnknownModel, match="held out"):
        PanelAgreement([name], torch.device("cpu"))


def test_cli_refuses_a_held_out_member_in_one_line(tiny_npz, tmp_path):
    name = registry.panel_names("held-out")[0]
    result = CliRunner().invoke(main, [
        "train", "codec", "--data", str(tiny_npz), "--epochs", "1", "--out", str(tmp_path / "run"),
        "--panel", name, "--panel-weight", "1",
    ])  # fmt: skip
    assert result.exit_code == 1
    assert "held out" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "last.pt").exists()


def test_cli_refuses_panel_features_without_the_panel_term_in_one_line(tiny_npz, tmp_path):
    result = CliRunner().invoke(main, [
        "train", "codec", "--data", str(tiny_npz), "--epochs", "1", "--out", str(tmp_path / "run"),
        "--panel", registry.panel_names("training")[0], "--panel-feature-weight", "1",
    ])  # fmt: skip
    assert result.exit_code == 1
    assert "--panel-weight" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "last.pt").exists()


@pytest.mark.parametrize("name", registry.panel_names("training") + registry.panel_names("held-out"))
@pytest.mark.parametrize("size", [48, 37, 96])
def test_every_member_reads_any_face_size(name: str, size: int):
    model = registry.create_model(name)  # random-init test weights (FACECODEC_PANEL)
    with torch.no_grad():
        logits = model(torch.rand(3, 1, size, size))
    assert logits.shape == (3, 7) and torch.isfinite(logits).all()


def test_scores_mean_and_worst(make_face):
    images = np.stack([make_face(i) for i in range(10)])
    labels = np.arange(10) % 7
    loaded = panel.load("held-out", images, labels)
    assert [m.name for m in loaded.members] == registry.panel_names("held-out")
    same = loaded.score(images)
    assert same["agreement"] == 100.0 and same["agreement_worst"] == 100.0
    assert same["accuracy"] == loaded.originals()["accuracy"]
    flipped = loaded.score(255 - images)
    per = [v["agreement"] for v in flipped["members"].values()]
    assert flipped["agreement"] == pytest.approx(np.mean(per), abs=0.01)
    assert flipped["agreement_worst"] == min(per)


def test_summarise_without_labels():
    out = panel.summarise({"a": {"agreement": 80.0, "accuracy": None}, "b": {"agreement": 60.0, "accuracy": None}})
    assert (out["agreement"], out["agreement_worst"], out["accuracy"]) == (70.0, 60.0, None)


def test_random_views_transform_both_faces_alike():
    x = torch.rand(4, 1, 48, 48)
    a, b = random_views(x, x.clone(), np.random.default_rng(0))
    assert torch.equal(a, b)
    assert a.shape[:2] == (4, 1) and not torch.equal(a, x)


def test_panel_agreement_is_zero_for_identical_faces_and_reaches_the_decoded_face():
    term = PanelAgreement(registry.panel_names("training"), torch.device("cpu"))
    x = torch.rand(4, 1, 48, 48)
    assert float(term(x, x.clone(), np.random.default_rng(1))["kl"]) == pytest.approx(0, abs=1e-6)
    x_hat = torch.rand(4, 1, 48, 48, requires_grad=True)
    out = term(x, x_hat, np.random.default_rng(1))
    out["kl"].backward()
    assert x_hat.grad is not None and float(x_hat.grad.abs().sum()) > 0
    assert all(not p.requires_grad for net in term.members for p in net.parameters())


@pytest.mark.parametrize("name", registry.panel_names("training") + registry.panel_names("held-out"))
def test_feature_maps_are_one_per_stage_and_end_in_the_logits(name: str):
    model = registry.create_model(name)
    x = torch.rand(2, 1, 48, 48)
    with torch.no_grad():
        maps, logits = model.maps_and_logits(x)
        assert torch.allclose(logits, model(x), atol=1e-5)
    sizes = [m.shape[-1] for m in maps]
    assert len(maps) >= 3 and sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)


def test_panel_noise_and_features_are_zero_for_identical_faces_and_reach_the_decoded_face():
    term = PanelAgreement(registry.panel_names("training"), torch.device("cpu"), noise=0.05, features=True)
    x = torch.rand(4, 1, 48, 48)
    same = term(x, x.clone(), np.random.default_rng(2))
    assert float(same["kl"]) == pytest.approx(0, abs=1e-6) and float(same["features"]) == pytest.approx(0, abs=1e-6)
    x_hat = torch.rand(4, 1, 48, 48, requires_grad=True)
    out = term(x, x_hat, np.random.default_rng(2))
    assert float(out["features"].detach()) > 0.05
    out["features"].backward()
    assert x_hat.grad is not None and float(x_hat.grad.abs().sum()) > 0


def test_realism_terms_and_discriminator_step():
    torch.manual_seed(0)
    real = Realism(torch.device("cpu"))
    x = torch.rand(4, 1, 48, 48)
    x_hat = torch.rand(4, 1, 48, 48, requires_grad=True)
    terms = real.codec_terms(x, x_hat)
    (terms["adv"] + terms["fm"]).backward()
    assert x_hat.grad is not None
    assert all(p.grad is None for p in real.disc.parameters())  # the codec's terms leave D alone
    before = [p.detach().clone() for p in real.disc.parameters()]
    loss = real.step(x, x_hat)
    assert np.isfinite(loss)
    assert any(not torch.equal(a, p) for a, p in zip(before, real.disc.parameters()))
    restored = Realism(torch.device("cpu"))
    restored.load_state(real.state())
    assert all(torch.equal(a, b) for a, b in zip(restored.disc.parameters(), real.disc.parameters()))


def test_codec_training_with_panel_and_realism_resumes(tiny_npz, tmp_path):
    from facecodec.train.codec_trainer import CodecTrainConfig, train_codec

    config = CodecTrainConfig(
        data=str(tiny_npz), epochs=1, batch_size=8, val_limit=4, out=str(tmp_path / "run"), device="cpu",
        panel=registry.panel_names("training")[:2], panel_weight=1.0, adversarial_weight=0.05,
        feature_match_weight=0.1, panel_noise=0.04, panel_feature_weight=0.2, detail_weight=3e-4,
    )  # fmt: skip
    path = train_codec(config)
    state = torch.load(path, weights_only=True)
    assert "discriminator" in state
    history = json.loads(state["history"])
    assert {"train_panel_kl", "train_panel_feat", "train_adv", "train_fm", "train_disc", "train_detail_psnr"} <= set(history[0])
    config.epochs = 2
    train_codec(config, resume=True)
    assert len(json.loads(torch.load(path, weights_only=True)["history"])) == 2


def test_detail_floor_is_zero_for_a_copy_and_sees_stripes_more_than_blur():
    from facecodec.train.codec_loss import detail_mse

    coarse = torch.rand(2, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    x = torch.nn.functional.interpolate(coarse, size=(48, 48), mode="bilinear", align_corners=False)  # smooth, like a face
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    stripes = x + 0.3 * (torch.arange(48) % 2).view(1, 1, 48, 1)
    assert float(detail_mse(x, x)) == 0.0
    assert float(detail_mse(x, stripes)) > float(detail_mse(x, blurred)) > 0.0


def test_detail_floor_and_invented_detail_see_the_same_detail():
    """The training term and the bench metric share one definition of fine detail."""
    from facecodec.evaluate import invented_detail
    from facecodec.train.codec_loss import fine_detail

    rng = np.random.default_rng(0)
    x, y = (rng.integers(0, 256, (2, 10, 12, 1)).astype(np.uint8) for _ in range(2))
    h, h_hat = (fine_detail(torch.from_numpy(a.astype(np.float64)).permute(0, 3, 1, 2)).flatten(1) for a in (x, y))
    energy = (h * h).sum(1)
    expected = float(((h_hat * h_hat).sum(1) - (h_hat * h).sum(1) ** 2 / energy).sum() / energy.sum())
    assert invented_detail(x, y) == pytest.approx(expected)
