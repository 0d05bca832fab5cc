"""File-level batch work for the CLI: find inputs, plan outputs, run, report.

Rules shared by ``encode`` and ``decode``:

* an input is a file, a directory (searched recursively for the right
  suffixes) or ``-`` (stdin);
* one input: ``-o`` is a file, a directory, ``-`` (stdout), or omitted (next to
  the input with the new suffix; stdin goes to stdout);
* several inputs or a directory: ``-o`` is a directory; relative paths under an
  input directory are kept;
* every output is written atomically, an existing output is an error unless
  ``--force``, and a bad file is reported and skipped; the return value counts
  failures, so the CLI can exit 1 when any file failed.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import api
from .errors import FacecodecError, OutputExists, UsageError
from .imageio import IMAGE_SUFFIXES, encode_png, format_for, load_image, write_atomic
from .quality import codec_quality_code
from .registry import FACE_SIZE

STDIO = "-"


@dataclass
class Job:
    source: str  # a path or "-"
    dest: str  # a path or "-"


def collect_inputs(inputs: Sequence[str], suffixes: Sequence[str]) -> list[tuple[str, Path | None]]:
    """(source, path relative to its input directory or None) for every input."""
    found: list[tuple[str, Path | None]] = []
    for item in inputs:
        path = Path(item)
        if item != STDIO and path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
            if not files:
                raise FacecodecError(f"no {'/'.join(suffixes)} files in directory {item}")
            found.extend((str(p), p.relative_to(path)) for p in files)
        else:
            found.append((item, None))
    return found


def plan(inputs: Sequence[str], output: str | None, suffix: str, in_suffixes: Sequence[str]) -> list[Job]:
    """Pair every input with its output path (see module docstring)."""
    found = collect_inputs(inputs, in_suffixes)
    single = len(found) == 1 and found[0][1] is None
    if single:
        source = found[0][0]
        if output is None:
            dest = STDIO if source == STDIO else str(Path(source).with_suffix(suffix))
        elif output != STDIO and (Path(output).is_dir() or output.endswith(("/", "\\"))):
            name = "stdin" if source == STDIO else Path(source).stem
            dest = str(Path(output) / (name + suffix))
        else:
            dest = output
        return [Job(source, dest)]
    if output is None or output == STDIO:
        raise UsageError("several inputs need -o DIRECTORY")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {output} is a file; several inputs need a directory")
    if not out.exists() and out.suffix and not output.endswith(("/", "\\")):
        raise UsageError(
            f"-o {output} looks like a file name; several inputs need -o DIRECTORY "
            f"(write {output}/ to make a directory of that name)"
        )
    if any(s == STDIO for s, _ in found):
        raise UsageError("- (stdin) can only be used as the only input")
    jobs = []
    for source, rel in found:
        rel = rel if rel is not None else Path(Path(source).name)
        jobs.append(Job(source, str(out / rel.with_suffix(suffix))))
    check_collisions(jobs)
    return jobs


def check_collisions(jobs: Sequence[Job]) -> None:
    """Refuse a plan in which two inputs would write the same output (the second would
    silently replace the first), before anything is read or written."""
    seen: dict[str, Job] = {}
    for job in jobs:
        key = os.path.normcase(os.path.abspath(job.dest))
        first = seen.setdefault(key, job)
        if first is job:
            continue
        if Path(first.source).resolve() == Path(job.source).resolve():
            raise UsageError(f"{job.source} is given twice (both would write {job.dest})")
        raise UsageError(
            f"{first.source} and {job.source} would both write {job.dest}: "
            "rename one, or write them to different -o directories"
        )


class Reporter:
    """Progress bar (many files, on a terminal), per-file errors, JSON lines."""

    def __init__(self, total: int, as_json: bool, label: str, stdout_busy: bool, model: str = "the model") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.as_json = as_json
        self.out = sys.stderr if stdout_busy else sys.stdout
        self.failures = 0
        self.done: list[dict] = []  # the fields of every file written
        self.label, self.model, self.loaded = label, model, False
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), disable=total < 2 or not sys.stderr.isatty(),
        )  # fmt: skip
        self.task = self.progress.add_task(label, total=total)

    def __enter__(self) -> Reporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def ok(self, job: Job, **fields: object) -> None:
        if self.as_json:
            print(json.dumps({"input": job.source, "output": job.dest, "ok": True, **fields}), file=self.out)
        self.done.append(fields)
        self.progress.advance(self.task)

    def fail(self, job: Job, error: Exception) -> None:
        self.failures += 1
        if self.as_json:
            print(json.dumps({"input": job.source, "output": job.dest, "ok": False, "error": str(error)}), file=self.out)
        self.progress.console.print(f"error: {job.source}: {error}", markup=False, highlight=False, soft_wrap=True)
        self.progress.advance(self.task)

    def warn(self, message: str) -> None:
        self.progress.console.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)

    def note(self, message: str | None) -> None:
        """A line on stderr (nothing for None)."""
        if message:
            self.progress.console.print(message, markup=False, highlight=False, soft_wrap=True)

    @contextlib.contextmanager
    def loading(self) -> Iterator[None]:
        """Around the first model call: "loading MODEL…" instead of a bar sitting at 0
        (a spinner for a single file), on a terminal only."""
        if self.loaded:
            yield
            return
        self.loaded = True
        console = self.progress.console
        if not self.progress.disable:
            self.progress.update(self.task, description=f"loading {self.model}…")
            try:
                yield
            finally:
                self.progress.update(self.task, description=self.label)
        elif console.is_terminal and not self.as_json:
            with console.status(f"loading {self.model}…"):
                yield
        else:
            yield


def summary(verb: str, reporter: Reporter, jobs: Sequence[Job], output: str | None) -> str | None:
    """One line on what was written and where, e.g. ``encoded 3 files, 162 bytes,
    0.19 bpp avg → out/``; None when nothing was."""
    done = reporter.done
    if not done:
        return None
    count = f"{len(done)} file" + ("s" if len(done) != 1 else "")
    if reporter.failures:
        count = f"{len(done)} of {len(jobs)} files ({reporter.failures} failed)"
    parts = [f"{verb} {count}"]
    if all("bytes" in f for f in done):
        parts.append(f"{sum(f['bytes'] for f in done)} bytes")
    if all("bpp" in f for f in done):
        parts.append(f"{sum(f['bpp'] for f in done) / len(done):.3g} bpp avg")
    if len(jobs) == 1:
        dest = "stdout" if jobs[0].dest == STDIO else jobs[0].dest
        where = f"{dest} (next to the input)" if output is None and dest != "stdout" else dest
    else:
        where = output if output.endswith(("/", "\\")) else output + os.sep
    return ", ".join(parts) + f" → {where}"


def _name(source: str) -> str:
    return "stdin" if source == STDIO else source


def read_input(source: str) -> bytes:
    """The bytes of a file, or of stdin for ``-``."""
    if source == STDIO:
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise FacecodecError(f"cannot read: {exc.strerror}") from None


def _write(dest: str, data: bytes, force: bool) -> None:
    if dest == STDIO:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        write_atomic(Path(dest), data, force=force)


def _run(
    jobs: list[Job],
    batch_size: int,
    force: bool,
    reporter: Reporter,
    prepare: Callable[[bytes, Job], object],
    process: Callable[[list[object]], list[object]],
    finish: Callable[[Job, object], tuple[bytes, dict]],
) -> None:
    """Read/prepare → batched process → write, isolating each file's failure."""
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        ready: list[tuple[Job, object]] = []
        for job in chunk:
            try:
                if job.dest != STDIO and not force and Path(job.dest).exists():
                    raise OutputExists(f"{job.dest} exists (use --force to overwrite)")
                ready.append((job, prepare(read_input(job.source), job)))
            except FacecodecError as exc:
                reporter.fail(job, exc)
        if not ready:
            continue
        with reporter.loading():
            results = process([item for _, item in ready])
        for (job, _), result in zip(ready, results):
            try:
                if isinstance(result, FacecodecError):
                    raise result
                data, fields = finish(job, result)
                _write(job.dest, data, force)
                reporter.ok(job, **fields)
            except FacecodecError as exc:
                reporter.fail(job, exc)


