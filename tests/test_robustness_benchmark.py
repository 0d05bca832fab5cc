"""benchmarks/robustness.py: the degraded copies and the figures it writes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def robustness(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import robustness

    return robustness


def test_every_degradation_keeps_the_face_an_8_bit_face_and_changes_it(robustness) -> None:
    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (48, 48, 1), dtype=np.uint8)
    for name, degrade in robustness.DEGRADATIONS.items():
        copy = degrade(face, np.random.default_rng(1))
        assert copy.shape == face.shape and copy.dtype == np.uint8, name
        assert not np.array_equal(copy, face), name
        assert robustness.psnr(face[None], copy[None]) < 60, name
    assert robustness.psnr(face, face.copy()) == float("inf")


def test_main_writes_a_paired_gap_per_degradation(robustness, tiny_npz: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "robust.json"
    argv = ["robustness.py", "--data", str(tiny_npz), "--split", "val", "--classifiers", "fer-cnn-joint-v4",
            "--bootstrap", "50", "--json", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    robustness.main()
    result = json.loads(out.read_text())
    assert result["images"] == 8 and set(result["original_accuracy"]) == {"fer-cnn-joint-v4"}
    assert [p["degradation"] for p in result["points"]] == list(robustness.DEGRADATIONS)
    for point in result["points"]:
        stats = point["classifiers"]["fer-cnn-joint-v4"]
        assert 0 <= stats["accuracy"] <= 100 and 0 <= stats["changed"] <= 100
        lo, hi = stats["gap_ci95"]
        assert lo <= stats["gap"] <= hi
        gap = result["original_accuracy"]["fer-cnn-joint-v4"] - stats["accuracy"]
        assert abs(stats["gap"] - gap) < 0.02


@pytest.fixture
def accuracy_gap(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import accuracy_gap

    return accuracy_gap


def test_accuracy_gap_scores_real_files_against_the_originals(accuracy_gap, tiny_npz: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "gap.json"
    argv = ["accuracy_gap.py", "--data", str(tiny_npz), "--split", "val", "--codec", "face-hp-v1",
            "--classifiers", "fer-cnn-joint-v4", "--qualities", "1,8", "--bootstrap", "50", "--threshold", "1.5",
            "--json", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    accuracy_gap.main()
    result = json.loads(out.read_text())
    assert result["images"] == 8 and result["codec"] == "face-hp-v1"
    assert [p["quality"] for p in result["points"]] == [1.0, 8.0]
    low, high = result["points"]
    assert 0 < low["bpp"] < high["bpp"]  # whole .ffc files: more quality, more bytes
    for point in result["points"]:
        stats = point["classifiers"]["fer-cnn-joint-v4"]
        gap = result["original_accuracy"]["fer-cnn-joint-v4"] - stats["accuracy"]
        assert abs(stats["gap"] - gap) < 0.02
        assert stats["within_threshold"] == (stats["gap"] <= 1.5)
