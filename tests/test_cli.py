"""The ``facecodec`` command line: files, folders, pipes, errors and exit codes.

Exit codes: 0 success, 1 a facecodec error (also: some files of a batch
failed), 2 a usage error.  Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from facecodec import api, container, registry
from facecodec.cli import main


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click 8.1: keep stderr apart
    except TypeError:
        return CliRunner()  # click >= 8.2: stderr is always apart


def run(*args: str, input: bytes | None = None) -> Result:
    return _runner().invoke(main, [str(a) for a in args], input=input)


def tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp")] + [p for p in root.rglob("*.tmp")]


def assert_one_line_error(result: Result, *needles: str, code: int = 1) -> None:
    """Exit ``code``, no traceback, and exactly one line ``error: ...`` on stderr holding ``needles``."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]


def assert_usage_error(result: Result, *needles: str) -> None:
    """A usage error: exit 2, one line ``error: ...`` (see :func:`assert_one_line_error`)."""
    assert_one_line_error(result, *needles, code=2)


def read_png(data_or_path: bytes | Path) -> np.ndarray:
    source = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    with Image.open(source) as im:
        return np.asarray(im)


# --- file → file ------------------------------------------------------------------
def test_encode_decode_file_to_file(image_dir: Path, tmp_path: Path, faces) -> None:
    ffc, png, jpg = tmp_path / "a.ffc", tmp_path / "a.png", tmp_path / "a.jpg"
    result = run("encode", image_dir / "a.png", "-o", ffc, "-q", "3", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert api.describe(ffc.read_bytes())["quality"] == 3.0

    result = run("decode", ffc, "-o", png, "--device", "cpu")
    assert result.exit_code == 0, result.output
    decoded = read_png(png)
    assert decoded.shape == (48, 48)
    assert np.array_equal(decoded, api.decode_array(ffc.read_bytes(), device="cpu")[..., 0])

    # output format from the suffix
    assert run("decode", ffc, "-o", jpg, "--device", "cpu").exit_code == 0
    with Image.open(jpg) as im:
        assert im.format == "JPEG"
    assert tmp_files(tmp_path) == []


def test_default_output_is_next_to_input(image_dir: Path) -> None:
    assert run("encode", image_dir / "odd.png").exit_code == 0
    assert (image_dir / "odd.ffc").exists()
    assert run("decode", image_dir / "odd.ffc", "-o", f"{image_dir / 'out'}/").exit_code == 0
    assert read_png(image_dir / "out" / "odd.png").shape == (37, 53)


def test_rgb_input_warns_and_decodes_to_grey_rgb(image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "rgb.png", "-o", tmp_path / "rgb.ffc")
    assert result.exit_code == 0
    assert "warning" in result.stderr and "grey" in result.stderr
    assert run("decode", tmp_path / "rgb.ffc").exit_code == 0
    decoded = read_png(tmp_path / "rgb.png")
    assert decoded.shape == (40, 64, 3)
    assert np.array_equal(decoded[..., 0], decoded[..., 2])


# --- directory → directory --------------------------------------------------------------
def test_directory_round_trip_keeps_relative_paths(image_dir: Path, tmp_path: Path) -> None:
    coded, decoded = tmp_path / "coded", tmp_path / "decoded"
    result = run("encode", image_dir, "-o", coded, "--json", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    expected = {"a.ffc", "b.ffc", "odd.ffc", "rgb.ffc", "sub/c.ffc"}
    assert {p.relative_to(coded).as_posix() for p in coded.rglob("*.ffc")} == expected
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 5
    for r in records:
        assert r["ok"] is True
        assert r["bytes"] == Path(r["output"]).stat().st_size
        assert r["quality"] == 4.0
        assert r["bpp"] > 0

    result = run("decode", coded, "-o", decoded, "--json")
    assert result.exit_code == 0, result.output
    records = {Path(r["output"]).relative_to(decoded).as_posix(): r
               for r in map(json.loads, result.stdout.splitlines())}  # fmt: skip
    assert set(records) == {"a.png", "b.png", "odd.png", "rgb.png", "sub/c.png"}
    assert (records["odd.png"]["width"], records["odd.png"]["height"]) == (53, 37)
    assert records["rgb.png"]["channels"] == 3
    assert read_png(decoded / "sub" / "c.png").shape == (48, 48)
    assert tmp_files(tmp_path) == []


def test_several_files_need_an_output_directory(image_dir: Path) -> None:
    result = run("encode", image_dir / "a.png", image_dir / "b.png")
    assert_usage_error(result, "-o DIRECTORY")
    result = run("encode", image_dir / "a.png", image_dir / "b.png", "-o", image_dir / "a.png")
    assert_usage_error(result, "is a file")


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_several_inputs_and_a_file_name_as_output_is_a_usage_error(command: str, image_dir: Path, tmp_path: Path) -> None:
    """``encode a.png b.png -o out.ffc`` used to create a directory named out.ffc."""
    if command == "encode":
        inputs = [image_dir / "a.png", image_dir / "b.png"]
    else:
        coded = tmp_path / "coded"
        assert run("encode", image_dir / "a.png", image_dir / "b.png", "-o", coded).exit_code == 0
        inputs = [coded / "a.ffc", coded / "b.ffc"]
    target = tmp_path / ("out.ffc" if command == "encode" else "out.png")
    assert_usage_error(run(command, *inputs, "-o", target), "looks like a file name", f"{target}/")
    assert not target.exists()
    # a directory input is several inputs too
    assert_usage_error(run(command, inputs[0].parent, "-o", target), "looks like a file name")
    assert not target.exists()
    # a trailing slash asks for a directory of that name
    assert run(command, *inputs, "-o", f"{target}/").exit_code == 0
    assert sorted(p.name for p in target.iterdir()) == sorted(p.stem + (".ffc" if command == "encode" else ".png") for p in inputs)


@pytest.mark.parametrize("force", [[], ["--force"]], ids=["plain", "force"])
def test_colliding_outputs_are_refused_before_anything_is_written(force: list[str], image_dir: Path, tmp_path: Path, faces, write_png) -> None:
    """Two inputs with one name in different folders: the second used to replace the first."""
    other = write_png(faces["b"], tmp_path / "other" / "a.png")
    out = tmp_path / "out"
    result = run("encode", image_dir / "a.png", other, "-o", out, *force)
    assert_usage_error(result, str(image_dir / "a.png"), str(other), "a.ffc")
    assert not out.exists()
    # one name, two suffixes in one folder: a.png and a.jpg would both be a.ffc
    (image_dir / "sub" / "c.jpg").write_bytes((image_dir / "a.png").read_bytes())
    assert_usage_error(run("encode", image_dir, "-o", out, *force), "c.ffc")
    assert not out.exists()
    # the same file twice
    assert_usage_error(run("encode", image_dir / "b.png", image_dir / "b.png", "-o", out, *force), "given twice")
    assert not out.exists()

    # decode: two a.ffc from different folders into one -o folder
    first, second = tmp_path / "c1", tmp_path / "c2"
    assert run("encode", image_dir / "a.png", "-o", f"{first}/").exit_code == 0
    assert run("encode", other, "-o", f"{second}/").exit_code == 0
    decoded = tmp_path / "decoded"
    assert_usage_error(run("decode", first / "a.ffc", second / "a.ffc", "-o", decoded, *force), "a.png")
    assert not decoded.exists()


# --- summary and warnings -------------------------------------------------------------------
def test_summary_line_on_a_terminal(image_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from facecodec import cli

    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    out = tmp_path / "out"
    result = run("encode", image_dir / "a.png", image_dir / "b.png", "-o", out)
    assert result.exit_code == 0, result.output
    sizes = [(out / n).stat().st_size for n in ("a.ffc", "b.ffc")]
    bpp = sum(n * 8 / (48 * 48) for n in sizes) / 2
    assert result.stderr.splitlines()[-1] == f"encoded 2 files, {sum(sizes)} bytes, {bpp:.3g} bpp avg → {out}/"

    # without -o: the summary says where the file went
    result = run("encode", image_dir / "b.png")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1].endswith(f"→ {image_dir / 'b.ffc'} (next to the input)")

    result = run("decode", out, "-o", tmp_path / "decoded")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == f"decoded 2 files → {tmp_path / 'decoded'}/"

    # --quiet, --json and a run where nothing was written print no summary
    for args in (["--quiet"], ["--json"]):
        assert "→" not in run("decode", out, "-o", tmp_path / "again", "--force", *args).stderr
    assert_one_line_error(run("encode", tmp_path / "missing.png", "-o", tmp_path / "m.ffc"), "missing.png")


def test_no_summary_when_stderr_is_not_a_terminal(image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "a.png", image_dir / "b.png", "-o", tmp_path / "out")
    assert result.exit_code == 0 and result.stderr == ""


def test_encode_warns_about_inputs_that_are_not_face_crops(image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "a.png", image_dir / "odd.png", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # a.png is a 48×48 crop: no warning
    assert lines[0].startswith(f"warning: {image_dir / 'odd.png'} is 53×37;")
    assert "48×48 face crops" in lines[0] and "crop the face first" in lines[0]
    assert (tmp_path / "out" / "odd.ffc").exists()


# --- pipes --------------------------------------------------------------------------
def test_stdin_stdout_pipes(image_dir: Path, faces) -> None:
    png = (image_dir / "odd.png").read_bytes()
    encoded = run("encode", "-", "-o", "-", "-q", "2", "--json", input=png)
    assert encoded.exit_code == 0, encoded.stderr
    data = encoded.stdout_bytes
    header = api.describe(data)
    assert (header["width"], header["height"], header["quality"]) == (53, 37, 2.0)
    # with stdout taken by data, JSON goes to stderr
    assert json.loads(encoded.stderr.splitlines()[-1])["ok"] is True

    decoded = run("decode", "-", "-o", "-", input=data)
    assert decoded.exit_code == 0, decoded.stderr
    assert decoded.stdout_bytes[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(read_png(decoded.stdout_bytes), api.decode_array(data)[..., 0])

    # '-' without -o also goes to stdout
    assert run("encode", "-", input=png).stdout_bytes[:3] == b"FFC"


def test_stdin_garbage_is_an_error() -> None:
    assert_one_line_error(run("decode", "-", "-o", "-", input=b"hello"), "not a .ffc file")
    assert_one_line_error(run("encode", "-", "-o", "-", input=b"hello"), "not a readable image")


# --- info and models -------------------------------------------------------------------------
def test_info_text_and_json(sample, tmp_path: Path) -> None:
    path = tmp_path / "x.ffc"
    path.write_bytes(sample[0])
    text = run("info", path)
    assert text.exit_code == 0
    default = registry.get_spec(registry.DEFAULT_CODEC)
    assert f"{default.name} (id {default.model_id}) quality 4" in text.stdout
    assert "48x48x1" in text.stdout
    assert f"{len(sample[0])} bytes" in text.stdout
    assert "crc ok" in text.stdout

    as_json = run("info", "--json", path, "-", input=sample[0])
    assert as_json.exit_code == 0
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(path), "-"]
    for r in records:
        assert r["model"] == registry.DEFAULT_CODEC
        assert r["total_bytes"] == len(sample[0])
        assert r["crc"] == "ok"


def test_info_bad_file_reported_others_printed(sample, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.ffc", tmp_path / "bad.ffc"
    good.write_bytes(sample[0])
    bad.write_bytes(sample[0][:-5])
    result = run("info", bad, good, tmp_path / "missing.ffc")
    assert result.exit_code == 1
    assert f"good.ffc: {registry.DEFAULT_CODEC}" in result.stdout
    assert "bad.ffc" in result.stderr and "truncated" in result.stderr
    assert "missing.ffc" in result.stderr
    assert "Traceback" not in result.output


def test_models_text_and_json() -> None:
    text = run("models")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"* {registry.DEFAULT_CODEC} ")  # the default codec first, marked
    assert [line.split()[1] for line in lines if line.startswith("*")] == [registry.DEFAULT_CODEC, registry.DEFAULT_CLASSIFIER]
    assert "face-hp-v1" in text.stdout and "read by fer-cnn-joint-v1 (pixels)" in text.stdout
    assert "random" in text.stdout  # the training data column

    as_json = run("models", "--json")
    assert as_json.exit_code == 0
    document = json.loads(as_json.stdout)  # one JSON document
    assert document["default_codec"] == registry.DEFAULT_CODEC
    by_name = {r["name"]: r for r in document["models"]}
    assert list(by_name) == registry.model_names()
    entry = by_name["face-hp-v1"]
    assert entry["id"] == 1 and entry["kind"] == "codec" and entry["channels"] == 1
    assert entry["weights_available"] is True and entry["default"] is False
    assert entry["training_data"] == "random init (tests)"
    assert entry["parameters"] > 100_000
    assert (entry["classifier"], entry["latent_head"]) == ("fer-cnn-joint-v1", None)

    # the defaults are marked in the document too
    assert {n for n, r in by_name.items() if r["default"]} == {registry.DEFAULT_CODEC, registry.DEFAULT_CLASSIFIER}


def test_models_shows_small_weights_in_kilobytes() -> None:
    """Latent heads (about 20 kB) used to show as "weights 0.0 MB"."""
    text = run("models").stdout
    records = json.loads(run("models", "--json").stdout)["models"]
    small = [r for r in records if r["weights_bytes"] and r["weights_bytes"] < 1e6]
    assert small, "no model with weights under 1 MB"
    assert "0.0 MB" not in text
    for r in small:
        line = next(line for line in text.splitlines() if f" {r['name']}  (" in line)
        assert f"{r['weights_bytes'] / 1e3:.1f} kB" in line, line


def test_classify_with_a_removed_head_is_one_error_line(sample, tmp_path: Path) -> None:
    path = tmp_path / "a.ffc"
    path.write_bytes(sample[0])
    result = run("classify", "--model", "fer-latent-v12", path)
    assert_one_line_error(result, "facecodec 0.1.x")


def test_a_removed_model_or_its_file_is_one_error_line(image_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.ffc"
    assert_one_line_error(run("encode", image_dir / "a.png", "-o", out, "--model", "face-fer-v8"), "face-fer-v8", "facecodec 0.1.x")
    assert not out.exists()
    golden = Path(__file__).resolve().parent / "data" / "golden" / "v2_face-fer-v1_q1_astronaut.ffc"
    for command in (["decode", golden, "-o", tmp_path / "a.png"], ["info", golden]):
        assert_one_line_error(run(*command), "face-fer-v1", "facecodec 0.1.x")
    assert not (tmp_path / "a.png").exists()


def test_models_without_weights_still_lists(tmp_path: Path, use_weights) -> None:
    use_weights(tmp_path)
    result = run("models", "--json")
    assert result.exit_code == 0
    entry = {r["name"]: r for r in json.loads(result.stdout)["models"]}["face-hp-v1"]
    assert entry["weights_available"] is False
    assert "missing" in run("models").stdout


# --- overwriting ------------------------------------------------------------------------------
def test_no_overwrite_without_force(image_dir: Path, tmp_path: Path) -> None:
    dest = tmp_path / "a.ffc"
    dest.write_bytes(b"original")
    result = run("encode", image_dir / "a.png", "-o", dest)
    assert_one_line_error(result, "exists", "--force")
    assert dest.read_bytes() == b"original"
    assert tmp_files(tmp_path) == []

    assert run("encode", image_dir / "a.png", "-o", dest, "--force").exit_code == 0
    assert api.describe(dest.read_bytes())["width"] == 48

    png = tmp_path / "a.png"
    png.write_bytes(b"keep me")
    assert run("decode", dest, "-o", png).exit_code == 1
    assert png.read_bytes() == b"keep me"
    assert run("decode", dest, "-o", png, "-f").exit_code == 0
    assert read_png(png).shape == (48, 48)


def test_no_overwrite_in_directory_batch(image_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.ffc").write_bytes(b"original")
    result = run("encode", image_dir / "a.png", image_dir / "b.png", image_dir / "sub", "-o", out)
    assert result.exit_code == 1
    assert "b.ffc exists" in result.stderr
    assert (out / "b.ffc").read_bytes() == b"original"
    assert api.describe((out / "a.ffc").read_bytes())["width"] == 48
    assert (out / "c.ffc").exists()  # relative to its input directory "sub"
    assert tmp_files(out) == []


# --- bad files in a batch -------------------------------------------------------------------
def test_bad_image_in_batch(image_dir: Path, tmp_path: Path) -> None:
    (image_dir / "sub" / "bad.png").write_text("this is not a picture\n")
    (image_dir / "sub" / "deep").mkdir()
    (image_dir / "sub" / "deep" / "a.png").write_bytes((image_dir / "a.png").read_bytes())
    out = tmp_path / "out"
    result = run("encode", image_dir / "sub", "-o", out, "--json")
    assert result.exit_code == 1
    assert "bad.png" in result.stderr
    assert "Traceback" not in result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["ok"] for r in records) == [False, True, True]
    failed = next(r for r in records if not r["ok"])
    assert failed["input"].endswith("bad.png") and failed["error"]
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == {"c.ffc", "deep/a.ffc"}
    assert tmp_files(tmp_path) == []


def test_truncated_ffc_in_batch(image_dir: Path, tmp_path: Path) -> None:
    coded, decoded = tmp_path / "coded", tmp_path / "decoded"
    assert run("encode", image_dir / "a.png", image_dir / "b.png", "-o", coded).exit_code == 0
    (coded / "broken.ffc").write_bytes((coded / "a.ffc").read_bytes()[:-7])
    (coded / "empty.ffc").write_bytes(b"")
    result = run("decode", coded, "-o", decoded)
    assert result.exit_code == 1
    assert "broken.ffc" in result.stderr and "empty.ffc" in result.stderr
    assert "Traceback" not in result.output
    assert {p.name for p in decoded.iterdir()} == {"a.png", "b.png"}
    assert tmp_files(tmp_path) == []


def test_missing_input_file(tmp_path: Path) -> None:
    result = run("encode", tmp_path / "nope.png", "-o", tmp_path / "x.ffc")
    assert_one_line_error(result, "nope.png")
    assert list(tmp_path.iterdir()) == []


def test_empty_input_directory(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    assert_one_line_error(run("decode", tmp_path / "in", "-o", tmp_path / "out"), "no .ffc files")


# --- usage and model errors ----------------------------------------------------------------
def test_unknown_model(image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "a.png", "-o", tmp_path / "a.ffc", "--model", "face-nope-v9")
    assert_one_line_error(result, "face-nope-v9", "face-hp-v1")
    assert not (tmp_path / "a.ffc").exists()


def test_a_removed_model_names_the_release_that_reads_its_files(image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "a.png", "-o", tmp_path / "a.ffc", "--model", "face-fer-v5")
    assert_one_line_error(result, "removed in facecodec 0.2; facecodec 0.1.x reads its files")
    assert not (tmp_path / "a.ffc").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["encode", "x.png", "--quality", "abc"],
        ["encode", "x.png", "--device", "tpu"],
        ["encode", "x.png", "--batch-size", "0"],
        ["encode"],
        ["decode", "x.ffc", "--no-such-option"],
        ["no-such-command"],
    ],
    ids=["quality-abc", "device", "batch-size", "no-input", "option", "command"],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    # click's usage errors in the same style as facecodec's own: "error: ..."
    assert "Error:" not in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error: ")], result.stderr


@pytest.mark.parametrize("quality", ["9", "0", "-1", "nan"])
def test_quality_out_of_range_is_a_usage_error(quality: str, image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "a.png", "-o", tmp_path / "a.ffc", "-q", quality)
    assert_usage_error(result, f"{registry.DEFAULT_CODEC} codes qualities 1..8, got ")
    assert not (tmp_path / "a.ffc").exists()


def test_quality_error_names_the_codec_and_its_qualities(image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "a.png", "-o", tmp_path / "a.ffc", "--model", "face-hp-v1", "-q", "0.25")
    assert_usage_error(result, "face-hp-v1 codes qualities 1..8, got 0.25")
    assert not (tmp_path / "a.ffc").exists()


def test_quality_off_the_grid_is_reported_as_rounded(image_dir: Path, tmp_path: Path) -> None:
    stored = api.quality_from_code(api.quality_code(1.03))
    assert stored != 1.03
    result = run("encode", image_dir / "a.png", "-o", tmp_path / "a.ffc", "-q", "1.03")
    assert result.exit_code == 0, result.output
    assert f"warning: quality 1.03 rounded to {stored:g}" in result.stderr
    assert api.describe((tmp_path / "a.ffc").read_bytes())["quality"] == stored
    on_grid = run("encode", image_dir / "b.png", "-o", tmp_path / "b.ffc", "-q", "1.0625")
    assert on_grid.exit_code == 0 and "rounded" not in on_grid.stderr


def test_help_and_version() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("encode", "decode", "info", "models", "train"):
        assert command in result.stdout
    assert run("encode", "--help").exit_code == 0
    version = run("--version")
    import tomllib

    import facecodec

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    assert facecodec.__version__ == project["version"]  # one version, in both places
    assert version.exit_code == 0 and facecodec.__version__ in version.stdout


# --- weights problems ---------------------------------------------------------------------------
def test_missing_weights(image_dir: Path, tmp_path: Path, use_weights, sample) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    use_weights(empty)
    out = tmp_path / "out"
    result = run("encode", image_dir / "a.png", "-o", out / "a.ffc")
    assert_one_line_error(result, "no weights", registry.DEFAULT_CODEC)
    (tmp_path / "x.ffc").write_bytes(sample[0])
    assert_one_line_error(run("decode", tmp_path / "x.ffc", "-o", out / "x.png"), "no weights")
    assert not out.exists() or list(out.iterdir()) == []


def test_tampered_weights(weights_dir: Path, image_dir: Path, tmp_path: Path, use_weights) -> None:
    tampered = tmp_path / "weights"
    shutil.copytree(weights_dir, tampered)
    weights = tampered / registry.get_spec(registry.DEFAULT_CODEC).weights_file
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    use_weights(tampered)
    out = tmp_path / "out"
    out.mkdir()
    result = run("encode", image_dir, "-o", out)
    assert_one_line_error(result, "sha256")
    assert list(out.iterdir()) == []


# --- the entry point --------------------------------------------------------------------------
def test_python_m_facecodec_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "facecodec", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "encode" in done.stdout and "decode" in done.stdout


def test_cli_import_does_not_import_torch() -> None:
    code = (
        "import sys, facecodec.cli, facecodec.container, facecodec.registry; "
        "from click.testing import CliRunner; "
        "r = CliRunner().invoke(facecodec.cli.main, ['--help']); "
        "assert r.exit_code == 0, r.output; "
        "bad = {'torch', 'compressai'} & set(sys.modules); "
        "print(sorted(bad)); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_container_file_written_by_cli_parses(image_dir: Path, tmp_path: Path) -> None:
    assert (
        run("encode", image_dir / "rgb.png", "-o", tmp_path / "r.ffc", "-q", "7.5").exit_code == 0
    )
    f = container.unpack((tmp_path / "r.ffc").read_bytes())
    assert (f.width, f.height, f.channels, f.quality_code) == (64, 40, 3, 120)


# --- write errors -------------------------------------------------------------------------------
def test_unwritable_output_is_reported_and_skipped(image_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the batch wants a folder")
    (image_dir / "odd.png").unlink()
    (image_dir / "rgb.png").unlink()
    result = run("encode", image_dir, "-o", out)
    # sub/c.png's output folder cannot be made; a.png and b.png are still written
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "cannot write" in result.stderr
    assert (out / "a.ffc").exists() and (out / "b.ffc").exists()
    assert (out / "sub").read_text().startswith("a file")

    # --force cannot replace a folder with a file
    (out / "a.ffc").unlink()
    (out / "a.ffc").mkdir()
    result = run("encode", image_dir / "a.png", image_dir / "b.png", "-o", out, "--force")
    assert_one_line_error(result, "cannot write", "a.ffc")
    assert (out / "a.ffc").is_dir()
    assert api.describe((out / "b.ffc").read_bytes())["width"] == 48
    assert tmp_files(tmp_path) == []


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA device is present")
def test_cuda_requested_without_gpu(image_dir: Path, tmp_path: Path) -> None:
    result = run("encode", image_dir / "a.png", "-o", tmp_path / "a.ffc", "--device", "cuda")
    assert_one_line_error(result, "CUDA")
    assert not (tmp_path / "a.ffc").exists()


def test_outputs_get_the_usual_file_mode(tmp_path: Path, make_face, write_png) -> None:
    import os

    src = tmp_path / "m.png"
    write_png(make_face(5), src)
    out = tmp_path / "m.ffc"
    assert run("encode", str(src), "-o", str(out)).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_every_command_has_json() -> None:
    import click

    def leaves(cmd: click.Command, path: str):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from leaves(sub, f"{path} {name}")
        else:
            yield path, cmd

    commands = dict(leaves(main, "facecodec"))
    assert {"facecodec classify", "facecodec train joint", "facecodec train export"} <= set(commands)
    for path, cmd in commands.items():
        assert "--json" in {opt for p in cmd.params for opt in p.opts}, path
