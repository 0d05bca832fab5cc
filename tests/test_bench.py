"""``facecodec bench`` on a tiny synthetic dataset: every output, the accuracy path, the summaries.

Uses the random-init weights of ``conftest.py`` (autouse ``FACECODEC_WEIGHTS``)
and a fake classifier injected in place of the registry's, so it runs in seconds
without shipped weights or real data.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from facecodec.bench import classical, codecs, context, report, run_bench, runner
from facecodec.cli import main
from facecodec.errors import FacecodecError, QualityError
from facecodec.train.data import FER2013_CLASSES

CLASSES = ("happy", "sad", "neutral")  # a subset of FER2013's, in another order
PILLOW_BASELINES = ["jpeg", "jpeg2000", "webp", "avif"]


class FakeClassifier:
    """Class = brightness band of the face: (B, 1, 48, 48) in [0, 1] → logits (B, 7)."""

    classes = FER2013_CLASSES
    bands = ("happy", "sad", "neutral")  # dark, middle, bright

    def __call__(self, x):
        import torch

        assert x.shape[1:] == (1, 48, 48) and x.dtype == torch.float32
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        logits = torch.full((x.shape[0], 7), -10.0)
        band = ((x.mean(dim=(1, 2, 3)) - 0.25) / 0.15).clamp(0, 2).round().long()
        for i, name in enumerate(self.bands):
            logits[band == i, FER2013_CLASSES.index(name)] = 10.0
        return logits

    def predict_one(self, image: np.ndarray) -> str:
        import torch

        x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
        return FER2013_CLASSES[int(self(x).argmax())]


def _brightened(make_face, seed: int, shift: int) -> np.ndarray:
    face = make_face(seed).astype(np.int16) + shift
    return np.clip(face, 0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def _fast_timing(monkeypatch: pytest.MonkeyPatch):
    """Time each point once: tiny sets would otherwise be repeated for 0.2 s."""
    monkeypatch.setattr(classical, "MIN_TIMING_S", 0.0)


@pytest.fixture
def no_registered_classifier(monkeypatch: pytest.MonkeyPatch):
    from facecodec import registry

    names = registry.model_names
    monkeypatch.setattr(
        registry, "model_names", lambda kind=None: [] if kind == "classifier" else names(kind)
    )


@pytest.fixture
def labelled_dir(tmp_path: Path, make_face, write_png) -> Path:
    """12 faces 48×48 in class folders named by what the fake classifier says of them."""
    root = tmp_path / "faces"
    fake = FakeClassifier()
    for i in range(12):
        face = _brightened(make_face, 100 + i, (-40, 0, 40)[i % 3])
        write_png(face, root / fake.predict_one(face) / f"{i:02d}.png")
    assert len({p.parent.name for p in root.rglob("*.png")}) >= 2
    return root


@pytest.fixture
def fake_classifier(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(context, "load_classifier", lambda name, device: FakeClassifier())
    return "fake-fer"


def test_bench_writes_every_output(labelled_dir: Path, tmp_path: Path, fake_classifier: str):
    out = tmp_path / "results"
    result = run_bench(
        labelled_dir, out=out, baselines=PILLOW_BASELINES, classifier=fake_classifier,
        device="cpu", workers=2,
    )  # fmt: skip

    files = {
        name: out / name for name in ("bench.json", "bench.csv", "rd_psnr.png", "rd_accuracy.png")
    }
    for path in files.values():
        assert path.is_file() and path.stat().st_size > 0, path
    for name in ("rd_psnr.png", "rd_accuracy.png"):
        assert files[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    saved = json.loads(files["bench.json"].read_text())
    assert saved["points"] == result["points"]
    assert saved["dataset"]["images"] == 12 and saved["dataset"]["labelled"]
    points = saved["points"]
    from facecodec import registry

    learned = registry.model_names("codec")
    expected = [*learned, *PILLOW_BASELINES]
    for codec in expected:
        rows = [p for p in points if p["codec"] == codec]
        assert len(rows) == 8, codec  # default sweeps: 8 points
    for p in points:
        assert p["images"] == 12
        assert p["bytes"] > 0 and p["bpp"] == pytest.approx(p["bytes"] * 8 / (48 * 48), rel=1e-3)
        assert math.isfinite(p["psnr"]) and p["psnr"] > 5
        assert -1 <= p["ssim"] <= 1
        assert p["ms_ssim"] is None  # 48 px faces: too small for MS-SSIM
        assert 0 <= p["accuracy"] <= 100 and 0 <= p["agreement"] <= 100
        assert p["encode_ips"] > 0 and p["decode_ips"] > 0
        # the recognizer panel (random-init test members): agreement per member, mean and worst;
        # no accuracy, since these folder classes are not FER2013's seven
        members = p["panel_members"]
        assert set(members) == set(registry.panel_names("held-out") + registry.panel_names("training"))
        held = [members[n]["agreement"] for n in registry.panel_names("held-out")]
        assert p["heldout_agreement"] == pytest.approx(np.mean(held), abs=0.01)
        assert p["heldout_agreement_worst"] == min(held) <= p["heldout_agreement"]
        assert p["heldout_accuracy"] is None
        if p["family"] == "facecodec":  # beside the panel: the classifier the codec's entry names
            assert p["own_classifier"] == registry.pixel_classifier_for(p["codec"])
            assert 0 <= p["own_accuracy"] <= 100
        else:
            assert "own_classifier" not in p
    assert saved["panel"]["held-out"]["members"] == registry.panel_names("held-out")
    assert files["rd_psnr.png"].with_name("rd_heldout.png").read_bytes()[:4] == b"\x89PNG"
    # more bytes at the best setting than at the worst, for every codec
    for codec in expected:
        rows = [p for p in points if p["codec"] == codec]
        assert max(r["bpp"] for r in rows) > min(r["bpp"] for r in rows), codec

    # the classifier labels its own originals right by construction
    assert saved["classifier"] == {"name": "fake-fer", "accuracy_original": 100.0, "note": None}
    summary = saved["summary"]
    assert {r["codec"] for r in summary["recognisable"]} == set(expected)
    for r in summary["recognisable"]:
        assert r["criterion"].startswith("accuracy ≥ 99.00%")
        if r["bytes"] is not None:
            same = [p for p in points if p["codec"] == r["codec"] and p["accuracy"] >= 99]
            assert r["bytes"] == min(p["bytes"] for p in same)
    pairs = {(e["anchor"], e["metric"]) for e in summary["bd_rate"]}
    assert pairs == {(b, m) for b in PILLOW_BASELINES for m in ("psnr", "heldout_agreement", "accuracy")}
    for e in summary["bd_rate"]:
        assert e["codec"] in learned
        assert e["bd_rate"] is None or math.isfinite(e["bd_rate"])
        assert e["bd_rate"] is not None or e["note"]
    assert "bpp" in saved["units"] and "headers included" in saved["units"]["bpp"]

    with open(files["bench.csv"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(points)
    assert set(report.CSV_COLUMNS) == set(rows[0])
    assert {r["codec"] for r in rows} == set(expected)
    assert all(float(r["bpp"]) > 0 and math.isfinite(float(r["psnr"])) for r in rows)


def test_bench_without_classifier_says_so(
    labelled_dir: Path, tmp_path: Path, no_registered_classifier
):
    result = run_bench(
        labelled_dir, out=tmp_path / "r", baselines=["jpeg"], workers=1, device="cpu",
        qualities={"jpeg": [10, 50], "face-hp-v1": [1, 8]}, models=["face-hp-v1"],
    )  # fmt: skip
    assert result["classifier"]["name"] is None
    assert result["classifier"]["note"] == runner.NO_CLASSIFIER
    assert all(p["accuracy"] is None and p["agreement"] is None for p in result["points"])
    assert any("no classifier registered" in n for n in result["notes"])
    assert all(r["reason"] == "no classifier registered" for r in result["summary"]["recognisable"])
    assert (tmp_path / "r" / "rd_accuracy.png").is_file()
    assert [p["quality"] for p in result["points"]] == [1.0, 8.0, 10.0, 50.0]


def test_registered_classifier_is_the_default(labelled_dir: Path):
    """The registry's classifier (random-init weights here) runs on originals and decoded faces."""
    from facecodec import registry

    name = registry.model_names("classifier")[0]
    result = run_bench(
        labelled_dir, out=None, baselines=["jpeg"], workers=1, device="cpu",
        qualities={"jpeg": [50], "face-hp-v1": [4]},
    )  # fmt: skip
    assert result["classifier"]["name"] == name
    assert 0 <= result["classifier"]["accuracy_original"] <= 100
    assert all(p["accuracy"] is not None and p["agreement"] is not None for p in result["points"])


