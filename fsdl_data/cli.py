"""`fsdl-data`: generate a world, materialize it, explore it with SQL.

Imports are lazy so `fsdl-data --help` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _settings() -> Any:
    from fsdl_data.config import Settings

    return Settings.from_env()


def _stores(settings: Any) -> tuple[Any, Any]:
    from fsdl_data.core.storage.appdb import AppDatabase
    from fsdl_data.core.storage.objects import open_object_store

    return open_object_store(settings.object_store_url), AppDatabase(settings.app_db_url)


def _print_days(reports: list[Any]) -> None:
    for r in reports:
        defects = f", defects {r.defects}" if r.defects else ""
        print(
            f"  {r.day}: {r.users} new users, {r.photos} photos, {r.events} log lines, {r.seed_tasks} labeled tasks{defects}"
        )


def cmd_world_seed(a: argparse.Namespace) -> int:
    from datetime import date

    from tqdm import tqdm

    from fsdl_data.core.world.generator import seed_world
    from fsdl_data.core.world.spec import WorldSpec

    s = _settings()
    spec = WorldSpec(
        seed=a.seed,
        start_date=date.fromisoformat(a.start_date) if a.start_date else s.start_date,
        photos_per_day=a.photos_per_day,
        users=a.users,
        events_per_day=a.events_per_day,
        defects=a.defects,
    )
    store, db = _stores(s)
    reports = seed_world(
        spec,
        a.days,
        store,
        db,
        s.truth_dir,
        progress=lambda it: tqdm(it, desc="world days", unit="day"),
    )
    print(f"world seeded at {store.url} (app db {db!r}):")
    _print_days(reports)
    return 0


def cmd_world_append(a: argparse.Namespace) -> int:
    from fsdl_data.core.world.generator import append_days

    s = _settings()
    store, db = _stores(s)
    reports = append_days(store, db, s.truth_dir, a.days)
    print("appended:")
    _print_days(reports)
    return 0


def cmd_world_info(a: argparse.Namespace) -> int:
    from fsdl_data.core.world.generator import read_manifest, world_days

    store, _ = _stores(_settings())
    found = read_manifest(store)
    if found is None:
        print(f"no world at {store.url}: run `fsdl-data world seed`", file=sys.stderr)
        return 1
    print(found[0].to_json())
    print("days:", ", ".join(world_days(store)))
    return 0


def cmd_materialize(a: argparse.Namespace) -> int:
    from fsdl_data.core.world.generator import world_days
    from fsdl_data.definitions import defs
    from fsdl_data.runner import cli_instance, materialize_days

    store, _ = _stores(_settings())
    days = a.day or world_days(store)
    if not days:
        print(
            "nothing to materialize: no world days found; run `fsdl-data world seed`",
            file=sys.stderr,
        )
        return 1
    runs = materialize_days(defs, a.job, days, cli_instance())
    ok = True
    for r in runs:
        ok &= r.success
        print(
            f"  {r.day}: {'ok' if r.success else 'FAILED'} run {r.run_id[:8]}, {len(r.materialized)} assets"
        )
        for c in r.failed_checks:
            print(f"      check failed: {c}")
    return 0 if ok else 2


def cmd_sql(a: argparse.Namespace) -> int:
    import duckdb
    import polars as pl

    from fsdl_data.core.explore import run_sql
    from fsdl_data.core.storage.lake import Lake
    from fsdl_data.core.storage.objects import open_object_store

    lake = Lake(open_object_store(_settings().lake_url))
    try:
        df = run_sql(lake, a.query)
    except duckdb.Error as e:
        print(
            f"fsdl-data sql: {e}\nlake tables: {', '.join(lake.tables()) or '(none yet)'}",
            file=sys.stderr,
        )
        return 1
    with pl.Config(
        tbl_rows=a.max_rows,
        tbl_cols=-1,
        fmt_str_lengths=60,
        tbl_width_chars=200,
        tbl_hide_dataframe_shape=True,
    ):
        print(df)
    print(f"({len(df)} rows)")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    from fsdl_data.core.world.generator import read_manifest

    s = _settings()
    store, _ = _stores(s)
    if read_manifest(store) is None:
        cmd_world_seed(
            argparse.Namespace(
                days=a.days, seed=0, start_date=None, photos_per_day=a.photos_per_day,
                users=a.users, events_per_day=a.events_per_day, defects=False,
            )
        )  # fmt: skip
    else:
        print(f"using the existing world at {store.url}")
    print("materializing every asset of every world day ...")
    code = cmd_materialize(argparse.Namespace(day=None, job=a.job))
    from fsdl_data.core.storage.lake import Lake
    from fsdl_data.core.storage.objects import open_object_store

    tables = Lake(open_object_store(s.lake_url)).tables()
    print("\nlake tables (rows over all partitions):")
    counts = " UNION ALL ".join(
        f"SELECT '{t}' AS table_name, count(*) AS rows FROM \"{t}\"" for t in tables
    )
    cmd_sql(argparse.Namespace(query=counts + " ORDER BY 1", max_rows=50))
    if "popularity_model" in tables:
        print("\nthe nightly model (held-out day vs a constant baseline):")
        cmd_sql(
            argparse.Namespace(
                query="SELECT version, held_out_day, train_rows, test_rows, round(spearman, 3) AS rank_corr, "
                "round(auc_above_median, 3) AS auc, promoted FROM popularity_model",
                max_rows=5,
            )
        )
    print(
        "\nNext:\n  make dev                      # the Dagster UI on this instance: http://127.0.0.1:3000\n"
        '  .venv/bin/fsdl-data sql "SELECT event_type, count(*) FROM events GROUP BY 1"\n'
        "  .venv/bin/fsdl-data world append && .venv/bin/fsdl-data materialize --day <the new day>"
    )
    return code


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fsdl-data", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    world = sub.add_parser("world", help="generate the synthetic photo-app world").add_subparsers(
        dest="world_cmd", required=True
    )
    seed = world.add_parser("seed", help="generate a fresh world")
    seed.add_argument("--days", type=int, default=3)
    seed.add_argument("--photos-per-day", type=int, default=200)
    seed.add_argument("--users", type=int, default=500)
    seed.add_argument("--events-per-day", type=int, default=20_000)
    seed.add_argument("--seed", type=int, default=0)
    seed.add_argument("--start-date", default=None, help="first day (default: FSDL_START_DATE)")
    seed.add_argument("--defects", action="store_true", help="inject realistic defects")
    seed.set_defaults(fn=cmd_world_seed)
    app = world.add_parser("append", help="generate the next day(s) of an existing world")
    app.add_argument("--days", type=int, default=1)
    app.set_defaults(fn=cmd_world_append)
    world.add_parser("info", help="describe the world").set_defaults(fn=cmd_world_info)

    m = sub.add_parser(
        "materialize", help="materialize a job for world days on the local Dagster instance"
    )
    m.add_argument(
        "--day", action="append", help="a day partition (repeatable; default: every world day)"
    )
    m.add_argument("--job", default="nightly", help="nightly (the whole graph) or ingest")
    m.set_defaults(fn=cmd_materialize)

    q = sub.add_parser("sql", help="run DuckDB SQL over the lake (one view per table)")
    q.add_argument("query")
    q.add_argument("--max-rows", type=int, default=50)
    q.set_defaults(fn=cmd_sql)

    d = sub.add_parser("demo", help="seed a small world (if none) and materialize all of it")
    d.add_argument("--days", type=int, default=3)
    d.add_argument("--photos-per-day", type=int, default=400)
    d.add_argument("--users", type=int, default=500)
    d.add_argument("--events-per-day", type=int, default=20_000)
    d.add_argument("--job", default="nightly")
    d.set_defaults(fn=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    import warnings

    args = build_parser().parse_args(argv)
    # Dagster flags preview/beta APIs on every import; the CLI's users can do nothing about them.
    warnings.filterwarnings(
        "ignore", message=r".*(currently in beta|currently in preview|is superseded)"
    )
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        return args.fn(args)
    except (FileExistsError, FileNotFoundError, LookupError, ValueError) as e:
        print(f"fsdl-data: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
