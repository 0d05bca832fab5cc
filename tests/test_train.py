"""Training smoke tests on tiny synthetic data: train, checkpoint, resume, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facecodec import api, container
from facecodec.cli import main
from facecodec.weights import read_manifest


def _run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_codec_train_resume_export(tmp_path: Path, tiny_npz: Path, monkeypatch) -> None:
    out = tmp_path / "run"
    common = ["train", "codec", "--data", str(tiny_npz), "--batch-size", "8", "--out", str(out)]
    _run(*common, "--epochs", "1", "--device", "cpu")
    log = [json.loads(line) for line in (out / "log.txt").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [0]
    assert np.isfinite(log[0]["train_loss"]) and "q1" in log[0]["val"]
    # resume runs only the missing epoch and records the changed option
    _run(*common, "--epochs", "2", "--device", "cpu", "--resume")
    log = [json.loads(line) for line in (out / "log.txt").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [0, 1]

    weights = tmp_path / "weights"
    refused = CliRunner().invoke(main, ["train", "export", str(out / "last.pt"), "--name", "face-hp-v1", "--out",
                                        str(weights), "--measure-data", str(tiny_npz), "--qualities", "1,9"])  # fmt: skip
    assert refused.exit_code == 2 and "quality 9 is outside 1..8" in refused.output  # a usage error
    assert not (weights / "face-hp-v1.safetensors").exists()  # checked before anything is written
    _run("train", "export", str(out / "last.pt"), "--name", "face-hp-v1", "--out", str(weights),
         "--measure-data", str(tiny_npz), "--measure-split", "val", "--qualities", "1,8")  # fmt: skip
    entry = read_manifest(weights)["models"]["face-hp-v1"]
    from facecodec.imageio import default_file_mode

    assert (weights / "face-hp-v1.safetensors").stat().st_mode & 0o777 == default_file_mode()
    assert entry["epochs_trained"] == 2
    assert entry["resumed_with_changes"][0]["changed"]["epochs"] == [1, 2]
    assert "--epochs 2" in entry["training_command"]
    assert [p["quality"] for p in entry["measured"]["points"]] == [1.0, 8.0]
    assert entry["measured"]["file_format"] == container.VERSION
    assert set(entry["runtime"]) == {"analyze", "synthesize"}  # the runtime graphs of the new weights
    assert {"heldout_agreement", "heldout_agreement_worst", "heldout_accuracy"} <= set(entry["measured"]["points"][0])
    # re-measuring a shipped model replaces its figures, weights untouched
    _run("train", "measure", "face-hp-v1", "--data", str(tiny_npz), "--weights", str(weights),
         "--qualities", "2", "--device", "cpu")  # fmt: skip
    again = read_manifest(weights)["models"]["face-hp-v1"]
    assert [p["quality"] for p in again["measured"]["points"]] == [2.0]
    assert again["sha256"] == entry["sha256"]
    result = CliRunner().invoke(main, ["train", "measure", "no-such-model", "--data", str(tiny_npz),
                                       "--weights", str(weights)])  # fmt: skip
    assert result.exit_code != 0 and "no-such-model" in result.output
    # the exported weights load through the registry and code an image
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(weights))
    api.load_model.cache_clear()
    face = np.full((48, 48), 128, np.uint8)
    assert api.decode_array(api.encode(face, model="face-hp-v1")).shape == (48, 48, 1)


def test_classifier_train(tmp_path: Path, tiny_npz: Path) -> None:
    out = tmp_path / "cls"
    _run("train", "classifier", "--data", str(tiny_npz), "--epochs", "1", "--batch-size", "8",
         "--out", str(out), "--device", "cpu")  # fmt: skip
    record = json.loads((out / "log.txt").read_text().splitlines()[-1])
    assert 0.0 <= record["val_acc"] <= 1.0 and np.isfinite(record["train_loss"])
    assert (out / "last.pt").exists()


def test_classifier_needs_labels(tmp_path: Path, make_face) -> None:
    path = tmp_path / "nolabels.npz"
    np.savez(path, images=np.stack([make_face(i)[..., 0] for i in range(4)]))
    result = CliRunner().invoke(main, ["train", "classifier", "--data", str(path), "--split", "",
                                       "--val-split", "", "--out", str(tmp_path / "x")])  # fmt: skip
    assert result.exit_code == 1
    assert "needs labels" in result.output


def test_joint_train_and_export_both(tmp_path: Path, tiny_npz: Path, weights_dir: Path) -> None:
    out = tmp_path / "joint"
    common = ["train", "joint", "--data", str(tiny_npz), "--batch-size", "8", "--out", str(out),
              "--device", "cpu", "--model", "face-hp-v1", "--init", "face-hp-v1", "--classifier-init", "fer-cnn-joint-v4",
              "--task-balance", "0.5", "--feature-weight", "0.1", "--epoch-size", "8"]  # fmt: skip
    _run(*common, "--epochs", "1")
    record = json.loads((out / "log.txt").read_text().splitlines()[-1])
    for key in ("train_ce_hat", "train_acc_hat", "train_acc_orig", "train_task_scale"):
        assert np.isfinite(record[key]), key
    assert 0 <= record["val"]["q1"]["acc"] <= 1 and "original" in record["val"]
    _run(*common, "--epochs", "2", "--resume")
    assert len((out / "log.txt").read_text().splitlines()) == 2

    weights = tmp_path / "weights"
    weights.mkdir()
    for name in ("face-hp-v1", "fer-cnn-joint-v4"):
        _run("train", "export", str(out / "last.pt"), "--name", name, "--out", str(weights),
             "--measure-data", str(tiny_npz), "--qualities", "1,8")  # fmt: skip
    manifest = read_manifest(weights)["models"]
    assert manifest["face-hp-v1"]["training_command"].startswith("facecodec train joint")
    assert "--task-balance 0.5" in manifest["face-hp-v1"]["training_command"]
    measured = manifest["fer-cnn-joint-v4"]["measured"]
    assert 0 <= measured["original_accuracy"] <= 1
    assert [p["quality"] for p in measured["codecs"]["face-hp-v1"]] == [1.0, 8.0]


def test_standalone_task_term_freezes_classifier(tmp_path: Path, tiny_npz: Path) -> None:
    import torch

    from facecodec.train.codec_trainer import CodecTrainConfig, train_codec

    out = tmp_path / "standalone"
    config = CodecTrainConfig(data=str(tiny_npz), epochs=1, batch_size=8, out=str(out), device="cpu",
                              classifier="fer-cnn-joint-v4", val_limit=4)  # fmt: skip
    train_codec(config)
    state = torch.load(out / "last.pt", weights_only=True)
    from facecodec import registry

    shipped = registry.create_model("fer-cnn-joint-v4").state_dict()
    assert all(torch.equal(state["classifier"][k], v) for k, v in shipped.items())


def test_latent_head_train(tmp_path: Path, tiny_npz: Path) -> None:
    out = tmp_path / "latent"
    _run("train", "classifier", "--model", "fer-latent-v8", "--teacher", "fer-cnn-joint-v1",
         "--data", str(tiny_npz), "--epochs", "1", "--batch-size", "8", "--out", str(out),
         "--device", "cpu")  # fmt: skip
    record = json.loads((out / "log.txt").read_text().splitlines()[-1])
    assert {"val_acc_q1", "val_acc_q4", "val_acc_q8"} <= set(record)


def test_latent_head_train_from_cache(tmp_path: Path, tiny_npz: Path) -> None:
    out = tmp_path / "cached"
    _run("train", "classifier", "--model", "fer-latent-v8", "--teacher", "fer-cnn-joint-v1",
         "--data", str(tiny_npz), "--epochs", "1", "--batch-size", "8", "--out", str(out),
         "--device", "cpu", "--cache-views", "2", "--cache-qualities", "3")  # fmt: skip
    record = json.loads((out / "log.txt").read_text().splitlines()[-1])
    assert np.isfinite(record["train_loss"]) and "val_acc_q8" in record


@pytest.mark.parametrize("model", ["fer-latent-v8", "fer-cnn-joint-v4"])  # no adapter: a latent head, a pixel classifier
def test_feature_weight_needs_a_head_with_a_stage_map(tmp_path: Path, tiny_npz: Path, model: str) -> None:
    result = CliRunner().invoke(main, ["train", "classifier", "--model", model, "--teacher", "fer-cnn-joint-v1",
                                       "--data", str(tiny_npz), "--epochs", "1", "--feature-weight", "1",
                                       "--out", str(tmp_path / "x"), "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 1 and "stage map" in result.output


def test_latent_cache_holds_every_face_view_and_quality(tiny_npz: Path) -> None:
    import torch

    from facecodec import registry
    from facecodec.train.latent_cache import LatentCache

    codec = registry.create_model("face-fer-v3")
    teacher = registry.create_model("fer-cnn-joint-v1")
    images = np.load(tiny_npz)["images"][:10, :, :, None]
    cache = LatentCache(codec, images, views=2, qualities_per_view=3, device=torch.device("cpu"),
                        teacher=teacher, progress=False)  # fmt: skip
    assert tuple(cache.latents.shape) == (6, 10, 98, 6, 6)
    assert cache.latents.abs().flatten(2).sum(2).min() > 0  # every slot written
    features, quality, logits, maps = cache.batch(np.arange(4), np.random.default_rng(0))
    assert features.shape == (4, 98, 6, 6) and features.dtype == torch.float32
    assert quality.shape == (4,) and bool(((quality >= 1) & (quality <= 8)).all())
    assert logits.shape == (4, 7) and torch.isfinite(logits).all()
    assert maps is None  # stage maps only on request
    with_maps = LatentCache(codec, images, views=2, qualities_per_view=1, device=torch.device("cpu"),
                            teacher=teacher, progress=False, maps=True)  # fmt: skip
    assert tuple(with_maps.maps.shape) == (2, 10, 128, 6, 6)
    assert with_maps.maps.flatten(2).abs().sum(2).min() > 0
    *_, maps = with_maps.batch(np.arange(3), np.random.default_rng(0))
    assert maps.shape == (3, 128, 6, 6) and maps.dtype == torch.float32


def test_cache_views_refused_for_pixel_classifiers(tmp_path: Path, tiny_npz: Path) -> None:
    result = CliRunner().invoke(main, ["train", "classifier", "--data", str(tiny_npz), "--epochs", "1",
                                       "--cache-views", "2", "--out", str(tmp_path / "x"), "--device", "cpu"])  # fmt: skip
    assert result.exit_code == 1
    assert "latent heads" in result.output


def test_joint_needs_labels(tmp_path: Path, make_face) -> None:
    path = tmp_path / "nolabels.npz"
    np.savez(path, images=np.stack([make_face(i)[..., 0] for i in range(4)]))
    result = CliRunner().invoke(main, ["train", "joint", "--data", str(path), "--split", "",
                                       "--val-split", "", "--out", str(tmp_path / "x")])  # fmt: skip
    assert result.exit_code == 1
    assert "needs labelled data" in result.output


def test_torchrun_two_processes(tmp_path: Path, tiny_npz: Path, weights_dir: Path) -> None:
    """Two CPU processes (Gloo) train one run; rank 0 alone writes the checkpoint."""
    import os
    import shutil
    import subprocess
    import sys

    if shutil.which("torchrun") is None and not Path(sys.executable).with_name("torchrun").exists():
        pytest.skip("torchrun not installed")
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    out = tmp_path / "ddp"
    env = {**os.environ, "FACECODEC_WEIGHTS": str(weights_dir), "OMP_NUM_THREADS": "1"}
    cmd = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "facecodec", "train", "classifier",
           "--data", str(tiny_npz), "--epochs", "1", "--batch-size", "8", "--out", str(out), "--device", "cpu"]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len((out / "log.txt").read_text().splitlines()) == 1


def test_train_json_lines(tmp_path: Path, tiny_npz: Path) -> None:
    out = tmp_path / "cls"
    result = _run("train", "classifier", "--data", str(tiny_npz), "--epochs", "2", "--batch-size", "8",
                  "--out", str(out), "--device", "cpu", "--json")  # fmt: skip
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("epoch") for r in lines[:2]] == [0, 1]
    assert lines[-1] == {"checkpoint": str(out / "last.pt")}


def test_eval_mode_restores_each_models_mode() -> None:
    import torch

    from facecodec.train.loop import eval_mode

    training, frozen = torch.nn.Dropout(), torch.nn.Dropout().eval()
    with pytest.raises(RuntimeError), eval_mode(training, None, frozen):
        assert not training.training and not frozen.training
        raise RuntimeError("modes come back even on errors")
    assert training.training and not frozen.training


def test_export_refuses_a_removed_name(tmp_path: Path, tiny_npz: Path) -> None:
    out = tmp_path / "head"
    _run("train", "classifier", "--data", str(tiny_npz), "--epochs", "1",
         "--batch-size", "8", "--out", str(out), "--device", "cpu")  # fmt: skip
    result = CliRunner().invoke(
        main, ["train", "export", str(out / "last.pt"), "--name", "fer-cnn-v1", "--out", str(tmp_path / "w")]
    )
    assert result.exit_code != 0
    assert "facecodec 0.1.x" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "w").exists()


def test_quality_power_skews_draws_towards_low_qualities() -> None:
    from facecodec.train.codec_trainer import _draw_qualities

    uniform = _draw_qualities(np.random.default_rng(0), (1.0, 8.0), 1.0, 20000)
    low = _draw_qualities(np.random.default_rng(0), (1.0, 8.0), 2.0, 20000)
    for q in (uniform, low):
        assert q.min() >= 1.0 and q.max() <= 8.0
    assert abs(np.mean(uniform <= 3) - 2 / 7) < 0.02
    assert abs(np.mean(low <= 3) - (2 / 7) ** 0.5) < 0.02  # P(u^2 <= 2/7)
    assert np.all(_draw_qualities(np.random.default_rng(1), (3.0, 3.0), 2.0, 10) == 3.0)


def _task_term(agreement: float, joint: bool, **weights: float):
    from facecodec.models.classifier import FerNet
    from facecodec.train.task_loss import TaskTerm, TaskWeights

    torch.manual_seed(0)  # the same classifier on every call
    classifier = FerNet(1, width=4).eval()
    with torch.no_grad():  # an untrained head reads every face alike: make it opinionated
        classifier.head.weight.normal_(0, 50.0)
    return TaskTerm(classifier, TaskWeights(task=0.0, agreement=agreement, **weights), joint=joint)


@pytest.mark.parametrize("joint", [False, True])
def test_agreement_term_is_zero_when_decoded_equals_original_and_positive_otherwise(joint: bool) -> None:
    term = _task_term(1.0, joint)
    term.classifier.eval()  # no dropout or batch statistics: the same face reads the same
    x = torch.rand(6, 1, 48, 48)
    labels = torch.zeros(6, dtype=torch.long)
    same = term(x, x.clone(), labels, torch.tensor(1.0))
    assert float(same["codec"].detach()) == pytest.approx(0.0, abs=1e-6)
    assert float(same["agree"]) == 1.0
    other = term(x, 1 - x, labels, torch.tensor(1.0))
    assert float(other["codec"].detach()) > 1e-4


def test_agreement_term_off_by_default_reports_no_agreement() -> None:
    term = _task_term(0.0, joint=False)
    out = term(torch.rand(2, 1, 48, 48), torch.rand(2, 1, 48, 48), torch.zeros(2, dtype=torch.long), torch.tensor(1.0))
    assert "agree" not in out and float(out["codec"]) == 0.0


def test_consistency_term_adds_to_the_classifier_loss_only_when_decoded_differs() -> None:
    plain, consistent = _task_term(0.0, True), _task_term(0.0, True, consistency=1.0)
    plain.classifier.eval(), consistent.classifier.eval()  # no dropout: the same face reads the same
    x, labels = torch.rand(6, 1, 48, 48), torch.zeros(6, dtype=torch.long)
    assert float(consistent(x, x.clone(), labels, torch.tensor(1.0))["classifier"].detach()) == pytest.approx(
        float(plain(x, x.clone(), labels, torch.tensor(1.0))["classifier"].detach()), abs=1e-5
    )
    other = 1 - x
    out = consistent(x, other, labels, torch.tensor(1.0))
    extra = out["classifier"] - plain(x, other, labels, torch.tensor(1.0))["classifier"]
    assert float(extra.detach()) > 1e-4
    assert float(out["codec"].detach()) == 0.0  # not the codec's term


def test_consistency_weight_is_for_joint_training(tmp_path: Path, tiny_npz: Path) -> None:
    from facecodec.errors import TrainingError
    from facecodec.train.codec_trainer import CodecTrainConfig, train_codec

    with pytest.raises(TrainingError, match="consistency"):
        train_codec(CodecTrainConfig(data=str(tiny_npz), out=str(tmp_path / "r"), consistency_weight=1.0))


@pytest.mark.parametrize("augment", [False, True])
def test_augment_flag_feeds_affine_views_and_is_recorded(
    tmp_path: Path, tiny_npz: Path, monkeypatch, augment: bool
) -> None:
    from facecodec.cli_train import training_command
    from facecodec.train import codec_trainer

    calls = []
    original = codec_trainer.random_affine

    def counting(x, rng):
        calls.append(x.shape[0])
        return original(x, rng)

    monkeypatch.setattr(codec_trainer, "random_affine", counting)
    out = tmp_path / "run"
    flag = ["--augment"] if augment else []
    _run("train", "codec", "--data", str(tiny_npz), "--batch-size", "8", "--epochs", "1",
         "--device", "cpu", "--out", str(out), *flag)  # fmt: skip
    assert bool(calls) == augment
    config = json.loads(torch.load(out / "last.pt", weights_only=True)["config"])
    assert config["augment"] is augment
    assert ("--augment" in training_command(config).split()) == augment


def test_freeze_codec_trains_only_the_classifier_and_exports_its_average(tmp_path: Path, tiny_npz: Path) -> None:
    from facecodec import registry

    out = tmp_path / "frozen"
    common = ["train", "joint", "--data", str(tiny_npz), "--batch-size", "8", "--out", str(out),
              "--device", "cpu", "--model", "face-hp-v1", "--init", "face-hp-v1", "--classifier-init", "fer-cnn-joint-v4",
              "--epoch-size", "16", "--freeze-codec", "--classifier-ema", "0.5"]  # fmt: skip
    _run(*common, "--epochs", "1")
    state = torch.load(out / "last.pt", weights_only=True)
    codec = registry.create_model("face-hp-v1").state_dict()
    assert all(torch.equal(state["model"][k], v) for k, v in codec.items())  # the codec did not move
    shipped = registry.create_model("fer-cnn-joint-v4").state_dict()
    raw, avg = state["classifier_raw"], state["classifier"]
    weight = next(k for k in shipped if k.endswith("weight") and shipped[k].dim() == 4)
    assert not torch.equal(raw[weight], shipped[weight])  # the classifier learned
    assert not torch.equal(avg[weight], raw[weight])  # and the average lags behind it
    # resuming restores both the raw weights and their average
    _run(*common, "--epochs", "2", "--resume")
    again = torch.load(out / "last.pt", weights_only=True)
    assert again["epoch"] == 1 and not torch.equal(again["classifier_raw"][weight], raw[weight])


def test_random_degrade_changes_the_drawn_share_and_keeps_the_range() -> None:
    import numpy as np

    from facecodec.train.augment import random_degrade

    x = torch.rand(400, 1, 48, 48)
    assert torch.equal(random_degrade(x, np.random.default_rng(0), 0.0), x)
    y = random_degrade(x, np.random.default_rng(0), 0.5)
    assert y.shape == x.shape and float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    changed = ((y - x).abs().amax(dim=(1, 2, 3)) > 0).float().mean()
    assert 0.35 < float(changed) < 0.6  # about half (a noise σ or blur amount near 0 can leave one unchanged)
    everything = random_degrade(x, np.random.default_rng(1), 1.0)
    assert float(((everything - x).abs().amax(dim=(1, 2, 3)) > 0).float().mean()) > 0.9
    rgb = torch.rand(6, 3, 48, 48)
    assert random_degrade(rgb, np.random.default_rng(2), 1.0).shape == rgb.shape  # JPEG on colour faces too


def test_degrade_feeds_degraded_originals_to_the_classifier_and_is_recorded(
    tmp_path: Path, tiny_npz: Path, monkeypatch
) -> None:
    from facecodec.cli_train import training_command
    from facecodec.train import codec_trainer

    shares = []
    original = codec_trainer.random_degrade

    def counting(x, rng, p):
        shares.append(p)
        return original(x, rng, p)

    monkeypatch.setattr(codec_trainer, "random_degrade", counting)
    out = tmp_path / "deg"
    _run("train", "joint", "--data", str(tiny_npz), "--batch-size", "8", "--out", str(out), "--device", "cpu",
         "--model", "face-hp-v1", "--init", "face-hp-v1", "--classifier-init", "fer-cnn-joint-v4", "--epoch-size", "16", "--epochs", "1",
         "--freeze-codec", "--degrade", "0.5")  # fmt: skip
    assert shares == [0.5, 0.5]  # one call per batch
    config = json.loads(torch.load(out / "last.pt", weights_only=True)["config"])
    assert config["degrade"] == 0.5 and "--degrade 0.5" in training_command(config)


def test_degrade_is_for_joint_training_and_a_share(tmp_path: Path, tiny_npz: Path) -> None:
    from facecodec.errors import TrainingError
    from facecodec.train.codec_trainer import CodecTrainConfig, train_codec

    with pytest.raises(TrainingError, match="joint"):
        train_codec(CodecTrainConfig(data=str(tiny_npz), out=str(tmp_path / "a"), degrade=0.5))
    with pytest.raises(TrainingError, match="share"):
        train_codec(CodecTrainConfig(data=str(tiny_npz), out=str(tmp_path / "b"), joint=True,
                                     classifier="fer-cnn-joint-v4", degrade=1.5))  # fmt: skip


def test_freeze_codec_is_for_joint_training(tmp_path: Path, tiny_npz: Path) -> None:
    from facecodec.errors import TrainingError
    from facecodec.train.codec_trainer import CodecTrainConfig, train_codec

    config = CodecTrainConfig(data=str(tiny_npz), epochs=1, out=str(tmp_path / "x"), device="cpu",
                              classifier="fer-cnn-joint-v4", freeze_codec=True)  # fmt: skip
    with pytest.raises(TrainingError, match="joint"):
        train_codec(config)


def test_weight_average_is_an_exponential_moving_average() -> None:
    from facecodec.train.ema import WeightAverage

    model = torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        model.weight.fill_(1.0)
    average = WeightAverage(model, 0.75)
    with torch.no_grad():
        model.weight.fill_(5.0)
        model.running_mean.fill_(3.0)
    average.update(model)
    assert torch.allclose(average.module.weight, torch.full((2,), 2.0))  # 0.75·1 + 0.25·5
    assert torch.equal(average.module.running_mean, torch.full((2,), 3.0))  # buffers copied
    with pytest.raises(ValueError):
        WeightAverage(model, 1.0)


def test_the_recorded_training_command_parses_back_to_the_run(tiny_npz: Path) -> None:
    import shlex
    from dataclasses import asdict

    from facecodec.cli_train import train, training_command
    from facecodec.train.codec_trainer import CodecTrainConfig

    config = CodecTrainConfig(data=str(tiny_npz), model="face-fer-v9", joint=True, classifier="fer-cnn-joint-v4",
                              quality_range=(1.5, 8.0), val_qualities=[1.5, 2.0])  # fmt: skip
    command = training_command(json.loads(json.dumps(asdict(config))))
    assert "--val-qualities 1.5,2 " in command and "--quality-range 1.5 8 " in command
    args = shlex.split(command)[3:]
    params = train.commands["joint"].make_context("joint", args).params
    assert params["val_qualities"] == [1.5, 2.0] and params["quality_range"] == (1.5, 8.0)
