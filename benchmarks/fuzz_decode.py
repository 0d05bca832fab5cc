"""Mutation fuzzing of the container and the whole decode path.

Starts from real ``.ffc`` files (faces encoded at several qualities, plus one
larger image) and feeds the decoder mutated inputs: bit flips, byte
overwrites, insertions, deletions, truncations, splices of two files, header
fields set to edge values, and random bytes. Half of the mutants get their
CRC recomputed so they pass the checksum and reach the rANS decoder and the
model. Checks, per input: only ``FacecodecError`` subclasses escape, and the
decode finishes within ``--max-seconds``.

    python benchmarks/fuzz_decode.py -n 100000 --json docs/fuzz_run.json

Figures, not pass/fail (exit code 1 if any finding); the unit tests run a
short version.
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import time
import traceback
import zlib

import numpy as np

from facecodec import api, registry
from facecodec.errors import FacecodecError


def seed_files(n_faces: int = 24) -> list[bytes]:
    """Real .ffc files: synthetic faces at qualities 1..8 from every codec, and a 96×80 image."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:48] / 48
    faces = []
    for _ in range(n_faces):
        cx, cy = rng.uniform(0.3, 0.7, 2)
        face = 200 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 0.05) + rng.normal(0, 10, (48, 48))
        faces.append(np.clip(face + 30, 0, 255).astype(np.uint8))
    qualities = [1 + (i % 8) for i in range(n_faces)]
    files = [e.data for e in api.encode_batch(faces, quality=qualities)]
    big = rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)
    files.append(api.encode(big, quality=3))
    for codec in registry.model_names("codec"):
        if codec != registry.DEFAULT_CODEC:
            files += [e.data for e in api.encode_batch(faces[:8], model=codec, quality=qualities[:8])]
    return files


def fix_crc(data: bytes) -> bytes:
    if len(data) < 4:
        return data
    body = data[:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def mutate(data: bytes, pool: list[bytes], rnd: random.Random) -> bytes:
    buf = bytearray(data)
    op = rnd.randrange(8)
    if op == 0 and buf:  # bit flips
        for _ in range(rnd.randint(1, 8)):
            i = rnd.randrange(len(buf))
            buf[i] ^= 1 << rnd.randrange(8)
    elif op == 1 and buf:  # byte overwrite with edge values
        for _ in range(rnd.randint(1, 4)):
            buf[rnd.randrange(len(buf))] = rnd.choice([0, 1, 0x7F, 0x80, 0xFF, rnd.randrange(256)])
    elif op == 2:  # insertion
        i = rnd.randrange(len(buf) + 1)
        buf[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 16)))
    elif op == 3 and buf:  # deletion
        i = rnd.randrange(len(buf))
        del buf[i : i + rnd.randint(1, 16)]
    elif op == 4:  # truncation
        buf = buf[: rnd.randrange(len(buf) + 1)]
    elif op == 5:  # splice with another file
        other = rnd.choice(pool)
        buf = buf[: rnd.randrange(len(buf) + 1)] + other[rnd.randrange(len(other) + 1) :]
    elif op == 6 and len(buf) > 12:  # header region: model id, quality, sizes, lengths
        i = rnd.randrange(4, 13)
        buf[i] = rnd.randrange(256)
    else:  # random garbage, sometimes behind a valid magic
        buf = bytearray(rnd.randbytes(rnd.randint(0, 64)))
        if rnd.random() < 0.5:
            buf[:4] = b"FFC\x01"
    return bytes(buf)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=1.0)
    parser.add_argument("--json", help="write the run record here")
    args = parser.parse_args()

    pool = seed_files()
    rnd = random.Random(args.seed)
    api.decode_batch(pool[:2], "cpu")  # load the model before timing
    counts: dict[str, int] = {}
    findings: list[dict] = []
    slowest = 0.0
    reached_model = 0
    t0 = time.time()
    for k in range(args.n):
        data = mutate(rnd.choice(pool), pool, rnd)
        if rnd.random() < 0.5:
            data = fix_crc(data)
        t = time.perf_counter()
        try:
            api.decode_array(data, "cpu")
            outcome = "decoded"
            reached_model += 1
        except FacecodecError as exc:
            outcome = type(exc).__name__
        except Exception as exc:  # a finding
            outcome = "UNEXPECTED " + type(exc).__name__
            findings.append({"input_hex": data.hex(), "error": traceback.format_exc(limit=3)})
        elapsed = time.perf_counter() - t
        slowest = max(slowest, elapsed)
        if elapsed > args.max_seconds:
            findings.append({"input_hex": data.hex(), "error": f"took {elapsed:.2f} s"})
        counts[outcome] = counts.get(outcome, 0) + 1
        if (k + 1) % 10000 == 0:
            print(f"{k + 1} inputs, {len(findings)} findings, {time.time() - t0:.0f} s", flush=True)
    record = {
        "inputs": args.n,
        "seed": args.seed,
        "seed_files": len(pool),
        "seconds": round(time.time() - t0, 1),
        "slowest_input_seconds": round(slowest, 4),
        "decoded_to_pixels": reached_model,
        "outcomes": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
        "findings": len(findings),
    }
    print(json.dumps(record, indent=2))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**record, "finding_details": findings[:20]}, fh, indent=2)
    raise SystemExit(1 if findings else 0)


if __name__ == "__main__":
    main()
