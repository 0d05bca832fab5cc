"""``facecodec classify``: expressions of face crops and ``.ffc`` files."""

from __future__ import annotations

import csv
import json
import sys

import click

from .devices import DEVICE_CHOICES
from .errors import FacecodecError

FORMATS = ("table", "json", "csv")


def _collect(inputs: tuple[str, ...]) -> list[str]:
    from .batchio import collect_inputs
    from .imageio import IMAGE_SUFFIXES

    return [source for source, _ in collect_inputs(inputs, (*IMAGE_SUFFIXES, ".ffc"))]


def _size_warning(name: str, data: bytes) -> str | None:
    """A warning when image ``data`` is not a face crop of the classifier's size (it is resized)."""
    import io

    from PIL import Image

    from .registry import FACE_SIZE

    if data[:3] == b"FFC":
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except (OSError, ValueError, Image.DecompressionBombError):  # classify_batch reports it
        return None
    if (w, h) == (FACE_SIZE, FACE_SIZE):
        return None
    name = "stdin" if name == "-" else name
    return (
        f"{name} is {w}×{h}; classify reads {FACE_SIZE}×{FACE_SIZE} face crops: the whole image "
        f"was resized to {FACE_SIZE}×{FACE_SIZE} – crop the face first"
    )


class _Output:
    """Writes predictions as a table (rich on a terminal), JSON lines or CSV."""

    def __init__(self, fmt: str, top_k: int) -> None:
        self.fmt, self.top_k = fmt, top_k
        self.rows: list[tuple[str, object]] = []
        self._csv = None
        if fmt == "csv":
            self._csv = csv.writer(sys.stdout, lineterminator="\n")
            header = ["file", "label", "probability", "domain", "model"]
            for k in range(2, top_k + 1):
                header += [f"label_{k}", f"probability_{k}"]
            self._csv.writerow(header)

    def add(self, name: str, prediction) -> None:
        if self.fmt == "json":
            click.echo(json.dumps({"file": name, **prediction.as_dict()}))
        elif self.fmt == "csv":
            row = [name, prediction.label, f"{prediction.probability:.4f}", prediction.domain, prediction.model]
            for label, p in prediction.top[1:]:
                row += [label, f"{p:.4f}"]
            self._csv.writerow(row)
            sys.stdout.flush()
        else:
            self.rows.append((name, prediction))

    def close(self) -> None:
        if self.fmt != "table" or not self.rows:
            return
        if sys.stdout.isatty():
            from rich.console import Console
            from rich.table import Table

            table = Table("file", "expression", "p", "top", "domain")
            for name, p in self.rows:
                others = ", ".join(f"{lbl} {q:.2f}" for lbl, q in p.top[1:])
                table.add_row(name, p.label, f"{p.probability:.2f}", others, p.domain)
            Console().print(table)
            return
        width = max(len(name) for name, _ in self.rows)
        for name, p in self.rows:
            top = "  ".join(f"{lbl} {q:.3f}" for lbl, q in p.top)
            click.echo(f"{name:<{width}}  {p.label:<8}  {p.probability:.3f}  [{p.domain}]  {top}")


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option("--model", "-m", default=None, help="Classifier or latent head (see 'facecodec models'). [default: fer-cnn-joint-v1 for pixels; the codec's latent head for .ffc]")
@click.option("--domain", default="auto", show_default=True, type=click.Choice(["auto", "latent", "pixel"]), help="For .ffc files: classify the decoded latent (no pixel synthesis) or the decoded image. auto = latent when the file's codec has a latent head.")
@click.option("--top-k", "-k", default=1, show_default=True, type=click.IntRange(1, 7), help="How many expressions to list per face.")
@click.option("--mirror", is_flag=True, help="Pixel domain: also classify each face mirrored and average (2x the classifier's work, about +0.5 points).")
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(FORMATS), help="table (rich on a terminal), json (one JSON line per file) or csv.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICE_CHOICES))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(1, 4096))
def classify(inputs, model, domain, top_k, mirror, fmt, as_json, device, batch_size) -> None:
    """Recognise the expression of face crops: images and .ffc files.

    \b
    INPUTS are image files, .ffc files, directories (searched recursively)
    or - (stdin). Images of any size are converted to grey and resized to
    48x48: give face crops, not whole photos (there is no face detector).
    Labels: angry, disgust, fear, happy, sad, surprise, neutral.
    Examples:
      facecodec classify face.png
      facecodec classify coded/ --format csv > expressions.csv
      facecodec classify face.ffc --domain pixel -k 3 --json
    A file that cannot be read is reported on stderr and skipped; the exit
    code is then 1.
    """
    from .batchio import read_input
    from .recognition import classify_batch

    out = _Output("json" if as_json else fmt, top_k)
    files = _collect(inputs)
    failed = 0
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        datas, names = [], []
        for name in chunk:
            try:
                datas.append(read_input(name))
                names.append(name)
            except FacecodecError as exc:
                failed += 1
                click.echo(f"error: {name}: {exc}", err=True)
                continue
            warning = _size_warning(name, datas[-1])
            if warning:
                click.echo(f"warning: {warning}", err=True)
        results = classify_batch(
            datas, model=model, domain=domain, device=device, batch_size=batch_size, top_k=top_k, mirror=mirror
        )
        for name, result in zip(names, results):
            if isinstance(result, FacecodecError):
                failed += 1
                click.echo(f"error: {name}: {result}", err=True)
            else:
                out.add(name, result)
    out.close()
    if failed:
        sys.exit(1)
