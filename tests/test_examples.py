"""The scripts in examples/ run to completion (with the tests' random-init weights)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(script: str, *args: str | Path, weights: Path, cwd: Path) -> str:
    env = dict(os.environ, FACECODEC_WEIGHTS=str(weights), OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        capture_output=True, text=True, timeout=300, env=env, cwd=cwd,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_example_face_is_shipped() -> None:
    from PIL import Image

    with Image.open(EXAMPLES / "astronaut_face_48x48_gray.png") as im:
        assert (im.size, im.mode) == ((48, 48), "L")


def test_encode_decode(weights_dir: Path, tmp_path: Path) -> None:
    out = run_example("encode_decode.py", weights=weights_dir, cwd=tmp_path)
    assert out.count("PSNR") == 4 and "bpp" in out


def test_pillow_plugin(weights_dir: Path, tmp_path: Path) -> None:
    out = run_example("pillow_plugin.py", tmp_path / "out", weights=weights_dir, cwd=tmp_path)
    assert "FFC (48, 48) L" in out
    assert (tmp_path / "out" / "face.ffc").read_bytes()[:3] == b"FFC"
    assert (tmp_path / "out" / "face_decoded.png").stat().st_size > 0


def test_batch_directory(weights_dir: Path, image_dir: Path, tmp_path: Path) -> None:
    from facecodec import api

    coded = tmp_path / "coded"
    out = run_example(
        "batch_directory.py", image_dir, coded, "2", weights=weights_dir, cwd=tmp_path
    )
    written = sorted(p.relative_to(coded).as_posix() for p in coded.rglob("*.ffc"))
    assert written == ["a.ffc", "b.ffc", "odd.ffc", "rgb.ffc", "sub/c.ffc"]
    assert "colour coded as grey" in out
    assert api.describe((coded / "odd.ffc").read_bytes())["quality"] == 2.0


@pytest.mark.parametrize("args", [(), ("only-one",)])
def test_batch_directory_usage(weights_dir: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "batch_directory.py"), *args],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1 and "usage:" in done.stderr


def test_classify_faces(weights_dir: Path, tmp_path: Path) -> None:
    out = run_example("classify_faces.py", weights=weights_dir, cwd=tmp_path)
    assert "original:" in out and out.count("latent") == 3
