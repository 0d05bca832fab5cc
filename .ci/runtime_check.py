"""CI's check of a runtime-only install (``pip install -e .``: no torch, no compressai).

Runs the CLI as a user would on the shipped models: encode the example face
with every codec at three qualities, decode, classify (pixels and latents),
info, upgrade an old-format file, and checks that the commands needing the
``train`` extra say so in one line; then entropy-decodes every golden file of a
shipped codec and compares its symbols with the recorded digests. Exits 1 with
one line per failure.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
EXAMPLE = ROOT / "examples" / "astronaut_face_48x48_gray.png"


def cli(*args: str, cwd: Path) -> str:
    out = subprocess.run(["facecodec", *args], cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"facecodec {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def main() -> None:
    failures = []
    for module in ("torch", "compressai"):
        if importlib.util.find_spec(module) is not None:
            failures.append(f"{module} is installed: this is not a runtime-only environment")
    from facecodec import api, backends, container, registry
    from facecodec.runtime.codec import CodedFace

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "face.png").write_bytes(EXAMPLE.read_bytes())
        for codec in registry.model_names("codec"):
            for q in ("1", "4.5", "8"):
                name = f"{codec}-{q}"
                cli("encode", "face.png", "-o", f"{name}.ffc", "-m", codec, "-q", q, "--quiet", cwd=work)
                cli("decode", f"{name}.ffc", "-o", f"{name}.png", "--quiet", cwd=work)
                cli("classify", f"{name}.ffc", "--json", cwd=work)
                cli("classify", f"{name}.ffc", "--domain", "pixel", "--json", cwd=work)
                cli("info", f"{name}.ffc", cwd=work)
        cli("classify", "face.png", cwd=work)
        old = sorted(GOLDEN.glob("face-hp-v1_q*_astronaut.ffc"))[0]
        (work / "old.ffc").write_bytes(old.read_bytes())
        cli("upgrade", "old.ffc", "-o", "new.ffc", cwd=work)
        for command in (["bench", "."], ["train", "export-runtime", "--out", "."]):
            out = subprocess.run(["facecodec", *command], cwd=work, capture_output=True, text=True)
            lines = out.stderr.strip().splitlines()
            if out.returncode != 1 or len(lines) != 1 or "facecodec[train]" not in lines[0]:
                failures.append(f"facecodec {' '.join(command)} without torch: {out.stderr.strip()!r}")

    digests = json.loads((GOLDEN / "entropy_sha256.json").read_text())["files"]
    checked = 0
    for name, expected in sorted(digests.items()):
        data = (GOLDEN / name).read_bytes()
        try:
            f = api.parse(data)
        except Exception:  # files of removed models: their refusal is tested elsewhere
            continue
        face = CodedFace(f.streams, container.CODINGS[f.version], -(-f.height // 16) * 2, -(-f.width // 16) * 2)
        _, y, means = backends.codec(registry.spec_for_id(f.model_id).name, "cpu").symbols([face])
        got = hashlib.sha256(y.astype("int32").tobytes() + means.astype("float64").tobytes()).hexdigest()
        checked += 1
        if got != expected:
            failures.append(f"{name}: entropy-decoded symbols differ from the recorded digest")
    for line in failures:
        print(f"runtime check: {line}", file=sys.stderr)
    if failures:
        raise SystemExit(1)
    print(f"runtime check: CLI on {len(registry.model_names('codec'))} codecs and {checked} golden files OK, no torch")


if __name__ == "__main__":
    main()