def test_unusable_default_classifier_is_a_note(labelled_dir: Path, monkeypatch: pytest.MonkeyPatch):
    from facecodec.errors import WeightsError

    def missing(name, device):
        raise WeightsError(f"no weights for model {name!r}")

    monkeypatch.setattr(context, "load_classifier", missing)
    kw = dict(out=None, baselines=["jpeg"], workers=1, qualities={"jpeg": [50], "face-hp-v1": [4]})
    result = run_bench(labelled_dir, **kw)
    assert result["classifier"]["name"] is None
    assert "unusable" in result["classifier"]["note"]
    assert all(p["accuracy"] is None for p in result["points"])
    with pytest.raises(WeightsError):  # named explicitly: an error
        run_bench(labelled_dir, classifier="fer-cnn-joint-v4", **kw)
    off = run_bench(labelled_dir, classifier="none", **kw)
    assert off["classifier"]["note"] == "classifier off (--classifier none)"


def test_flat_folder_uses_agreement(tmp_path: Path, make_face, write_png, fake_classifier: str):
    for i in range(6):
        write_png(make_face(200 + i), tmp_path / "flat" / f"{i}.png")
    result = run_bench(
        tmp_path / "flat", out=None, baselines=["jpeg"], models=["face-hp-v1"], workers=1,
        classifier=fake_classifier, qualities={"jpeg": [20, 90], "face-hp-v1": [4]}, device="cpu",
    )  # fmt: skip
    assert "outputs" not in result
    assert result["dataset"]["labelled"] is False
    assert all(p["accuracy"] is None and p["agreement"] is not None for p in result["points"])
    assert result["summary"]["recognisable"][0]["criterion"].startswith("agreement")


