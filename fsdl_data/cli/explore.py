"""`fsdl-data sql`: DuckDB SQL over the lake, one view per table."""

from __future__ import annotations

import argparse
import sys

from fsdl_data.cli import _common


def snapshot_tables(snapshot_id: str) -> dict:
    """A table snapshot's rows under its table's name (and `snapshot`), with a `date` column."""
    import polars as pl

    from fsdl_data.core.versioning.snapshots import load_table
    from fsdl_data.core.versioning.store import SnapshotStore

    store = SnapshotStore(_common.lake().store)
    _, full, manifest = store.open_snapshot(snapshot_id)
    if manifest.kind != "table":
        raise ValueError(
            f"snapshot {full[:12]} is of a folder, not a table: `snapshot checkout` it instead"
        )
    df = load_table(store, manifest).rename({"snapshot_part": "date"})
    df = df.with_columns(pl.col("date").str.to_date(strict=False))
    return {manifest.source: df, "snapshot": df}


def sql(
    query: str, max_rows: int = 50, snapshot: str | None = None, allow_writes: bool = False
) -> int:
    import duckdb
    import polars as pl

    from fsdl_data.core.explore import run_sql

    lake = _common.lake()
    tables = snapshot_tables(snapshot) if snapshot else None
    try:
        df = run_sql(lake, query, tables, allow_writes)
    except duckdb.PermissionException as e:
        first = str(e).splitlines()[0]
        print(f"fsdl-data sql: {first}: queries read only the lake's tables (--allow-writes "
              "lifts this)", file=sys.stderr)  # fmt: skip
        return 1
    except duckdb.Error as e:
        names = ", ".join(sorted(tables) if tables else lake.tables()) or "(none yet)"
        print(
            f"fsdl-data sql: {e}\n{'snapshot' if tables else 'lake'} tables: {names}",
            file=sys.stderr,
        )
        return 1
    with pl.Config(tbl_rows=max_rows, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200,
                   tbl_hide_dataframe_shape=True):  # fmt: skip
        print(df)
    print(f"({len(df)} rows)")
    return 0


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("sql", help="run DuckDB SQL over the lake (one view per table)")
    p.add_argument("query")
    p.add_argument("--max-rows", type=int, default=50)
    p.add_argument("--snapshot", metavar="ID", default=None,
                   help="query a table snapshot (time travel) instead of the live lake")  # fmt: skip
    p.add_argument("--allow-writes", action="store_true",
                   help="run any statement (COPY, ATTACH, CREATE ...) with file access: by "
                   "default only SELECT/EXPLAIN run and only the lake's tables can be read")  # fmt: skip
    p.set_defaults(handler=lambda a: sql(a.query, a.max_rows, a.snapshot, a.allow_writes))
