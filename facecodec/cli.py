"""The ``facecodec`` command line: thin click commands over the Python API.

Exit codes: 0 success, 1 a facecodec error (bad input, unknown model, missing
weights, some files in a batch failed), 2 a usage error (bad option, a quality
the codec does not code, arguments that cannot work together).

Every error line on stderr starts with ``error: `` (click's usage errors
included), every warning with ``warning: ``.
"""

from __future__ import annotations

import io
import re
import sys

import click

from . import __version__
from .devices import DEVICE_CHOICES
from .errors import FacecodecError, UsageError
from .registry import DEFAULT_CODEC  # the registry imports no torch

_ERROR_PREFIX = re.compile(r"^Error: ", flags=re.MULTILINE)
#: packages of the ``train`` extra: a runtime-only install lacks them
_TRAIN_EXTRA = {"torch", "compressai", "onnx", "matplotlib", "bjontegaard", "pytorch_msssim"}


def _lowercase_error(exc: click.ClickException) -> click.ClickException:
    """Make ``exc`` print its ``Error: ...`` line as ``error: ...`` (one style for every error)."""
    show = exc.show

    def lowercase_show(file=None) -> None:
        buf = io.StringIO()
        show(file=buf)
        click.echo(_ERROR_PREFIX.sub("error: ", buf.getvalue()), file=file or sys.stderr, nl=False)

    exc.show = lowercase_show  # type: ignore[method-assign]
    return exc


class _Group(click.Group):
    """Turns every FacecodecError into one line ``error: ...`` on stderr and exit code 1
    (2 for a :class:`~facecodec.errors.UsageError`), and click's errors into the same style."""

    def make_context(self, *args, **kwargs) -> click.Context:  # type: ignore[override]
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as exc:
            raise _lowercase_error(exc) from None

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise _lowercase_error(click.UsageError(str(exc))) from None
        except FacecodecError as exc:
            raise _lowercase_error(click.ClickException(str(exc))) from None
        except click.ClickException as exc:
            raise _lowercase_error(exc) from None
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in _TRAIN_EXTRA:
                raise
            message = f"this command needs {exc.name}, which the runtime-only install lacks: pip install 'facecodec[train]'"
            raise _lowercase_error(click.ClickException(message)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facecodec")
def main() -> None:
    """facecodec: compress face crops so expressions stay recognisable.

    \b
    Exit codes: 0 ok, 1 error (bad input, unknown model, missing weights,
    or some files of a batch failed), 2 usage error.
    """



_DEVICE = click.option(
    "--device", default="auto", show_default=True,
    type=click.Choice(DEVICE_CHOICES), help="auto = CUDA when available, else CPU.",
)  # fmt: skip
_FORCE = click.option("--force", "-f", is_flag=True, help="Overwrite existing output files.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON lines.")
_BATCH = click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 4096))
_QUIET = click.option("--quiet", is_flag=True, help="No summary line on stderr (printed only when stderr is a terminal).")


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _model_choices() -> list[str]:
    from .registry import model_names

    return model_names("codec")


