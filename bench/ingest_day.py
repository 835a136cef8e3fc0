"""Benchmark: one world day of 1,000 photos and 200,000 events.

Prints (1) world generation time and (2) the materialization time of that day's source and
table assets (the `ingest` job, in process, embedded default). Run: `make bench`.
The measured day is the world's second: the first has no views of earlier days' photos yet,
so only the second is a steady-state day of ~200,000 events.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import fresh_embedded_home


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--photos", type=int, default=1000)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--users", type=int, default=2000)
    a = p.parse_args()

    fresh_embedded_home()

    from fsdl_data.config import Settings
    from fsdl_data.core.storage.appdb import AppDatabase
    from fsdl_data.core.storage.objects import open_object_store
    from fsdl_data.core.world.generator import append_days, seed_world
    from fsdl_data.core.world.spec import WorldSpec

    settings = Settings.from_env()
    spec = WorldSpec(photos_per_day=a.photos, users=a.users, events_per_day=a.events)
    store, db = open_object_store(settings.object_store_url), AppDatabase(settings.app_db_url)
    seed_world(spec, 1, store, db, settings.truth_dir)  # warm-up day
    t0 = time.perf_counter()
    (report,) = append_days(store, db, settings.truth_dir, 1)
    gen_s = time.perf_counter() - t0

    import dagster as dg

    from fsdl_data.cli.runner import materialize_days
    from fsdl_data.definitions import defs

    t0 = time.perf_counter()
    (run,) = materialize_days(defs, "ingest", [report.day], dg.DagsterInstance.ephemeral())
    mat_s = time.perf_counter() - t0
    if not run.success:
        print("materialization failed:", run.failed_checks, file=sys.stderr)
        return 1
    print(f"world day: {report.photos} photos, {report.events} log lines, {report.users} new users")
    print(f"world generation:              {gen_s:6.2f} s")
    print(
        f"ingest materialization (day):  {mat_s:6.2f} s  ({len(run.materialized)} assets, {run.checks} checks)"
    )
    print(f"  = {report.events / mat_s:,.0f} log lines/s end to end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
