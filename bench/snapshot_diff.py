"""Benchmark: a keyed row diff of two snapshots of one table (`fsdl-data snapshot diff`'s rows).

Generates a table of --rows rows (default 10,000,000: an Int64 key, an Int64, a Float64 and a
String column), and a second version where --changed of the rows (default 0.1%) have one value
changed, 0.01% rows removed and as many added. Times `core.versioning.diff.diff_tables` (rows at the
same position with the same key are compared in place, column by column; the rest are matched by
a join of key and row hash, and compared column by column only where the hashes differ) beside the reference: one polars inner join of the two full tables on the key
(the least a keyed comparison does), in the same process, alternating, 3 runs each. Prints the
median and range of each, and checks the diff's counts against what was generated.
`--shuffled` puts the second version's rows in random order, so nothing lines up and every row
goes through the join (the slow path). Goal: <= 5 s for 10M rows with 0.1% changed. Run: `python bench/snapshot_diff.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsdl_data.core.versioning.diff import diff_tables


def tables(rows: int, changed: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, int, int]:
    rng = np.random.default_rng(seed)
    old = pl.DataFrame(
        {
            "photo_id": np.arange(rows, dtype=np.int64),
            "likes": rng.integers(0, 1000, rows),
            "score": rng.random(rows),
            "label": rng.choice(np.array(["cat", "dog", "bird", "fish"]), rows),
        }
    )
    n_changed = int(rows * changed)
    n_moved = max(1, rows // 10_000)
    which = rng.choice(rows - n_moved, n_changed, replace=False)
    likes = old["likes"].to_numpy().copy()
    likes[which] += 1
    new = old.with_columns(pl.Series("likes", likes)).head(rows - n_moved)
    extra = old.tail(n_moved).with_columns(pl.col("photo_id") + rows)
    return old, pl.concat([new, extra]), n_changed, n_moved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--changed", type=float, default=0.001)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shuffled", action="store_true", help="new rows in random order")
    args = parser.parse_args()
    old, new, n_changed, n_moved = tables(args.rows, args.changed, seed=1)
    if args.shuffled:
        new = new.sample(fraction=1.0, shuffle=True, seed=2)
    ours, reference = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        d = diff_tables(old, new, ["photo_id"], "label")
        ours.append(time.perf_counter() - start)
        assert (d.changed_rows, d.added_rows, d.removed_rows) == (n_changed, n_moved, n_moved), d
        start = time.perf_counter()
        joined = old.join(new, on="photo_id", how="inner", suffix="_new")
        assert joined.height == len(old) - n_moved
        reference.append(time.perf_counter() - start)

    def shown(times: list[float]) -> str:
        return (
            f"median {statistics.median(times):.2f} s (range {min(times):.2f} .. {max(times):.2f})"
        )

    print(f"{args.rows:,} rows, {n_changed:,} changed, {n_moved:,} added and removed; "
          f"{'shuffled, ' if args.shuffled else ''}{args.runs} runs, "
          f"polars threads {pl.thread_pool_size()}, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"  diff_tables (ours):        {shown(ours)}")
    print(f"  inner join on key (ref):   {shown(reference)}")
    print(f"  goal <= 5 s: {'met' if statistics.median(ours) <= 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