def test_npz_split_and_limit(tmp_path: Path, make_face):
    images = np.stack([make_face(i) for i in range(10)])[..., 0]
    split = np.array(["train"] * 6 + ["val"] * 4)
    np.savez(tmp_path / "faces.npz", images=images, labels=np.arange(10) % 7, split=split)
    np.savez(tmp_path / "nosplit.npz", images=images)
    kw = dict(out=None, baselines=["jpeg"], qualities={"jpeg": [50], "face-hp-v1": [2]}, workers=1)
    r = run_bench(tmp_path / "faces.npz", **kw)
    assert (r["dataset"]["split"], r["dataset"]["images"]) == ("val", 4)
    r = run_bench(tmp_path / "faces.npz", split="train", limit=3, **kw)
    assert (r["dataset"]["split"], r["dataset"]["images"]) == ("train", 3)
    r = run_bench(tmp_path / "nosplit.npz", **kw)
    assert (r["dataset"]["split"], r["dataset"]["images"], r["dataset"]["labelled"]) == (
        "all",
        10,
        False,
    )


def test_cli_bench_json_and_table(labelled_dir: Path, tmp_path: Path, fake_classifier: str):
    args = ["bench", str(labelled_dir), "--out", str(tmp_path / "o"), "--baselines", "jpeg,webp",
            "-q", "jpeg=5,50", "-q", "webp=0..90:45", "-q", "face-hp-v1=1,8", "--model", "face-hp-v1",
            "--workers", "1", "--device", "cpu", "--classifier", fake_classifier]  # fmt: skip
    res = CliRunner().invoke(main, [*args, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [(p["codec"], p["quality"]) for p in data["points"]] == [
        ("face-hp-v1", 1.0), ("face-hp-v1", 8.0), ("jpeg", 5.0), ("jpeg", 50.0),
        ("webp", 0.0), ("webp", 45.0), ("webp", 90.0),
    ]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "Fewest bytes that keep expressions recognisable" in res.output
    assert "headers included" in res.output and "BD-rate" in res.output


@pytest.mark.parametrize(
    "extra, message, code",
    [
        (["--baselines", "gif"], "unknown baseline 'gif'", 2),
        (["-q", "jpeg=500"], "outside 1..95", 2),
        (["-q", "avif=10", "--baselines", "jpeg"], "does not bench", 2),
        (["-q", "jpeg"], "CODEC=Q1,Q2", 2),
        (["--model", "nope"], "unknown model 'nope'", 1),
    ],
)
def test_cli_bench_errors_are_one_line(labelled_dir: Path, tmp_path: Path, extra, message, code):
    """Usage errors (options that cannot work) exit 2, other errors 1; one line ``error: ...`` each."""
    res = CliRunner().invoke(main, ["bench", str(labelled_dir), "--out", str(tmp_path), *extra])
    assert res.exit_code == code, res.output
    assert res.output.startswith("error: "), res.output
    assert message in res.output and res.output.count("\n") == 1


def test_jxl_is_skipped_with_a_note_without_imagecodecs(
    monkeypatch: pytest.MonkeyPatch, labelled_dir
):
    monkeypatch.setattr(codecs, "imagecodecs_jxl", lambda: None)
    assert "pip install 'facecodec[jxl]'" in codecs.baseline_available("jxl")
    with pytest.raises(FacecodecError, match="imagecodecs"):
        codecs.baseline("jxl")
    result = run_bench(
        labelled_dir, out=None, baselines=["jxl", "jpeg"], workers=1, models=["face-hp-v1"],
        qualities={"jpeg": [50], "face-hp-v1": [4]},
    )  # fmt: skip
    assert {p["codec"] for p in result["points"]} == {"face-hp-v1", "jpeg"}
    assert any(n.startswith("JPEG XL skipped") for n in result["notes"])


def test_jxl_round_trip_when_installed(make_face):
    pytest.importorskip("imagecodecs")
    if codecs.imagecodecs_jxl() is None:
        pytest.skip("imagecodecs without JPEG XL")
    codec = codecs.baseline("jxl")
    face = make_face(7)
    small, large = codec.encode(face, 15), codec.encode(face, 1)
    assert len(small) < len(large)
    assert codec.decode(large, 1).shape == face.shape


@pytest.mark.parametrize("name", PILLOW_BASELINES)
def test_baselines_round_trip_grey_and_colour(name: str, make_face):
    codec = codecs.baseline(name)
    qs = codec.default_qualities
    for channels in (1, 3):
        face = make_face(3, channels=channels)
        low, high = codec.encode(face, qs[0]), codec.encode(face, qs[-1])
        assert len(low) < len(high)
        decoded = codec.decode(high, channels)
        assert decoded.shape == face.shape and decoded.dtype == np.uint8


def test_jpeg2000_is_lossy_and_rate_driven(make_face):
    codec = codecs.baseline("jpeg2000")
    face = make_face(4)
    sizes = [len(codec.encode(face, ratio)) for ratio in (12, 6, 3)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    data = codec.encode(face, 4)
    assert data[:4] == b"\xff\x4f\xff\x51"  # bare J2K codestream (SOC, SIZ)
    assert not np.array_equal(codec.decode(data, 1), face)  # irreversible 9/7, not lossless


def test_parse_qualities():
    assert codecs.parse_qualities(["jpeg=5,10", "face-hp-v1=1..3;webp=0..10:5"]) == {
        "jpeg": [5.0, 10.0], "face-hp-v1": [1.0, 2.0, 3.0], "webp": [0.0, 5.0, 10.0],
    }  # fmt: skip
    assert codecs.parse_qualities([]) == {}
    for bad in ("jpeg", "jpeg=", "=5", "jpeg=a,b", "jpeg=5..1"):
        with pytest.raises(QualityError):
            codecs.parse_qualities([bad])


def _pts(rates, values, metric="psnr"):
    return [{"bpp": r, metric: v} for r, v in zip(rates, values)]


def test_bd_rate_uses_the_package_and_handles_bad_curves():
    anchor = _pts([0.5, 1, 2, 4], [25, 28, 31, 34])
    half = _pts([0.25, 0.5, 1, 2], [25, 28, 31, 34])  # same quality at half the rate
    assert report.bd_rate(anchor, half, "psnr")["bd_rate"] == pytest.approx(-50, abs=0.5)
    assert report.bd_rate(anchor, anchor, "psnr")["bd_rate"] == pytest.approx(0, abs=1e-6)
    too_few = report.bd_rate(anchor, _pts([1, 2], [28, 30]), "psnr")
    assert too_few["bd_rate"] is None and "under 3 usable points" in too_few["note"]
    apart = report.bd_rate(anchor, _pts([1, 2, 3], [40, 41, 42]), "psnr")
    assert apart["bd_rate"] is None and "do not overlap" in apart["note"]
    # a non-monotonic (noisy) curve keeps its front: the dip at 1.5 bpp is dropped
    noisy = _pts([0.25, 0.5, 1, 1.5, 2], [25, 28, 31, 29, 34])
    assert report._curve(noisy, "psnr")[0].tolist() == [0.25, 0.5, 1, 2]
    assert report.bd_rate(anchor, noisy, "psnr")["bd_rate"] == pytest.approx(-50, abs=0.5)
    missing = report.bd_rate(anchor, _pts([1, 2, 3], [None, None, None]), "psnr")
    assert missing["bd_rate"] is None


def test_recognisable_is_the_cheapest_point_within_one_point():
    points = [
        {"codec": "c", "family": "baseline", "quality": q, "bytes": b, "bpp": b / 288,
         "accuracy": a, "agreement": 90.0, "psnr": 30.0, "encode_ips": 1.0, "decode_ips": 2.0}
        for q, b, a in [(1, 100, 50.0), (2, 150, 59.5), (3, 200, 58.0), (4, 300, 60.5)]
    ]  # fmt: skip
    result = {"points": points, "classifier": {"name": "x", "accuracy_original": 60.0}}
    (row,) = report.recognisable(result)
    assert (row["quality"], row["bytes"]) == (2, 150)
    result["classifier"]["accuracy_original"] = 70.0
    (row,) = report.recognisable(result)
    assert row["bytes"] is None and row["reason"] == "not reached in this sweep"


def test_metrics():
    from facecodec.bench import metrics

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (3, 48, 48, 1), dtype=np.uint8)
    assert metrics.psnr(a, a).tolist() == [metrics.PSNR_CAP] * 3
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    assert metrics.ms_ssim(a, a) is None
    assert metrics.ssim_window(48, 48) == 11 and metrics.ssim_window(8, 20) == 7
    x = metrics.classifier_input(np.zeros((2, 64, 40, 3), np.uint8))
    assert tuple(x.shape) == (2, 1, 48, 48)


def test_every_psnr_is_the_same_formula():
    """The benchmark's, the evaluator's and the training loop's PSNR agree (one formula)."""
    import torch

    from facecodec.bench import metrics
    from facecodec.evaluate import psnr, psnr_uint8
    from facecodec.train.loop import psnr as training_psnr

    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (3, 48, 48, 1), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-9, 10, a.shape), 0, 255).astype(np.uint8)
    mse = ((a.astype(np.float64) - b) ** 2).reshape(3, -1).mean(1)
    expected = 10 * np.log10(255.0**2 / mse)
    assert psnr(a, b) == pytest.approx(expected)
    assert metrics.psnr(a, b) == pytest.approx(expected)
    assert [psnr_uint8(x, y) for x, y in zip(a, b)] == pytest.approx(expected)
    as_float = [torch.from_numpy(v).permute(0, 3, 1, 2).double() / 255 for v in (b, a)]
    assert training_psnr(*as_float) == pytest.approx(expected)
    assert psnr_uint8(a[0], a[0]) == math.inf and metrics.psnr(a, a).tolist() == [metrics.PSNR_CAP] * 3


