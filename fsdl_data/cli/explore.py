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


def _without_foreign_hints(message: str, tables: list[str]) -> str:
    """DuckDB's message without a 'Did you mean "pg_enum"?' line that suggests one of its own
    catalog tables (a name no query here can use); a hint naming a lake table stays."""
    import re

    def foreign(line: str) -> bool:
        hint = re.fullmatch(r'Did you mean "(?:[\w]+\.)*([\w]+)"\?', line.strip())
        return hint is not None and hint.group(1) not in tables

    return "\n".join(line for line in message.splitlines() if not foreign(line))


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
        known = sorted(tables) if tables else lake.tables()
        names = ", ".join(known) or "(none yet)"
        print(
            f"fsdl-data sql: {_without_foreign_hints(str(e), known)}\n"
            f"{'snapshot' if tables else 'lake'} tables: {names}",
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
