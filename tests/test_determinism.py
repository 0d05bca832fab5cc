"""Decoding is bit-exact whatever the run, thread count, batch or neighbours.

A decoder that is not bit-exact makes the same ``.ffc`` file decode to
different pixels on different occasions (and, for the entropy parameters,
to garbage).  The test set mixes content (faces, flat, noise, stripes), sizes
that share a padded shape (37×53 and 40×64 both pad to 48×64) and two
qualities (alternating), so batches mix real sizes and qualities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from facecodec import api, backends
from facecodec.errors import FacecodecError

CPU = "cpu"
QUALITIES = (1.5, 6.0)


def _images(make_face) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    images = [make_face(100 + i) for i in range(24)]  # 48×48 faces
    images += [make_face(200 + i, 37, 53) for i in range(3)]
    images += [make_face(300 + i, 40, 64) for i in range(3)]
    images += [make_face(400 + i, 20, 20) for i in range(2)]
    images += [
        np.zeros((48, 48, 1), np.uint8),
        np.full((48, 48, 1), 255, np.uint8),
        rng.integers(0, 256, (48, 48, 1), dtype=np.uint8),
        rng.integers(0, 256, (37, 53, 1), dtype=np.uint8),
        (np.indices((48, 48)).sum(0) % 2 * 255).astype(np.uint8),  # checkerboard
        np.repeat(np.arange(0, 240, 5, dtype=np.uint8)[None, :], 48, axis=0),  # ramp
        (np.arange(48)[:, None] // 4 % 2 * 200 + np.zeros((1, 48))).astype(np.uint8),  # stripes
        make_face(500, 48, 48, channels=3),
    ]
    assert len(images) == 40
    return images


@pytest.fixture(scope="module")
def coded(weights_dir: Path, make_face) -> dict[str, list]:
    """40 images coded at alternating qualities, and their decoding as one batch (reference)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACECODEC_WEIGHTS", str(weights_dir))
        api.load_model.cache_clear()
        images = _images(make_face)
        qualities = [QUALITIES[i % 2] for i in range(len(images))]
        files = [e.data for e in api.encode_batch(images, quality=qualities, device=CPU)]
        reference = api.decode_batch(files, device=CPU)
        api.load_model.cache_clear()
    assert all(isinstance(r, np.ndarray) for r in reference)
    return {"images": images, "qualities": qualities, "files": files, "reference": reference}


def _same(decoded: list, reference: list, indexes: list[int] | None = None) -> None:
    indexes = list(range(len(decoded))) if indexes is None else indexes
    assert len(decoded) == len(indexes)
    for got, i in zip(decoded, indexes):
        assert isinstance(got, np.ndarray), got
        assert got.shape == reference[i].shape, i
        assert np.array_equal(got, reference[i]), f"file {i} decodes differently"


def test_reference_is_not_trivial(coded) -> None:
    """The comparisons below mean something: outputs differ between inputs."""
    reference = coded["reference"]
    assert len({r.tobytes() for r in reference}) > 35
    assert len(set(coded["files"])) == 40
    assert {api.describe(f)["quality"] for f in coded["files"]} == set(QUALITIES)


def test_decode_twice(coded) -> None:
    _same(api.decode_batch(coded["files"], device=CPU), coded["reference"])


def _threads(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """The runtime's graphs with ``n`` intra-op threads (loaded afresh)."""
    monkeypatch.setenv("FACECODEC_THREADS", str(n))
    backends.clear()


def test_decode_thread_count(coded, default_threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    files, reference = coded["files"], coded["reference"]
    picked = [0, 1, 2, 3, 24, 25, 27, 28, 30, 31, 32, 34, 36, 39]
    for n in sorted({1, 2, 4, default_threads}):
        _threads(monkeypatch, n)
        _same(api.decode_batch([files[i] for i in picked], device=CPU), reference, picked)


def test_decode_alone_equals_in_batch(coded, monkeypatch: pytest.MonkeyPatch) -> None:
    files, reference = coded["files"], coded["reference"]
    # a face at each quality, odd sizes sharing a padded shape, noise, colour;
    # with 2 threads too, where unchunked float kernels can differ by batch size
    for n in (1, 2):
        _threads(monkeypatch, n)
        for i in (0, 1, 25, 28, 34, 39):
            assert np.array_equal(api.decode_array(files[i], device=CPU), reference[i]), (n, i)


def test_decode_with_other_neighbours_and_order(coded) -> None:
    files, reference = coded["files"], coded["reference"]
    order = [int(i) for i in np.random.default_rng(3).permutation(len(files))]
    _same(api.decode_batch([files[i] for i in order], device=CPU), reference, order)
    few = order[:12]
    _same(api.decode_batch([files[i] for i in few], device=CPU, batch_size=5), reference, few)


def test_decode_next_to_broken_files(coded) -> None:
    files, reference = coded["files"], coded["reference"]
    out = api.decode_batch([b"junk", files[5], files[5][:-1], files[36], b"FFC"], device=CPU)
    assert isinstance(out[0], FacecodecError)
    assert isinstance(out[2], FacecodecError)
    _same([out[1], out[3]], reference, [5, 36])


def test_encode_twice_same_bytes(coded) -> None:
    again = api.encode_batch(coded["images"], quality=coded["qualities"], device=CPU)
    assert [e.data for e in again] == coded["files"]


def test_encode_alone_equals_in_batch(coded) -> None:
    images, qualities, files = coded["images"], coded["qualities"], coded["files"]
    for i in (0, 1, 25, 39):
        assert (
            api.encode_batch([images[i]], quality=qualities[i], device=CPU)[0].data == files[i]
        ), i


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_decode_twice_and_alone(make_face) -> None:  # pragma: no cover - GPU only
    images = [make_face(i) for i in range(20)]
    files = [e.data for e in api.encode_batch(images, device="cuda")]
    first = api.decode_batch(files, device="cuda")
    _same(
        api.decode_batch(files[::-1], device="cuda", batch_size=5), first, list(range(19, -1, -1))
    )
    assert np.array_equal(api.decode_array(files[3], device="cuda"), first[3])
    # entropy decoding is device independent: a GPU-encoded file decodes on the CPU
    cpu = api.decode_batch(files, device=CPU)
    for c, g in zip(cpu, first):
        assert c.shape == g.shape
        assert np.abs(c.astype(int) - g.astype(int)).mean() < 1.0
