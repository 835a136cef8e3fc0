"""`fsdl-data materialize` and `fsdl-data demo`: run the graph on the local Dagster instance."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from fsdl_data.cli import _common, explore, world


def materialize(
    days: list[str] | None = None, job: str = "nightly", world_clock: bool | None = None
) -> int:
    """One run of `job` per day (default: every world day); 0 when all succeed. Features are
    stamped known-at with the wall clock, or with `world_clock` at a generated world's
    simulated nightly times (a replay of its nights). Unset, `world_clock` follows the data: a
    generated world (its manifest in the object store) replays on its own clock, anything else
    publishes at the wall clock; the flags --world-clock and --wall-clock choose."""
    from fsdl_data.cli.runner import cli_instance, materialize_days, resolve_job
    from fsdl_data.core.world.generator import read_manifest, world_days
    from fsdl_data.instance import fail_orphaned_runs

    store = _common.object_store()
    chosen = days or world_days(store)
    if not chosen:
        print(
            "nothing to materialize: no world days found; run `fsdl-data world seed`",
            file=sys.stderr,
        )
        return 1
    check_days(chosen, store)
    resolve_job(_common.definitions(), job)  # a mistake is one line, before any progress line
    if world_clock is None:
        world_clock = read_manifest(store) is not None
        if world_clock:
            print("a generated world: each day publishes at its simulated nightly time "
                  "(--wall-clock: known from now, as a backfill)", flush=True)  # fmt: skip
    settings = _common.settings()  # a bad setting was one line when it was read
    instance = cli_instance(settings)
    for run_id in fail_orphaned_runs(instance):  # a CLI killed mid-run: its day is unblocked
        print(f"  run {run_id[:8]} had lost its process (killed?): marked failed", file=sys.stderr)
    print(f"{len(chosen)} day(s), one {job} run each; a line as each run ends:", flush=True)
    runs = materialize_days(
        _common.definitions(), job, chosen, instance, world_clock=world_clock, on_run=print_run
    )
    ok = all(r.success for r in runs)
    return 0 if ok else 2


def print_run(r: Any) -> None:
    """One day's run, printed as soon as it ends."""
    print(
        f"  {r.day}: {'ok' if r.success else 'FAILED'} run {r.run_id[:8]}, {len(r.materialized)} assets",
        flush=True,
    )
    for check in r.outcomes:  # WARN: a warning, the night goes on; ERROR: look at it
        if not check.passed:
            print(f"      check failed ({check.severity}): {check.check}: {check.description}",
                  flush=True)  # fmt: skip
    for step in r.crashed_steps:
        print(f"      step failed: {step}", flush=True)  # its first error line, whole


def check_days(days: list[str], store: Any) -> None:
    """Every day must be a partition of the calendar and hold data: a mistake is one line that
    says what is valid, and a day without data publishes nothing (instead of empty tables)."""
    from fsdl_data.core.ingestion.cursor import day_has_data, no_data_message
    from fsdl_data.partitions import daily_partitions

    valid = daily_partitions(_common.settings()).get_partition_keys()
    for day in days:
        if day not in set(valid):
            span = f"between {valid[0]} and {valid[-1]}" if valid else "(the calendar is empty)"
            raise ValueError(f"{day!r} is not a day partition: give a day as YYYY-MM-DD {span}")
        if not day_has_data(store, day):
            raise LookupError(no_data_message(day, store.url))


def demo(days: int = 3, photos_per_day: int = 400, users: int = 500,
         events_per_day: int = 20_000, job: str = "nightly") -> int:  # fmt: skip
    """Seeds a small world if there is none, materializes all of it and shows what it made."""
    from fsdl_data.core.world.generator import read_manifest

    store = _common.object_store()
    if read_manifest(store) is None:
        world.seed(days, photos_per_day, users, events_per_day)
    else:
        print(f"using the existing world at {store.url}")
    print("materializing every asset of every world day ...")
    code = materialize(None, job, world_clock=True)  # a replay of the generated world's nights
    tables = _common.lake().tables()
    print("\nlake tables (rows over all partitions):")
    counts = " UNION ALL ".join(
        f"SELECT '{t}' AS table_name, count(*) AS rows FROM \"{t}\"" for t in tables
    )
    explore.sql(counts + " ORDER BY 1", max_rows=60)
    if "popularity_model" in tables:
        print("\nthe nightly model (held-out day vs a constant baseline):")
        explore.sql(
            "SELECT version, held_out_day, train_rows, test_rows, round(spearman, 3) AS rank_corr, "
            "round(auc_above_median, 3) AS auc, promoted FROM popularity_model",
            max_rows=5,
        )
    for line in next_steps(store):
        print(line)
    return code


def next_steps(store: Any) -> list[str]:
    """What to try after the demo, with the world's own days filled in: each line runs as
    printed from the folder `make demo` ran in (a test runs them)."""
    from datetime import date, timedelta

    from fsdl_data.core.world.generator import world_days

    days = world_days(store)
    after = (date.fromisoformat(days[-1]) + timedelta(days=1)).isoformat() if days else None
    lines = [
        "\nNext:",
        "  make dev                      # the Dagster UI on this instance: http://127.0.0.1:3000",
        '  .venv/bin/fsdl-data sql "SELECT event_type, count(*) FROM events GROUP BY 1"',
    ]
    if after:  # the last night's run published its features at 02:00 the day after
        lines += [
            "  .venv/bin/fsdl-data features get user:1   # as served after the world's last night",
            f"  .venv/bin/fsdl-data world append && .venv/bin/fsdl-data materialize --day {after}",
        ]
    return lines


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "materialize", help="materialize a job for world days on the local Dagster instance"
    )
    p.add_argument(
        "--day", action="append", help="a day partition (repeatable; default: every world day)"
    )
    p.add_argument("--job", default="nightly",
                   help="nightly (the whole graph), ingest, features, ingest_photos, "
                   "ingest_events or import_labels (fsdl_data/jobs.py)")  # fmt: skip
    clock = p.add_mutually_exclusive_group()
    clock.add_argument(
        "--world-clock",
        action="store_const",
        const=True,
        dest="world_clock",
        help="publish each day at the generated world's simulated nightly time (the default "
        "when the object store holds a generated world)",
    )
    clock.add_argument(
        "--wall-clock",
        action="store_const",
        const=False,
        dest="world_clock",
        help="publish with the wall clock: known from now, as a backfill (the default for "
        "anything but a generated world)",
    )
    p.set_defaults(handler=lambda a: materialize(a.day, a.job, a.world_clock))
    p = verbs.add_parser("demo", help="seed a small world (if none) and materialize all of it")
    p.add_argument("--days", type=_common.at_least_one, default=3)
    p.add_argument("--photos-per-day", type=int, default=400)
    p.add_argument("--users", type=_common.at_least_one, default=500)
    p.add_argument("--events-per-day", type=int, default=20_000)
    p.add_argument("--job", default="nightly")
    p.set_defaults(
        handler=lambda a: demo(a.days, a.photos_per_day, a.users, a.events_per_day, a.job)
    )