def run_encode(
    inputs: Sequence[str], output: str | None, model: str, quality: float,
    device: str, batch_size: int, force: bool, as_json: bool, budget: dict | None = None,
    show_summary: bool = False,
) -> int:  # fmt: skip
    """``facecodec encode``; returns the number of files that failed.

    ``budget`` is ``{"max_bytes": N}`` or ``{"target_bpp": X}`` (then the
    quality is searched per image, see :mod:`facecodec.budget`) or None.
    ``show_summary``: end with one line on stderr on what was written where.
    """
    codec_quality_code(model, quality)  # unknown model or quality: fail before touching any file

    def process(arrays: list) -> list:
        if budget is None:
            return api.encode_batch(arrays, model, quality, device, batch_size)
        from .budget import encode_to_budget

        return encode_to_budget(arrays, model, device=device, batch_size=batch_size, **budget)

    jobs = plan(inputs, output, ".ffc", IMAGE_SUFFIXES)
    with Reporter(len(jobs), as_json, "encoding", any(j.dest == STDIO for j in jobs), model) as rep:

        def finish(job: Job, enc: api.Encoded) -> tuple[bytes, dict]:
            if enc.converted_to_grey:
                rep.warn(f"{job.source}: colour input coded as grey by {model} (decodes to grey RGB)")
            if (enc.width, enc.height) != (FACE_SIZE, FACE_SIZE):
                rep.warn(
                    f"{_name(job.source)} is {enc.width}×{enc.height}; {model} is trained on "
                    f"{FACE_SIZE}×{FACE_SIZE} face crops: it coded the whole image as it is – crop the face first"
                )
            return enc.data, {"bytes": len(enc.data), "bpp": round(enc.bpp, 4), "quality": enc.quality}

        _run(
            jobs, batch_size, force, rep,
            prepare=lambda data, job: load_image(data),
            process=process,
            finish=finish,
        )  # fmt: skip
        if show_summary:
            rep.note(summary("encoded", rep, jobs, output))
    return rep.failures


