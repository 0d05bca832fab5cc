"""The lean runtime: the same files and symbols as the PyTorch path, exact coding, no torch.

The shipped models are checked here too (their graphs and weights are in
``weights/``): for each, the runtime and the torch path must write the same
bytes for the example face and decode the same symbols, and their pixels may
differ by at most one grey level (float transforms, two libraries).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from facecodec import api, backends, container, registry
from facecodec.runtime import ans, hyper, memory
from facecodec.runtime.codec import CodedFace

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "astronaut_face_48x48_gray.png"
SHIPPED_CODECS = registry.model_names("codec")


def _table(rows: int, seed: int) -> ans.Table:
    """Random quantised CDF rows of random lengths (each bin at least 1 of 2**16)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 40, rows)
    cdfs = np.zeros((rows, lengths.max()), dtype=np.int64)
    for r, n in enumerate(lengths):
        freqs = rng.integers(1, 1000, n - 1).astype(np.float64)
        freqs = np.maximum(1, np.floor(freqs / freqs.sum() * (2**16 - n))).astype(np.int64)
        freqs[-1] += 2**16 - freqs.sum()
        cdfs[r, :n] = np.concatenate([[0], np.cumsum(freqs)])
    return ans.Table(cdfs, lengths, rng.integers(-20, 5, rows))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), n=st.integers(0, 300), spread=st.sampled_from([1, 10, 1000, 2**20]))
def test_ans_streams_round_trip_any_values(seed: int, n: int, spread: int) -> None:
    # values far outside a row's range are escaped; two parts in one stream, read in order
    rng = np.random.default_rng(seed)
    table = _table(7, seed)
    parts = []
    for _ in range(2):
        rows = rng.integers(0, 7, n)
        values = rng.integers(-spread, spread + 1, n).astype(np.int32)
        parts.append(ans.Part(table, values, rows))
    stream = ans.encode(parts)
    reader = ans.Reader(stream)
    for part in parts:
        assert np.array_equal(reader.read(table, part.rows), part.values)
    if stream:
        assert stream[-1] != 0  # the last word's high zero bytes are not stored


def test_ans_reader_never_fails_on_garbage() -> None:
    table = _table(5, 0)
    rows = np.arange(200) % 5
    rng = np.random.default_rng(1)
    for data in [b"", b"\0", b"\0\0\0\0", rng.bytes(3), rng.bytes(1000), b"\xff" * 64]:
        values = ans.Reader(data).read(table, rows)
        assert values.shape == rows.shape and values.dtype == np.int32


def test_plans_made_for_many_faces_read_as_one_face_plans() -> None:
    table = _table(7, 3)
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 7, (6, 4, 3, 3))
    values = rng.integers(-40, 40, rows.shape)  # many escapes
    streams = [ans.encode([ans.Part(table, v, r)]) for v, r in zip(values, rows)]
    for stream, r, v, plan in zip(streams, rows, values, ans.plans(table, rows)):
        assert np.array_equal(ans.Reader(stream).read(table, r, plan), v)
        assert np.array_equal(ans.Reader(stream).read(table, r), v)


def test_keep_freed_memory_is_once_and_can_be_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_done", False)
    monkeypatch.setenv("FACECODEC_KEEP_MEMORY", "0")
    assert memory.keep_freed_memory() is False and memory._done is False
    monkeypatch.delenv("FACECODEC_KEEP_MEMORY")
    first = memory.keep_freed_memory()
    assert first is (sys.platform.startswith("linux") and memory._done)
    assert memory.keep_freed_memory() is first


def test_dense_and_tap_by_tap_hyper_synthesis_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    state = backends.codec("face-hp-v1", "cpu")  # random test weights
    z = np.random.default_rng(0).integers(-6, 7, (hyper.DENSE_MIN_BATCH + 3, 64, 3, 3)).astype(np.float32)
    big = state.hyper(z)  # dense operator
    for i in (0, 5, len(z) - 1):
        single = state.hyper(z[i : i + 1])  # tap by tap
        assert np.array_equal(big[0][i], single[0][0]) and np.array_equal(big[1][i], single[1][0])


@pytest.mark.parametrize("codec", SHIPPED_CODECS)
def test_runtime_and_torch_path_code_alike(codec: str, faces) -> None:
    # random test weights: both paths write the same files and decode the same symbols
    images = [faces["a"], faces["b"], faces["odd"]]
    for q in (1.0, 4.5, 8.0):
        runtime = api.encode_batch(images, model=codec, quality=q, device="cpu")
        reference = api.encode_batch(images, model=codec, quality=q, device="torch-cpu")
        assert [e.data for e in runtime] == [e.data for e in reference]
        for e in runtime:
            a = api.decode_array(e.data, device="cpu").astype(int)
            b = api.decode_array(e.data, device="torch-cpu").astype(int)
            assert np.abs(a - b).max() <= 1


