"""Training smoke tests on tiny synthetic data: train, checkpoint, resume, export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from facecodec import api
from facecodec.cli import main
from facecodec.weights import read_manifest


@pytest.fixture()
def tiny_npz(tmp_path: Path, make_face) -> Path:
    images = np.stack([make_face(i)[..., 0] for i in range(24)])
    labels = np.arange(24) % 7
    split = np.array(["train"] * 16 + ["val"] * 8)
    path = tmp_path / "tiny.npz"
    np.savez(path, images=images, labels=labels, split=split)
    return path


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
    _run("train", "export", str(out / "last.pt"), "--name", "face-hp-v1", "--out", str(weights),
         "--measure-data", str(tiny_npz), "--measure-split", "val", "--qualities", "1,8")  # fmt: skip
    entry = read_manifest(weights)["models"]["face-hp-v1"]
    assert entry["epochs_trained"] == 2
    assert entry["resumed_with_changes"][0]["changed"]["epochs"] == [1, 2]
    assert "--epochs 2" in entry["training_command"]
    assert [p["quality"] for p in entry["measured"]["points"]] == [1.0, 8.0]
    # the exported weights load through the registry and code an image
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(weights))
    api.load_model.cache_clear()
    assert api.decode_array(api.encode(np.full((48, 48), 128, np.uint8))).shape == (48, 48, 1)


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
