"""Benchmark: point-in-time retrieval of features for training labels.

Generates 2,000,000 events over 30 days for 50,000 users, rolls them up into daily per-user
feature rows (a row per user and day with any activity, about 850,000), adds a second version
of 1% of the rows published an hour later, and draws 200,000 label rows at random times. Then
retrieves the features for every label, TTL 7 days, with:
  - ours, bitemporal (known_at) + TTL: fsdl_data.core.features.pit.point_in_time_join
  - ours, event time only + TTL, on one version per key
  - a plain polars join_asof on event time (no TTL), on one version per key: the speed reference
  - the naive reference: DuckDB SQL that ranks every candidate (the correctness reference)
Each method runs in its own process; prints its time (median and range of 3) and peak memory
above the loaded data, and how many rows differ from the reference. Run: `make bench-pit`.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TTL = timedelta(days=7)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
METHODS = ("ours_bitemporal", "ours_event_time", "polars_join_asof", "reference")


def generate(folder: Path, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    users, days, n_events = 50_000, 30, 2_000_000
    activity = rng.lognormal(0, 0.9, users)
    user = rng.choice(users, size=n_events, p=activity / activity.sum())
    day = rng.integers(0, days, n_events)
    kind = rng.choice(3, size=n_events, p=[0.2, 0.7, 0.1])
    events = pl.DataFrame({"user_id": user, "day": day, "kind": kind})
    rows = (
        events.group_by("user_id", "day")
        .agg(
            (pl.col("kind") == 0).sum().alias("logins"),
            (pl.col("kind") == 1).sum().alias("views"),
            (pl.col("kind") == 2).sum().alias("likes"),
        )
        .sort("user_id", "day")
    )  # group_by's order is arbitrary; the sample below must not be
    start = pl.lit(T0)
    features = rows.with_columns(
        (start + pl.duration(days=pl.col("day") + 1)).alias("as_of"),
    ).with_columns((pl.col("as_of") + pl.duration(hours=2)).alias("known_at"))
    second = features.sample(fraction=0.01, seed=seed).with_columns(
        (pl.col("known_at") + pl.duration(hours=1)).alias("known_at"),
        (pl.col("views") + 1).alias("views"),
    )
    features = pl.concat([features, second]).drop("day")
    features = features.sample(fraction=1.0, shuffle=True, seed=seed)  # file order means nothing
    offsets = (rng.uniform(0, (days - 1) * 86400, 200_000) * 1e6).astype(np.int64)  # microseconds
    labels = pl.DataFrame(
        {
            "label_id": np.arange(200_000),
            "user_id": rng.choice(users, size=200_000, p=activity / activity.sum()),
            "offset": offsets,
        }
    ).select(
        "label_id",
        "user_id",
        (pl.lit(T0 + timedelta(days=1)) + pl.duration(microseconds=pl.col("offset"))).alias("t"),
    )
    features.write_parquet(folder / "features.parquet")
    labels.write_parquet(folder / "labels.parquet")
    return {"events": n_events, "feature_rows": len(features), "labels": len(labels),
            "second_versions": len(second)}  # fmt: skip


def _resident_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


class PeakMemory:
    """The most resident memory seen while running, sampled every millisecond."""

    def __enter__(self) -> PeakMemory:
        self.base = self.peak = _resident_mb()
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while self._running:
            self.peak = max(self.peak, _resident_mb())
            time.sleep(0.001)

    def __exit__(self, *_: object) -> None:
        self._running = False
        self._thread.join()


def run(method: str, folder: Path) -> dict:
    features = pl.read_parquet(folder / "features.parquet")
    labels = pl.read_parquet(folder / "labels.parquet")
    if method in (
        "ours_event_time",
        "polars_join_asof",
    ):  # one version per key, resolved before timing
        features = features.sort("known_at").unique(["user_id", "as_of"], keep="last")
    _retrieve(method, labels.head(1000), features.head(1000))  # imports and warm-up
    times, peaks = [], []
    for _ in range(3):
        with PeakMemory() as memory:
            t0 = time.perf_counter()
            out = _retrieve(method, labels, features)
            times.append(time.perf_counter() - t0)
        peaks.append(memory.peak - memory.base)
        del out
    out = _retrieve(method, labels, features)
    out.select("label_id", "as_of", "known_at", "views").write_parquet(folder / f"{method}.parquet")
    return {"seconds": statistics.median(times), "low": min(times), "high": max(times),
            "peak_mb": max(peaks), "rows": len(out)}  # fmt: skip


def _retrieve(method: str, labels: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    from fsdl_data.core.features.pit import point_in_time_join

    if method == "ours_bitemporal":
        return point_in_time_join(labels, features, by="user_id", left_time="t",
                                  right_time="as_of", known_at="known_at", ttl=TTL)  # fmt: skip
    if method == "ours_event_time":
        return point_in_time_join(labels, features, by="user_id", left_time="t",
                                  right_time="as_of", ttl=TTL)  # fmt: skip
    if method == "polars_join_asof":
        return labels.sort("t").join_asof(features.sort("as_of"), left_on="t", right_on="as_of",
                                          by="user_id", strategy="backward")  # fmt: skip
    from fsdl_data.core.features.pit_reference import naive_point_in_time_join

    return naive_point_in_time_join(labels, features, by="user_id", left_time="t", right_time="as_of",
                     known_at="known_at", ttl=TTL)  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--method", choices=METHODS, help=argparse.SUPPRESS)
    p.add_argument("--folder", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.method:  # a child process: one method
        print(json.dumps(run(a.method, Path(a.folder))))
        return 0
    folder = Path(tempfile.mkdtemp(prefix="fsdl-pit-"))
    sizes = generate(folder, a.seed)
    print(f"{sizes['events']:,} events over 30 days, 50,000 users -> {sizes['feature_rows']:,} daily "
          f"feature rows ({sizes['second_versions']:,} second versions known an hour later); "
          f"{sizes['labels']:,} labels; TTL {TTL.days} days")  # fmt: skip
    results = {}
    for method in METHODS:
        child = subprocess.run([sys.executable, __file__, "--method", method, "--folder", str(folder)],
                               capture_output=True, text=True, check=True)  # fmt: skip
        results[method] = json.loads(child.stdout.strip().splitlines()[-1])
    reference = pl.read_parquet(folder / "reference.parquet").sort("label_id")
    for method in METHODS:
        r = results[method]
        out = pl.read_parquet(folder / f"{method}.parquet").sort("label_id")
        differ = int(
            (~out.select(pl.all().exclude("label_id")).to_struct().eq_missing(
                reference.select(pl.all().exclude("label_id")).to_struct())).sum()
        )  # fmt: skip
        print(f"  {method:18s} {r['seconds']:6.3f} s [{r['low']:.3f}, {r['high']:.3f}]  "
              f"peak +{r['peak_mb']:6.0f} MB  {r['rows']:,} rows, "
              f"{differ:,} differ from the reference")  # fmt: skip
    speed = results["polars_join_asof"]["seconds"]
    print(f"  ours / polars join_asof (medians): bitemporal {results['ours_bitemporal']['seconds'] / speed:.2f}x, "
          f"event time only {results['ours_event_time']['seconds'] / speed:.2f}x")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
