"""Files written by earlier versions still decode to the same entropy-decoded values.

``tests/data/golden`` holds small ``.ffc`` files made with the codecs of
facecodec 0.1.0 (the example face and noise at qualities 1, 4.5 and 8, and a
128×128 pattern whose hyper-latent is too big for the dense path of
``exact_hyper``; format 1) and, named ``v2_*``, the example face written as
format 2 (one stream, compact rANS state), and the sha256 of what
entropy decoding gives for each: the
integer ``y`` symbols and their exact float64 means. Those are pure integer /
dyadic results, the same on every machine; a change to the rANS wrapper or to
the fixed-point hyper-synthesis that altered any of them would break every
file already written, so it fails here. (Pixels come from a float synthesis
transform and may differ in the last bit across CPUs, so they are not pinned.)

Files of models removed in 0.2 (face-fer-v1, face-fer-v4) stay here: they must
fail with one line naming the release that reads them. face-fer-v5 (removed in
0.2 too) was face-fer-v4 plus an expression-only tier; face-fer-v4's files
relabelled with face-fer-v5's id stand in for its files and fail the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from facecodec import api, container, registry
from facecodec.errors import FacecodecError, UnknownModel
from facecodec.models import exact_hyper
from facecodec.models.hyperprior import CompressedFace

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
SHIPPED = Path(__file__).resolve().parent.parent / "weights"
DIGESTS = json.loads((GOLDEN / "entropy_sha256.json").read_text())["files"]


def _model(name: str) -> str:
    """The model a golden file was written with (its name: ``[v2_]MODEL_qQ_WHAT.ffc``)."""
    return name.removeprefix("v2_").split("_")[0]


CURRENT = sorted(n for n in DIGESTS if _model(n) in registry.model_names())
REMOVED = sorted(n for n in DIGESTS if _model(n) in registry.REMOVED)


@pytest.fixture(autouse=True)
def shipped(monkeypatch):
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(SHIPPED))
    api.load_model.cache_clear()
    yield
    api.load_model.cache_clear()


def _digest(path: Path) -> str:
    return _digest_of(api.parse(path.read_bytes()))


def _digest_of(f: container.FfcFile) -> str:
    net = api.load_model(registry.spec_for_id(f.model_id).name, "cpu")
    stride = net.downsampling // 2
    face = CompressedFace(f.streams, -(-f.height // 16) * 16 // stride, -(-f.width // 16) * 16 // stride)
    y_symbols, means = net.entropy_decode([face])
    blob = y_symbols.int().contiguous().numpy().tobytes() + means.double().contiguous().numpy().tobytes()
    return hashlib.sha256(blob).hexdigest()


def test_golden_set_is_complete() -> None:
    assert len(DIGESTS) == 26
    assert sorted(DIGESTS) == sorted(p.name for p in GOLDEN.glob("*.ffc"))
    assert len(CURRENT) == 9 and len(REMOVED) == 17 and sorted(CURRENT + REMOVED) == sorted(DIGESTS)


@pytest.mark.parametrize("name", REMOVED)
def test_a_removed_models_file_fails_with_the_release_that_reads_it(name: str) -> None:
    data = (GOLDEN / name).read_bytes()
    for call in (api.parse, api.describe, api.decode_array):
        with pytest.raises(UnknownModel) as info:
            call(data)
        message = str(info.value)
        assert _model(name) in message and registry.READ_BY in message and "\n" not in message
    (slot,) = api.decode_batch([data], device="cpu")
    assert isinstance(slot, UnknownModel) and registry.READ_BY in str(slot)


@pytest.mark.parametrize("name", [n for n in REMOVED if _model(n) == "face-fer-v4"])
def test_face_fer_v5_files_fail_with_the_release_that_reads_them(name: str) -> None:
    old = container.unpack((GOLDEN / name).read_bytes())
    relabelled = container.pack(replace(old, model_id=registry.REMOVED["face-fer-v5"]))
    expected = f"model 'face-fer-v5' was removed in facecodec 0.2; {registry.READ_BY} reads its files"
    for call in (api.parse, api.describe, api.decode_array):
        with pytest.raises(UnknownModel) as info:
            call(relabelled)
        assert str(info.value) == expected


def test_format_2_files_hold_what_their_format_1_twins_hold() -> None:
    # v2_NAME: the same face, model and quality written as format 2 (one rANS stream,
    # compact state): the same entropy-decoded values in fewer bytes
    twins = sorted(name for name in DIGESTS if name.startswith("v2_"))
    assert len(twins) == 9
    for name in twins:
        v2, v1 = GOLDEN / name, GOLDEN / name[3:]
        assert container.unpack(v2.read_bytes()).version == 2 and container.unpack(v1.read_bytes()).version == 1
        assert DIGESTS[name] == DIGESTS[name[3:]]
        assert v2.stat().st_size < v1.stat().st_size


@pytest.mark.parametrize("path", ["dense", "convolution"])
@pytest.mark.parametrize("name", CURRENT)
def test_golden_file_entropy_decodes_as_written(name: str, path: str, monkeypatch) -> None:
    # the hyper-synthesis' transposed conv runs as a dense product for batches
    # of DENSE_MIN_BATCH faces and more, as conv_transpose2d below: both exact
    monkeypatch.setattr(exact_hyper, "DENSE_MIN_BATCH", 1 if path == "dense" else 10**9)
    assert _digest(GOLDEN / name) == DIGESTS[name]


def test_golden_files_decode_to_images() -> None:
    for path in (GOLDEN / n for n in CURRENT):
        f = api.parse(path.read_bytes())
        assert api.decode_array(path.read_bytes(), device="cpu").shape == (f.height, f.width, f.channels)


def test_upgrade_rewrites_format_1_files_as_their_format_2_twins(tmp_path: Path) -> None:
    names = [n for n in CURRENT if not n.startswith("v2_")]
    datas = [(GOLDEN / n).read_bytes() for n in names]
    upgraded = api.upgrade_batch([*datas, b"junk", (GOLDEN / REMOVED[0]).read_bytes()])
    assert isinstance(upgraded[-2], FacecodecError)
    assert isinstance(upgraded[-1], UnknownModel) and registry.READ_BY in str(upgraded[-1])
    for name, old, new in zip(names, datas, upgraded):
        assert api.parse(new).version == 2 and len(new) < len(old)
        twin = GOLDEN / ("v2_" + name)
        if twin.exists():  # byte for byte what encoding the same face as format 2 gives
            assert new == twin.read_bytes()
        path = tmp_path / name  # the same entropy-decoded values, so the same pixels
        path.write_bytes(new)
        assert _digest(path) == DIGESTS[name]
    v2 = (GOLDEN / f"v2_{names[0]}").read_bytes()
    assert api.upgrade_batch([v2]) == [v2]  # current files pass through unchanged


def test_upgrade_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from facecodec.cli import main

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.ffc").write_bytes((GOLDEN / "face-hp-v1_q1_astronaut.ffc").read_bytes())
    (src / "bad.ffc").write_bytes(b"junk")
    result = CliRunner().invoke(main, ["upgrade", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "bad.ffc" in result.output  # one bad file: reported, others written
    assert (tmp_path / "out" / "a.ffc").read_bytes() == (GOLDEN / "v2_face-hp-v1_q1_astronaut.ffc").read_bytes()
    assert not (tmp_path / "out" / "bad.ffc").exists()
    one = src / "a.ffc"
    assert CliRunner().invoke(main, ["upgrade", str(one)]).exit_code == 1  # in place needs --force
    assert api.parse(one.read_bytes()).version == 1
    assert CliRunner().invoke(main, ["upgrade", str(one), "--force"]).exit_code == 0
    assert api.parse(one.read_bytes()).version == 2
