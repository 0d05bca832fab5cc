"""Classical codecs in a pool of worker processes: one task per (codec, quality) point.

Each task codes every image one at a time on one core and is timed on the
worker's CPU time; :func:`classical_runs` starts the pool (``fork`` on Linux,
so workers inherit the images) and yields the points as they finish.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import numpy as np

from . import codecs

#: calls shorter than this are repeated (small ``--limit`` runs) ...
MIN_TIMING_S = 0.2
#: ... at most this many times
MAX_REPEATS = 50
_WORKER_IMAGES: np.ndarray | None = None


def _init_worker(images: np.ndarray) -> None:
    global _WORKER_IMAGES
    _WORKER_IMAGES = images
    _avif_threads(1)


def _avif_threads(n: int) -> int:
    """Set Pillow's AVIF decoder thread count (0 = its default); the previous value."""
    try:
        from PIL import AvifImagePlugin
    except ImportError:
        return 0
    previous = AvifImagePlugin.DEFAULT_MAX_THREADS
    AvifImagePlugin.DEFAULT_MAX_THREADS = n
    return previous


def _serial(
    tasks: list[tuple[str, float]], images: np.ndarray
) -> Iterator[tuple[str, float, dict[str, Any]]]:
    previous = _avif_threads(1)
    try:
        for name, q in tasks:
            yield name, q, _code_point(name, q, images)
    finally:
        _avif_threads(previous)


def _code_point(name: str, quality: float, images: np.ndarray) -> dict[str, Any]:
    """Encode then decode every image at one point; sizes, pixels and timings."""
    codec = codecs.baseline(name)
    channels = images.shape[3]
    try:
        files, encode_s = timed(
            lambda: [codec.encode(img, quality) for img in images], time.process_time
        )
        decoded, decode_s = timed(
            lambda: np.stack([codec.decode(f, channels) for f in files]), time.process_time
        )
    except Exception as exc:  # a codec library failing is reported, not fatal
        return {"error": f"{type(exc).__name__}: {exc}"}
    if decoded.shape != images.shape:
        return {"error": f"decoded shape {decoded.shape} != original {images.shape}"}
    return {
        "bytes": np.array([len(f) for f in files], np.int64),
        "decoded": decoded,
        "encode_s": encode_s,
        "decode_s": decode_s,
    }


def timed(
    fn: Callable[[], Any], clock: Callable[[], float] = time.perf_counter
) -> tuple[Any, float]:
    """``fn()`` and the seconds one call takes on ``clock``.

    Classical codecs are timed on the worker's CPU time (one thread, so that is
    one core's time, and other load on the machine does not inflate it);
    facecodec on the wall clock (the runtime's threads, or the GPU).

    Calls shorter than ``MIN_TIMING_S`` (small ``--limit`` runs) are repeated
    until that much time has passed (at most ``MAX_REPEATS`` calls) and the
    mean is returned, so that tiny runs still give usable speeds.
    """
    t0 = clock()
    result = fn()
    elapsed = clock() - t0
    calls = 1
    while elapsed < MIN_TIMING_S and calls < MAX_REPEATS:
        fn()
        calls += 1
        elapsed = clock() - t0
    return result, elapsed / calls


def _worker_point(name: str, quality: float) -> dict[str, Any]:
    assert _WORKER_IMAGES is not None
    return _code_point(name, quality, _WORKER_IMAGES)


def _start_method() -> str:
    """``fork`` on Linux: workers inherit the images and never re-import ``__main__``.

    The pool is started before this run uses torch, and workers only call
    Pillow/imagecodecs. Elsewhere ``spawn`` (a script calling :func:`run_bench`
    then needs the usual ``if __name__ == "__main__":`` guard).
    """
    return "fork" if sys.platform.startswith("linux") else "spawn"


@contextlib.contextmanager
def classical_runs(
    tasks: list[tuple[str, float]], images: np.ndarray, workers: int
) -> Iterator[Iterator[tuple[str, float, dict[str, Any]]]]:
    """Start coding every (codec, quality) task; yields an iterator of finished ones.

    With several workers the processes start (and get every task) on entry,
    before the caller goes on to torch work; results arrive as they finish.
    """
    if workers <= 1 or len(tasks) <= 1:
        runs = _serial(tasks, images)
        try:
            yield runs
        finally:
            runs.close()
        return
    import multiprocessing

    ctx = multiprocessing.get_context(_start_method())
    pool = ProcessPoolExecutor(
        min(workers, len(tasks)), mp_context=ctx, initializer=_init_worker, initargs=(images,)
    )
    try:
        futures = {pool.submit(_worker_point, name, q): (name, q) for name, q in tasks}
        yield _finished(futures)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _finished(futures: dict[Any, tuple[str, float]]) -> Iterator[tuple[str, float, dict[str, Any]]]:
    for fut in as_completed(futures):
        name, q = futures[fut]
        try:
            result = fut.result()
        except Exception as exc:  # e.g. a worker that died
            result = {"error": f"{type(exc).__name__}: {exc}"}
        yield name, q, result
