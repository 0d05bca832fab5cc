"""Rate control: ``--max-bytes`` / ``--target-bpp`` pick the best quality that fits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import run

from facecodec import api
from facecodec.budget import bytes_for_bpp, encode_to_budget
from facecodec.errors import BudgetError, FacecodecError


def test_best_quality_that_fits(faces) -> None:
    images = [faces["a"], faces["b"], faces["odd"]]
    sizes = [len(api.encode(im, quality=4, device="cpu")) for im in images]
    results = encode_to_budget(images, max_bytes=sizes, device="cpu")
    for im, budget, enc in zip(images, sizes, results):
        assert len(enc.data) <= budget and enc.quality >= 4
        if enc.quality < 8:  # one grid step up no longer fits
            above = api.encode(im, quality=enc.quality + 1 / 16, device="cpu")
            assert len(above) > budget
        assert api.parse(enc.data).quality_code == round(enc.quality * 16)


def test_target_bpp_counts_whole_files(faces) -> None:
    # (the test weights are random, so the sizes come from the model at hand)
    low, high = (len(api.encode(faces["a"], quality=q, device="cpu")) for q in (1, 8))
    target = (low + high) / 2 * 8 / (48 * 48)
    (enc,) = encode_to_budget([faces["a"]], target_bpp=target, device="cpu")
    assert enc.bpp <= target and len(enc.data) <= bytes_for_bpp(target, 48, 48)
    assert bytes_for_bpp(0.4, 48, 48) == 115


def test_generous_budget_gives_quality_8_and_impossible_one_fails(faces) -> None:
    ok, bad = encode_to_budget([faces["a"], faces["b"]], max_bytes=[10_000, 5], device="cpu")
    assert ok.quality == 8.0
    assert isinstance(bad, BudgetError) and "smallest file" in str(bad)


def test_exactly_one_budget() -> None:
    with pytest.raises(FacecodecError, match="exactly one"):
        encode_to_budget([], max_bytes=10, target_bpp=0.1)


def test_cli_max_bytes(image_dir: Path, tmp_path: Path, faces) -> None:
    out = tmp_path / "a.ffc"
    budget = len(api.encode(faces["a"], quality=3, device="cpu"))  # image_dir/a.png holds faces["a"]
    result = run("encode", image_dir / "a.png", "-o", out, "--max-bytes", budget, "--json", "--device", "cpu")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert out.stat().st_size == record["bytes"] <= budget and record["quality"] >= 3


def test_cli_budget_too_small_leaves_no_file(image_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.ffc"
    result = run("encode", image_dir / "a.png", "-o", out, "--max-bytes", "3", "--device", "cpu")
    assert result.exit_code == 1 and "does not fit in 3 bytes" in result.stderr
    assert not out.exists()


def test_cli_quality_and_budget_conflict(image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "a.png", "-o", tmp_path / "x.ffc", "-q", "3", "--target-bpp", "0.3")
    assert result.exit_code == 2
