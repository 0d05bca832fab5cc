"""Files written by every format version still decode to the same entropy-decoded values.

``tests/data/golden`` holds small ``.ffc`` files made with the codecs of
facecodec 0.1.0 (the example face and noise at qualities 1, 4.5 and 8, and a
128×128 pattern; format 1), named ``v2_*``, the example face written as
format 2 (one CompressAI rANS stream, compact state), named ``v3_*``, the example
face (and noise) written as format 3 (constriction ANS) by the current codecs,
and the sha256 of what entropy decoding gives for each: the
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

import numpy as np
import pytest

from facecodec import api, backends, container, registry
from facecodec.errors import FacecodecError, UnknownModel
from facecodec.runtime.codec import CodedFace

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
SHIPPED = Path(__file__).resolve().parent.parent / "weights"
DIGESTS = json.loads((GOLDEN / "entropy_sha256.json").read_text())["files"]


def _model(name: str) -> str:
    """The model a golden file was written with (its name: ``[vN_]MODEL_qQ_WHAT.ffc``)."""
    return name.removeprefix("v2_").removeprefix("v3_").split("_")[0]


CURRENT = sorted(n for n in DIGESTS if _model(n) in registry.model_names())
REMOVED = sorted(n for n in DIGESTS if _model(n) in registry.REMOVED)


@pytest.fixture(autouse=True)
def shipped(monkeypatch):
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(SHIPPED))
    yield


def _face(f: container.FfcFile) -> CodedFace:
    return CodedFace(f.streams, container.CODINGS[f.version], -(-f.height // 16) * 2, -(-f.width // 16) * 2)


def _digests(files: list[container.FfcFile], device: str = "cpu") -> list[str]:
    """Digests of same-model, same-size files entropy-decoded together in one batch."""
    net = backends.codec(registry.spec_for_id(files[0].model_id).name, device)
    _, y_symbols, means = net.symbols([_face(f) for f in files])
    return [
        hashlib.sha256(y.astype("int32").tobytes() + m.astype("float64").tobytes()).hexdigest()
        for y, m in zip(y_symbols, means)
    ]


def _digest(path: Path) -> str:
    return _digests([api.parse(path.read_bytes())])[0]


def test_golden_set_is_complete() -> None:
    assert len(DIGESTS) == 39
    assert sorted(DIGESTS) == sorted(p.name for p in GOLDEN.glob("*.ffc"))
    assert len(CURRENT) == 22 and len(REMOVED) == 17 and sorted(CURRENT + REMOVED) == sorted(DIGESTS)
    for name in DIGESTS:
        version = int(name[1]) if name[0] == "v" and name[2] == "_" else 1
        assert container.unpack((GOLDEN / name).read_bytes()).version == version


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


@pytest.mark.parametrize("name", CURRENT)
def test_golden_file_entropy_decodes_as_written(name: str) -> None:
    assert _digest(GOLDEN / name) == DIGESTS[name]


def test_entropy_decoding_does_not_depend_on_the_batch_or_the_path() -> None:
    # every 48×48 file of one codec decoded in one batch, in both orders, and by the torch path
    for codec in ("face-fer-v9", "face-hp-v1"):
        names = [n for n in CURRENT if _model(n) == codec and "astronaut" in n]
        files = [api.parse((GOLDEN / n).read_bytes()) for n in names]
        expected = [DIGESTS[n] for n in names]
        assert _digests(files) == expected
        assert _digests(files[::-1]) == expected[::-1]
        assert _digests(files, device="torch-cpu") == expected


def test_golden_files_decode_to_images() -> None:
    for path in (GOLDEN / n for n in CURRENT):
        f = api.parse(path.read_bytes())
        assert api.decode_array(path.read_bytes(), device="cpu").shape == (f.height, f.width, f.channels)


def test_upgrade_rewrites_older_files_in_the_current_format_with_the_same_symbols(tmp_path: Path) -> None:
    names = [n for n in CURRENT if not n.startswith(("v2_", "v3_"))]
    datas = [(GOLDEN / n).read_bytes() for n in names]
    upgraded = api.upgrade_batch([*datas, b"junk", (GOLDEN / REMOVED[0]).read_bytes()])
    assert isinstance(upgraded[-2], FacecodecError)
    assert isinstance(upgraded[-1], UnknownModel) and registry.READ_BY in str(upgraded[-1])
    for name, old, new in zip(names, datas, upgraded):
        assert api.parse(new).version == container.VERSION and len(new) < len(old)
        twin = GOLDEN / ("v2_" + name)
        if twin.exists():  # format 2 and format 1 files of the same symbols upgrade to the same bytes
            assert api.upgrade_batch([twin.read_bytes()]) == [new]
        path = tmp_path / name  # the same entropy-decoded values, so the same pixels
        path.write_bytes(new)
        assert _digest(path) == DIGESTS[name]
        assert np.array_equal(api.decode_array(new, device="cpu"), api.decode_array(old, device="cpu"))
    current = [(GOLDEN / n).read_bytes() for n in CURRENT if n.startswith("v3_")]
    assert api.upgrade_batch(current) == current  # current files pass through unchanged


def test_upgrade_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from facecodec.cli import main

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.ffc").write_bytes((GOLDEN / "face-hp-v1_q1_astronaut.ffc").read_bytes())
    (src / "bad.ffc").write_bytes(b"junk")
    result = CliRunner().invoke(main, ["upgrade", str(src), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "bad.ffc" in result.output  # one bad file: reported, others written
    assert [(tmp_path / "out" / "a.ffc").read_bytes()] == api.upgrade_batch([(src / "a.ffc").read_bytes()])
    assert not (tmp_path / "out" / "bad.ffc").exists()
    one = src / "a.ffc"
    assert CliRunner().invoke(main, ["upgrade", str(one)]).exit_code == 1  # in place needs --force
    assert api.parse(one.read_bytes()).version == 1
    assert CliRunner().invoke(main, ["upgrade", str(one), "--force"]).exit_code == 0
    assert api.parse(one.read_bytes()).version == container.VERSION
