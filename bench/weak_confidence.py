"""Benchmark: what a weak label's confidence means on the world, before and after recalibration.

Per seed, a default world (WorldSpec's 200 photos a day, seeded with that seed) runs the part of
the nightly graph that labeled_set needs (with the classifier the next night's labeling
functions use) for --days days. Then, for every day, the day's weak labels are made twice from
the stored label matrices and human consensus, as labeled_set makes them (label_day, the
trailing 7-day window): with the label model's own confidences ("before") and recalibrated on
the window's gold and human labels ("after", what the asset now stores). Prints, against the
photos' hidden content, the accuracy per confidence band and of the labels admitted at each
threshold, per seed and as median [min, max] over seeds. Seeds run side by side, one process
each. Run: `python bench/weak_confidence.py --seeds 3 --days 14`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

EDGES = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001)
THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99)
WINDOW_DAYS = 7  # as the labeled_set asset (LABEL_MODEL_WINDOW_DAYS)


def world_run(seed: int, days: int) -> dict:
    """One world: the graph up to labeled_set for `days` nights, then each day's weak labels
    before and after recalibration, scored against the hidden content."""
    from _common import fresh_embedded_home, nights_up_to

    fresh_embedded_home()
    import polars as pl

    from fsdl_data.config import Settings
    from fsdl_data.core.calendar import parse_day
    from fsdl_data.core.labels import functions
    from fsdl_data.core.labels.labeled_set import label_day
    from fsdl_data.core.storage.appdb import AppDatabase
    from fsdl_data.core.storage.lake import Lake
    from fsdl_data.core.storage.objects import open_object_store
    from fsdl_data.core.tables.schemas import CONTENT_CLASSES
    from fsdl_data.core.world.generator import seed_world
    from fsdl_data.core.world.spec import WorldSpec

    settings = Settings.from_env()
    reports = seed_world(WorldSpec(seed=seed), days, open_object_store(settings.object_store_url),
                         AppDatabase(settings.app_db_url), settings.truth_dir)  # fmt: skip
    day_keys = [r.day for r in reports]
    nights_up_to("labeled_set", day_keys, seed)
    lake = Lake(open_object_store(settings.lake_url))
    tag = [pl.lit(parse_day(d)).alias("day") for d in day_keys]
    matrices = [
        lake.read("label_matrix", d).with_columns(t) for d, t in zip(day_keys, tag, strict=True)
    ]
    consensus = [
        lake.read("human_consensus", d).with_columns(t) for d, t in zip(day_keys, tag, strict=True)
    ]
    truth = pl.concat(
        [pl.read_parquet(settings.truth_dir / "photos" / f"{d}.parquet") for d in day_keys]
    ).select("photo_id", "content")
    names = [lf.name for lf in functions.LABELING_FUNCTIONS]
    version = functions.labeling_functions_version()
    rows = {"before": [], "after": []}
    for i, day in enumerate(day_keys):
        window = slice(max(0, i - WINDOW_DAYS + 1), i + 1)
        matrix, reference = pl.concat(matrices[window]), pl.concat(consensus[window])
        for name, calibrate in (("before", False), ("after", True)):
            table = label_day(matrix, reference, parse_day(day), names, CONTENT_CLASSES, version,
                              calibrate=calibrate).table  # fmt: skip
            rows[name].append(
                table.filter(pl.col("weak_label").is_not_null())
                .select("photo_id", "weak_label", "weak_confidence")
                .join(truth, on="photo_id")
            )
    result = {}
    for name, parts in rows.items():
        weak = pl.concat(parts).with_columns(right=pl.col("weak_label") == pl.col("content"))
        bands = {}
        for low, high in itertools.pairwise(EDGES):
            band = weak.filter(pl.col("weak_confidence").is_between(low, high, closed="left"))
            bands[f"[{low:.2f}, {min(high, 1.0):.2f}{']' if high > 1 else ')'}"] = (
                len(band), float(band["right"].mean()) if len(band) else None,
                float(band["weak_confidence"].mean()) if len(band) else None,
            )  # fmt: skip
        admitted = {}
        for threshold in THRESHOLDS:
            kept = weak.filter(pl.col("weak_confidence") >= threshold)
            admitted[f"{threshold:.2f}"] = (len(kept), float(kept["right"].mean()) if len(kept)
                                            else None)  # fmt: skip
        result[name] = {"weak_labels": len(weak), "accuracy": float(weak["right"].mean()),
                        "bands": bands, "admitted": admitted}  # fmt: skip
    return result


def spread(values: list[float | None], digits: int = 3) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return (f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}, "
            f"{max(values):.{digits}f}]")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--world-run", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.world_run is not None:
        print(json.dumps(world_run(args.world_run, args.days)))
        return
    print(f"weak confidences on the default world: {args.seeds} seeds x {args.days} days x 200 "
          f"photos; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)  # fmt: skip
    runs = [
        subprocess.Popen(
            [sys.executable, __file__, "--world-run", str(seed), "--days", str(args.days)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(args.seeds)
    ]
    results = []
    for seed, run in enumerate(runs):
        stdout, _ = run.communicate()
        if run.returncode:
            raise SystemExit(f"world seed {seed} failed (exit {run.returncode})")
        results.append(json.loads(stdout.strip().splitlines()[-1]))
        for name in ("before", "after"):
            r = results[-1][name]
            admitted = ", ".join(f">={t}: {n} at {a:.3f}" if a is not None else f">={t}: 0"
                                 for t, (n, a) in r["admitted"].items())  # fmt: skip
            print(f"   seed {seed} {name:6s}: {r['weak_labels']} weak labels, {r['accuracy']:.3f} "
                  f"right; admitted {admitted}")  # fmt: skip
    for name in ("before", "after"):
        print(f"{name}: median [min, max] over {len(results)} seeds")
        print("| band | labels | mean confidence | accuracy |")
        print("|---|---|---|---|")
        for band in results[0][name]["bands"]:
            cells = [r[name]["bands"][band] for r in results]
            print(f"| {band} | {spread([c[0] for c in cells], 0)} | {spread([c[2] for c in cells])} "
                  f"| {spread([c[1] for c in cells])} |")  # fmt: skip
        print("| admitted at | labels | | accuracy |")
        for threshold in results[0][name]["admitted"]:
            cells = [r[name]["admitted"][threshold] for r in results]
            print(f"| >= {threshold} | {spread([c[0] for c in cells], 0)} | "
                  f"| {spread([c[1] for c in cells])} |")  # fmt: skip
    print(f"load average at the end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