def run_decode(
    inputs: Sequence[str], output: str | None, device: str, batch_size: int, force: bool, as_json: bool,
    show_summary: bool = False,
) -> int:
    """``facecodec decode``; returns the number of files that failed (``show_summary``: as for encode)."""
    jobs = plan(inputs, output, ".png", (".ffc",))
    with Reporter(len(jobs), as_json, "decoding", any(j.dest == STDIO for j in jobs), "the decoder") as rep:

        def finish(job: Job, pixels) -> tuple[bytes, dict]:
            fmt = "PNG" if job.dest == STDIO else format_for(Path(job.dest))
            h, w, c = pixels.shape
            return encode_png(pixels, fmt), {"width": w, "height": h, "channels": c}

        _run(
            jobs, batch_size, force, rep,
            prepare=lambda data, job: data,
            process=lambda datas: api.decode_batch(datas, device, batch_size),
            finish=finish,
        )  # fmt: skip
        if show_summary:
            rep.note(summary("decoded", rep, jobs, output))
    return rep.failures


def run_upgrade(inputs: Sequence[str], output: str | None, batch_size: int, force: bool, as_json: bool) -> int:
    """``facecodec upgrade``; returns the number of files that failed."""
    jobs = plan(inputs, output, ".ffc", (".ffc",))
    with Reporter(len(jobs), as_json, "upgrading", any(j.dest == STDIO for j in jobs)) as rep:

        def finish(job: Job, data: bytes) -> tuple[bytes, dict]:
            return data, {"bytes": len(data)}

        _run(
            jobs, batch_size, force, rep,
            prepare=lambda data, job: data,
            process=lambda datas: api.upgrade_batch(datas, batch_size),
            finish=finish,
        )  # fmt: skip
    return rep.failures
