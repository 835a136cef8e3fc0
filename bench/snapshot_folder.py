"""Benchmark: snapshots of a folder of 10,000 JPEGs of about 12 KB in 100 folders, the way a DVC
user works with one.

Prints whole-process wall times (a fresh `fsdl-data` process each, as a user types them), as
medians with their ranges over --repeats runs, of: cold `snapshot add` (each into a new store,
the previous try's store left in place); `snapshot status` with nothing changed; `snapshot add`
again after --changed files were rewritten (new ones each run); beside the physical reference:
reading and SHA-256 hashing every file in one Python process, in the same run. Prints the page
cache before and after (the files were just written, so reads are warm unless memory is short).
Run: `make bench-snapshot`; issue 19's scale: `--files 200000 --folders 1000`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def jpeg(rng: np.random.Generator) -> bytes:
    pixels = rng.integers(0, 256, size=(120, 120, 3), dtype=np.uint8)  # about 12 KB as JPEG
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


class Photos:
    """Real, distinct JPEGs made fast: a few dozen are encoded; each file is one of them with a
    comment segment (COM, 0xFFFE) right after the start-of-image marker holding its own 16
    random bytes. A COM segment is part of the JPEG standard and decoders skip it, so every file
    is a valid JPEG (decoded to those pixels), and no two files have the same bytes."""

    def __init__(self, rng: np.random.Generator, bases: int = 48) -> None:
        self.rng = rng
        self.bases = [jpeg(rng) for _ in range(bases)]

    def __call__(self) -> bytes:
        base = self.bases[int(self.rng.integers(len(self.bases)))]
        comment = self.rng.bytes(16)
        return base[:2] + b"\xff\xfe" + (2 + len(comment)).to_bytes(2, "big") + comment + base[2:]


def generate(folder: Path, files: int, folders: int, photos: Photos) -> int:
    total = 0
    for i in range(folders):
        (folder / f"dir{i:03d}").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        data = photos()
        (folder / f"dir{i % folders:03d}" / f"img{i:06d}.jpg").write_bytes(data)
        total += len(data)
    return total


def read_and_hash(folder: Path) -> float:
    t0 = time.perf_counter()
    for dirpath, _, names in os.walk(folder):
        for name in names:
            hashlib.sha256((Path(dirpath) / name).read_bytes()).hexdigest()
    return time.perf_counter() - t0


def cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "fsdl_data.cli", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"fsdl-data {' '.join(args)} failed: {r.stderr}")
    return elapsed, r.stdout.strip().splitlines()[-1]


def page_cache() -> str:
    """How much the kernel holds in its page cache now (what a warm read finds)."""
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    cached = int(info["Cached"].split()[0]) / 1e6
    available = int(info["MemAvailable"].split()[0]) / 1e6
    return f"page cache {cached:.1f} GB, {available:.1f} GB available"


def shown(times: list[float]) -> str:
    return (f"median {statistics.median(times):7.3f} s (range {min(times):.3f} .. {max(times):.3f}, "
            f"{len(times)} runs)")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--folders", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3, help="runs of each measurement")
    p.add_argument("--changed", type=int, default=100, help="files changed before a re-snapshot")
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fsdl-snapbench-"))
    folder = root / "photos"
    photos = Photos(np.random.default_rng(a.seed))
    t0 = time.perf_counter()
    size = generate(folder, a.files, a.folders, photos)
    made = time.perf_counter() - t0
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSDL_")}
    print(f"{a.files:,} JPEGs in {a.folders} folders, {size / 1e6:.1f} MB "
          f"(mean {size / a.files / 1e3:.1f} KB), made in {made:.1f} s; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"  after generating: {page_cache()} (the files were just written: warm)")
    references = [read_and_hash(folder) for _ in range(a.repeats)]
    reference = statistics.median(references)
    print(f"  reference, read + SHA-256 of every file, one process: {shown(references)}")
    colds = []
    for attempt in range(a.repeats):
        # each into a new, empty store; the previous try's store is left in place
        env["FSDL_HOME"] = str(root / f"fsdl{attempt}")
        colds.append(cli(["snapshot", "add", str(folder), "--name", "photos"], env))
    times = [t for t, _ in colds]
    print(f"  cold `snapshot add`:             {shown(times)}  "
          f"{statistics.median(times) / reference:.2f}x the reference (goal <= 2.5x)  {colds[-1][1]}")  # fmt: skip
    clean = [cli(["snapshot", "status", "photos", str(folder)], env) for _ in range(a.repeats)]
    times = [t for t, _ in clean]
    print(f"  warm `snapshot status`:          {shown(times)}  (goal <= 1 s)  {clean[-1][1]}")
    rng = np.random.default_rng(a.seed + 1)
    paths = sorted(folder.rglob("*.jpg"))
    photos.rng = rng
    again = []
    for _ in range(a.repeats):
        for path in rng.choice(paths, size=a.changed, replace=False):
            path.write_bytes(photos())
        again.append(cli(["snapshot", "add", str(folder), "--name", "photos"], env))
    times = [t for t, _ in again]
    print(
        f"  re-snapshot, {a.changed} files changed: {shown(times)}  (goal <= 1 s)  {again[-1][1]}"
    )
    print(f"  at the end: {page_cache()}, load average {os.getloadavg()[0]:.2f}")
    shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