def test_dataset_labels_map_onto_a_classifiers_or_the_panels_classes() -> None:
    from types import SimpleNamespace

    fer = SimpleNamespace(labels=np.array([0, 3, 6]), classes=list(FER2013_CLASSES))
    assert context.map_labels(fer, FER2013_CLASSES)[0].tolist() == [0, 3, 6]
    some = SimpleNamespace(labels=np.array([0, 1]), classes=[FER2013_CLASSES[3], FER2013_CLASSES[0]])
    labels, why = context.map_labels(some, FER2013_CLASSES)  # a subset, in another order
    assert labels.tolist() == [3, 0] and why is None
    labels, why = context.map_labels(some, FER2013_CLASSES, subset=False)  # the panel: FER2013's seven only
    assert labels is None and "not the classifier's" in why
    labels, why = context.map_labels(SimpleNamespace(labels=np.array([0]), classes=["cat"]), FER2013_CLASSES)
    assert labels is None and "not the classifier's" in why
    assert context.map_labels(SimpleNamespace(labels=None, classes=[]), FER2013_CLASSES)[0] is None


def test_invented_detail_sees_stripes_not_blur():
    """About 0 for a copy, a lower-contrast copy or a blur; high for stripes the original lacks."""
    from facecodec.bench import metrics

    rng = np.random.default_rng(0)
    face = np.clip(128 + 40 * rng.standard_normal((1, 48, 48, 1)), 0, 255)
    padded = np.pad(face, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    blurred = sum(padded[:, i : i + 48, j : j + 48] for i in range(3) for j in range(3)) / 9
    faded = 128 + (face - 128) / 2
    stripes = face + np.where(np.arange(48) % 2 == 0, 40, -40)[None, :, None, None]
    face, blurred, faded, stripes = (np.round(np.clip(a, 0, 255)).astype(np.uint8) for a in (face, blurred, faded, stripes))
    assert metrics.invented_detail(face, face) == 0.0
    assert metrics.invented_detail(face, faded) < 0.01
    assert metrics.invented_detail(face, blurred) < 0.1
    assert metrics.invented_detail(face, stripes) > 1.0
    flat = np.full((2, 8, 8, 1), 90, np.uint8)
    assert metrics.invented_detail(flat, flat + 1) == 0.0  # no fine detail in any original