@pytest.mark.parametrize("codec", SHIPPED_CODECS)
def test_shipped_models_code_alike_on_both_paths(codec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(ROOT / "weights"))
    face = np.asarray(Image.open(EXAMPLE))
    for q in (1.0, 4.5, 8.0):
        data = api.encode(face, model=codec, quality=q, device="cpu")
        assert data == api.encode(face, model=codec, quality=q, device="torch-cpu")
        golden = ROOT / "tests" / "data" / "golden" / f"v3_{codec}_q{q:g}_astronaut.ffc"
        assert container.unpack(data).version == 3 and len(data) == len(golden.read_bytes())
        f = api.parse(data)
        face_ = CodedFace(f.streams, container.CODINGS[f.version], 6, 6)
        ours = backends.codec(codec, "cpu").symbols([face_])
        theirs = backends.codec(codec, "torch-cpu").symbols([face_])
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))
        diff = np.abs(api.decode_array(data, device="cpu").astype(int) - api.decode_array(data, device="torch-cpu"))
        assert diff.max() <= 1


def test_decoding_does_not_depend_on_threads_batches_or_neighbours(faces, monkeypatch: pytest.MonkeyPatch) -> None:
    images = [faces[k] for k in ("a", "b", "c")] * 7  # 21 faces: more than one chunk of 16
    datas = [e.data for e in api.encode_batch(images, quality=3, device="cpu")]
    reference = api.decode_batch(datas, device="cpu", batch_size=64)
    for threads, batch in (("1", 1), ("2", 5), ("2", 64)):
        monkeypatch.setenv("FACECODEC_THREADS", threads)
        backends.clear()
        again = api.decode_batch(datas[::-1], device="cpu", batch_size=batch)[::-1]
        assert all(np.array_equal(a, b) for a, b in zip(reference, again))
        assert [e.data for e in api.encode_batch(images, quality=3, device="cpu", batch_size=batch)] == datas


def _modules_after(code: str, tmp_path: Path) -> list[str]:
    script = (
        "import sys\nfrom facecodec.cli import main\n"
        f"try:\n    main({code!r}.split(), standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'compressai', 'matplotlib', 'scipy'}))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=True)
    return out.stdout.strip().splitlines()


def test_the_cli_coding_path_imports_no_torch(tmp_path: Path, weights_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACECODEC_WEIGHTS", str(weights_dir))
    Image.open(EXAMPLE).save(tmp_path / "face.png")
    for command in ("encode face.png -o face.ffc", "decode face.ffc -o out.png", "classify face.ffc",
                    "classify face.png", "info face.ffc", "upgrade face.ffc -o up.ffc"):  # fmt: skip
        assert _modules_after(command + " --device cpu" * command.startswith(("encode", "decode", "classify")), tmp_path)[-1] == "[]", command
    assert (tmp_path / "out.png").exists() and (tmp_path / "up.ffc").exists()


def test_errors_come_before_any_model_is_loaded(tmp_path: Path, sample) -> None:
    data, _ = sample
    bad = bytearray(data)
    bad[-1] ^= 0xFF  # CRC
    (tmp_path / "bad.ffc").write_bytes(bytes(bad))
    script = (
        "import sys\nfrom facecodec import api, backends\n"
        "r = api.decode_batch([open('bad.ffc', 'rb').read()], device='cpu')\n"
        "print(type(r[0]).__name__, len(backends._CODECS), 'onnxruntime' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert out.stdout.split() == ["ChecksumMismatch", "0", "False"]


def test_cuda_without_a_gpu_or_torch_is_one_clear_error() -> None:
    from facecodec.errors import FacecodecError

    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except ImportError:
        has_gpu = False
    if has_gpu:
        pytest.skip("a GPU is present")
    with pytest.raises(FacecodecError, match="cuda"):
        backends.resolve("cuda")
    assert backends.resolve("cpu") == backends.RUNTIME
    with pytest.raises(FacecodecError, match="unknown device"):
        backends.resolve("tpu")


def test_models_without_runtime_graphs_run_on_pytorch() -> None:
    # the recognizer panel measures; it ships no runtime graphs
    net = backends.classifier("panel-dense-v1", "cpu")
    probs = net(np.random.default_rng(0).random((3, 1, 48, 48)).astype(np.float32))
    assert probs.shape == (3, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)