def _complete_models(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of --model: registered codec names."""
    return [name for name in _model_choices() if name.startswith(incomplete)]


# Paths that may also be "-" (stdin/stdout); typed so shell completion offers files.
_IO_PATH = click.Path(allow_dash=True)


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=_IO_PATH)
@click.option("-o", "--output", type=_IO_PATH, help="Output file, directory (many inputs), or - for stdout.")
@click.option("--model", "-m", default=None, shell_complete=_complete_models, help=f"Codec name (see 'facecodec models'). [default: {DEFAULT_CODEC}]")
@click.option("--quality", "-q", default=None, type=float, help="1 (smallest) .. 8 (best); any value between, in steps of 1/16.  [default: 4]")
@click.option("--max-bytes", default=None, type=click.IntRange(1), help="Instead of --quality: the best quality whose whole file fits in N bytes, per image.")
@click.option("--target-bpp", default=None, type=click.FloatRange(0, min_open=True), help="Instead of --quality: the best quality whose whole file is at most X bits per pixel, per image.")
@_DEVICE
@_BATCH
@_FORCE
@_JSON
@_QUIET
def encode(inputs, output, model, quality, max_bytes, target_bpp, device, batch_size, force, as_json, quiet) -> None:
    """Compress face images to .ffc files.

    \b
    INPUTS are image files, directories (searched recursively) or - (stdin).
    Examples:
      facecodec encode face.png -o face.ffc
      facecodec encode faces/ -o coded/ -q 2
      facecodec encode faces/ -o coded/ --max-bytes 80
      cat face.png | facecodec encode - -o - > face.ffc
    """
    from .batchio import run_encode
    from .quality import DEFAULT_QUALITY, codec_quality_code, rounding_note

    if sum(x is not None for x in (quality, max_bytes, target_bpp)) > 1:
        raise click.UsageError("give one of --quality, --max-bytes and --target-bpp")
    budget = {"max_bytes": max_bytes} if max_bytes else {"target_bpp": target_bpp} if target_bpp else None
    model = model or DEFAULT_CODEC
    if quality is not None:
        codec_quality_code(model, quality)  # a QualityError names the codecs that code it (exit 2)
        note = rounding_note(quality)
        if note:
            click.echo(f"warning: {note}", err=True)
    summary = not (quiet or as_json) and _stderr_is_terminal()
    _finish(run_encode(
        inputs, output, model, DEFAULT_QUALITY if quality is None else quality, device, batch_size, force,
        as_json, budget, show_summary=summary,
    ))  # fmt: skip


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=_IO_PATH)
@click.option("-o", "--output", type=_IO_PATH, help="Output image (format from suffix, PNG by default), directory, or - for stdout (PNG).")
@_DEVICE
@_BATCH
@_FORCE
@_JSON
@_QUIET
def decode(inputs, output, device, batch_size, force, as_json, quiet) -> None:
    """Decompress .ffc files to images (PNG unless -o names another format).

    \b
    The file names its model and quality; nothing else is needed.
    Examples:
      facecodec decode face.ffc -o face.png
      facecodec decode coded/ -o decoded/
      facecodec decode - -o - < face.ffc > face.png
    """
    from .batchio import run_decode

    summary = not (quiet or as_json) and _stderr_is_terminal()
    _finish(run_decode(inputs, output, device, batch_size, force, as_json, show_summary=summary))


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=_IO_PATH)
@click.option("-o", "--output", type=_IO_PATH, help="Output .ffc file, directory, or - for stdout [default: rewrite the input, which needs --force].")
@_BATCH
@_FORCE
@_JSON
def upgrade(inputs, output, batch_size, force, as_json) -> None:
    """Rewrite .ffc files in the current format, losslessly.

    \b
    Format 1 and 2 files (facecodec 0.1 and 0.2) hold the same symbols in
    other entropy-coded streams; rewritten as format 3 they decode to exactly
    the same pixels in 0-12 fewer bytes. Current files are copied unchanged.
    Examples:
      facecodec upgrade old.ffc --force          # in place
      facecodec upgrade archive/ -o archive-v3/
    """
    from .batchio import run_upgrade

    _finish(run_upgrade(inputs, output, batch_size, force, as_json))


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@_JSON
def info(files, as_json) -> None:
    """Print the header of .ffc files (validates magic, lengths and CRC)."""
    import json

    from .api import describe

    failed = False
    for name in files:
        try:
            data = _read_bytes(name)
            record = {"file": name, **describe(data)}
        except FacecodecError as exc:
            failed = True
            click.echo(f"error: {name}: {exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps(record))
        else:
            click.echo(
                f"{name}: {record['model']} (id {record['model_id']}) quality {record['quality']:g}, "
                f"{record['width']}x{record['height']}x{record['channels']}, "
                f"{record['total_bytes']} bytes ({record['bpp']:.3f} bpp: header {record['header_bytes']}"
                + "".join(f", {k} {v}" for k, v in record["stream_bytes"].items())
                + f"), format v{record['format_version']}, crc ok"
            )
    if failed:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document: the default codec and the model records.")
def models(as_json) -> None:
    """List the models: the codecs first (* marks the default) with what each is for, the
    models that read its files and its measured bytes, PSNR and held-out recognizers'
    agreement at its lowest, middle and top quality; then the classifiers and latent
    heads. --json: one JSON document."""
    import json

    from .registry import DEFAULT_CODEC, list_models

    records = list_models()
    if as_json:
        click.echo(json.dumps({"default_codec": DEFAULT_CODEC, "models": records}))
        return
    for r in records:
        if r["weights_file"] and not r["weights_bytes"]:
            weights = f"in {r['weights_file']}"
        else:
            weights = _size(r["weights_bytes"]) if r["weights_bytes"] else "weights missing"
        mark = "*" if r["default"] else " "
        click.echo(f"{mark} {r['name']}  ({r['kind']}, id {r['id']}, {weights})  {r['role'] or r['description']}")
        if r["kind"] == "codec":
            readers = f"{r['classifier']} (pixels)" + (f", {r['latent_head']} (latent)" if r["latent_head"] else "")
            click.echo(f"    read by {readers}; qualities {r['qualities'] or '?'}")
            points = r["low_mid_top"] or []
            cells = [
                f"q{p['quality']:g}: {p['bytes']:.0f} B, {p['bpp']:.2f} bpp, {p['psnr']:.1f} dB"
                + (f", held-out agreement {p['heldout_agreement']:.1f} %" if "heldout_agreement" in p else "")
                for p in points if {"bytes", "bpp", "psnr"} <= p.keys()
            ]  # fmt: skip
            if cells:
                click.echo(f"    {' | '.join(cells)}  ({(r['measured'] or {}).get('data', '?')})")
        elif r["kind"] == "latent-classifier":
            click.echo(f"    reads {r['codec']}'s latent")
        if r["training_data"]:
            click.echo(f"    trained on: {r['training_data']}")


@main.command()
@click.argument("data", type=click.Path(exists=True))
@click.option("--split", default="auto", show_default=True, help="Split of an .npz/.csv to bench: val, train, test, all; auto = val when the data has one, else all.")
@click.option("--out", default="results/", show_default=True, type=click.Path(file_okay=False), help="Folder for bench.json, bench.csv, rd_psnr.png, rd_accuracy.png.")
@click.option("--model", "-m", "models", multiple=True, help="facecodec codec to bench (repeatable). [default: every registered codec]")
@click.option("--baselines", default="jpeg,jpeg2000,webp,avif,jxl", show_default=True, help="Comma-separated classical codecs, or 'none'. jxl needs the 'jxl' extra and is skipped with a note without it.")
@click.option("--qualities", "-q", "qualities", multiple=True, metavar="CODEC=Q,...", help="Override a codec's sweep (repeatable): values, or a range a..b[:step]. Knobs: face-hp-v1 quality 1..8; jpeg quality 1..95; webp/avif quality 0..100; jpeg2000 compression ratio (>1, higher = smaller); jxl distance 0..25 (higher = smaller).")
@click.option("--limit", type=click.IntRange(1), help="Bench only the first N images (quick runs).")
@_DEVICE
@click.option("--classifier", help="Registered FER classifier for accuracy/agreement, or 'none'. [default: the first registered; none registered: no accuracy]")
@click.option("--workers", type=click.IntRange(1), help="Processes for the classical codecs. [default: CPU count]")
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(1, 4096), help="facecodec batch size.")
@click.option("--panel/--no-panel", default=True, show_default=True, help="Score every point with the recognizer panel (benchmarks/panel/ of a source checkout, or $FACECODEC_PANEL): the held-out recognizers' agreement and accuracy, mean and worst member.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON document instead of tables.")
def bench(data, split, out, models, baselines, qualities, limit, device, classifier, workers, batch_size, panel, as_json) -> None:
    """Rate-quality benchmark: facecodec against JPEG, JPEG 2000, WebP, AVIF, JPEG XL.

    \b
    DATA is an .npz (shared/data layout), a FER2013 .csv, or an image folder
    (class-per-folder: labelled; otherwise every image in it, unlabelled).
    Per codec and quality it measures bpp of whole files (headers included),
    PSNR, SSIM, the held-out recognizer panel's agreement and accuracy on the
    decoded faces (recognizers no codec was trained or selected with: the
    figures to quote), a FER classifier's accuracy and agreement, and
    encode/decode images/s; then
    BD-rates and the fewest bytes that keep accuracy within 1 point of the
    originals.
    Examples:
      facecodec bench ../shared/data/fer2013/fer2013_trainval.npz --limit 200
      facecodec bench faces/ --baselines jpeg,webp -q jpeg=5,10,20 -q face-hp-v1=1..4
    """
    from rich.console import Console

    from .bench import run_bench
    from .bench.codecs import parse_qualities

    names = [b.strip() for b in baselines.split(",") if b.strip() and b.strip().lower() != "none"]
    console = Console(stderr=True)  # the progress bar; the report goes to stdout
    result = run_bench(
        data, split=split, out=out, models=list(models) or None, baselines=names,
        qualities=parse_qualities(qualities), limit=limit, device=device,
        classifier=classifier, workers=workers, batch_size=batch_size, panel=panel, console=console,
    )  # fmt: skip
    if as_json:
        from .bench.report import to_json

        click.echo(to_json(result), nl=False)
    else:
        from .bench.console import print_report

        print_report(result)


def _size(n: int) -> str:
    """Bytes as kB under 1 MB, else MB (a 10,000-parameter head is 20 kB, not "0.0 MB")."""
    return f"{n / 1e3:.1f} kB" if n < 1e6 else f"{n / 1e6:.1f} MB"


def _read_bytes(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        with open(name, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise FacecodecError(f"cannot read {name}: {exc.strerror}") from None


def _finish(failures: int) -> None:
    if failures:
        sys.exit(1)


def _register_subcommands() -> None:
    from .cli_classify import classify
    from .cli_train import train

    main.add_command(classify)
    main.add_command(train)


_register_subcommands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
