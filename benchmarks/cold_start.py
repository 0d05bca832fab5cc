"""Whole-process cost of one-file ``facecodec`` commands, as a shell, Makefile or ``xargs`` pays it.

Each command runs as a fresh process N times; the table gives the median wall
time and the median peak memory (max RSS of the process). Figures, not
pass/fail; compare with the targets in docs/speed.md. ``cwebp``/``dwebp`` run
beside it when they are on the PATH.

    python benchmarks/cold_start.py                  # the example face, 7 runs each
    python benchmarks/cold_start.py --env .venv-rt   # also the size of that environment
    python benchmarks/cold_start.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "astronaut_face_48x48_gray.png"


def run_once(argv: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit status) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def measure(argv: list[str], cwd: Path, runs: int) -> dict[str, float]:
    samples = [run_once(argv, cwd) for _ in range(runs)]
    return {
        "wall_s": round(statistics.median(s[0] for s in samples), 3),
        "peak_mib": round(statistics.median(s[1] for s in samples), 1),
        "exit": samples[-1][2],
    }


def env_size_mb(env: Path) -> float:
    total = 0
    for root, _, files in os.walk(env):
        for name in files:
            path = Path(root, name)
            if not path.is_symlink():
                total += path.stat().st_size
    return round(total / 1e6, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=EXAMPLE)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--facecodec", default=shutil.which("facecodec") or "facecodec", help="the command to time")
    parser.add_argument("--env", type=Path, help="a virtual environment whose size to report")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    fc = [args.facecodec]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(args.image, work / "face.png")
        subprocess.run([*fc, "encode", "face.png", "-o", "face.ffc", "--quiet"], cwd=work, check=True)
        data = bytearray((work / "face.ffc").read_bytes())
        data[len(data) // 2] ^= 0x55
        (work / "corrupt.ffc").write_bytes(bytes(data))
        commands = {
            "encode": [*fc, "encode", "face.png", "-o", "f.ffc", "--force", "--quiet"],
            "decode": [*fc, "decode", "face.ffc", "-o", "f.png", "--force", "--quiet"],
            "decode corrupt": [*fc, "decode", "corrupt.ffc", "-o", "c.png", "--quiet"],
            "info": [*fc, "info", "face.ffc"],
            "classify": [*fc, "classify", "face.ffc"],
            "--help": [*fc, "--help"],
        }
        if shutil.which("cwebp") and shutil.which("dwebp"):
            commands["cwebp -q 50"] = ["cwebp", "-quiet", "-q", "50", "face.png", "-o", "f.webp"]
            commands["dwebp"] = ["dwebp", "-quiet", "f.webp", "-o", "w.png"]
        results = {name: measure(argv, work, args.runs) for name, argv in commands.items()}
    out = {"runs": args.runs, "python": sys.version.split()[0], "cpus": os.cpu_count(), "commands": results}
    if args.env:
        out["env_mb"] = env_size_mb(args.env)
    width = max(map(len, results))
    for name, r in results.items():
        print(f"{name:<{width}}  {r['wall_s'] * 1000:7.0f} ms  {r['peak_mib']:6.1f} MiB  exit {r['exit']}")
    if args.env:
        print(f"environment {args.env}: {out['env_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
