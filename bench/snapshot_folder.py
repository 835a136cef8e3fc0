"""Benchmark: snapshots of a folder of 10,000 JPEGs of about 12 KB in 100 folders, the way a DVC
user works with one.

Prints whole-process wall times (a fresh `fsdl-data` process each, as a user types them) of:
  cold `snapshot add`; `snapshot status` with nothing changed; after 1% of files modified and
  1% added, `snapshot status` and the incremental `snapshot add`;
beside the physical reference: reading and hashing every file in one Python process.
Run: `make bench-snapshot`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
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


def generate(folder: Path, files: int, folders: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    total = 0
    for i in range(files):
        path = folder / f"dir{i % folders:03d}" / f"img{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = jpeg(rng)
        path.write_bytes(data)
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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--files", type=int, default=10_000)
    p.add_argument("--folders", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3, help="cold adds, each into a new store")
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fsdl-snapbench-"))
    folder = root / "photos"
    size = generate(folder, a.files, a.folders, a.seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FSDL_")}
    print(
        f"{a.files:,} JPEGs in {a.folders} folders, {size / 1e6:.1f} MB (mean {size / a.files / 1e3:.1f} KB)"
    )
    reference = min(read_and_hash(folder) for _ in range(3))
    print(f"  reference: read and hash everything in one process   {reference:6.2f} s  (best of 3)")
    colds = []
    for attempt in range(a.repeats):
        # Each into a new, empty store, the previous one deleted first: on this VM, writing into
        # never-touched memory costs page faults in the hypervisor (118 MB: 0.30 s, against 0.02 s
        # into recycled pages), which a machine whose memory has been in use does not pay.
        shutil.rmtree(root / f"fsdl{attempt - 1}", ignore_errors=True)
        os.sync()
        env["FSDL_HOME"] = str(root / f"fsdl{attempt}")
        colds.append(cli(["snapshot", "add", str(folder), "--name", "photos"], env))
    cold, line = min(colds)
    print(
        f"  cold `snapshot add`                                   {cold:6.2f} s  ({cold / reference:.2f}x the reference; best of {a.repeats}: "
        + ", ".join(f"{t:.2f}" for t, _ in colds)
        + f")  {line}"
    )
    clean, line = min(cli(["snapshot", "status", "photos", str(folder)], env) for _ in range(3))
    print(
        f"  `snapshot status`, nothing changed                    {clean:6.3f} s  {line}  (best of 3)"
    )
    rng = np.random.default_rng(a.seed + 1)
    paths = sorted(folder.rglob("*.jpg"))
    for path in rng.choice(paths, size=a.files // 100, replace=False):
        path.write_bytes(jpeg(rng))
    for i in range(a.files // 100):
        (folder / f"dir{i % a.folders:03d}" / f"new{i:05d}.jpg").write_bytes(jpeg(rng))
    changed, line = cli(["snapshot", "status", "photos", str(folder)], env)
    print(f"  `snapshot status`, 1% modified + 1% added             {changed:6.3f} s  {line}")
    incremental, line = cli(["snapshot", "add", str(folder), "--name", "photos"], env)
    print(f"  incremental `snapshot add`                            {incremental:6.2f} s  {line}")
    shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
