"""DuckDB SQL over the lake: one view per table, so exploring is `SELECT ... FROM events`."""

from __future__ import annotations

import duckdb
import polars as pl

from fsdl_data.core.storage.lake import Lake

READ_ONLY_STATEMENTS = ("SELECT", "EXPLAIN")  # what `fsdl-data sql` runs without --allow-writes


class QueryRefused(ValueError):
    """A query that would change something (or read outside the lake) in a read-only session."""


def quote_identifier(name: str) -> str:
    """A name as a DuckDB identifier, whatever it holds (quotes, semicolons)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _lock(con: duckdb.DuckDBPyConnection, directories: list[str]) -> None:
    """External access limited to `directories` (none: no file at all), and locked so a query
    cannot lift it."""
    listed = ", ".join(quote_literal(d) for d in directories)
    con.execute(f"SET allowed_directories = [{listed}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def check_read_only(con: duckdb.DuckDBPyConnection, query: str) -> None:
    """Refuses every statement but SELECT and EXPLAIN (COPY, ATTACH, CREATE, INSERT, SET,
    PRAGMA, INSTALL ...), naming the first."""
    try:
        statements = con.extract_statements(query)
    except duckdb.Error:
        return  # a syntax error: DuckDB says so when the query runs
    for statement in statements:
        kind = statement.type.name
        if kind not in READ_ONLY_STATEMENTS:
            raise QueryRefused(
                f"{kind} statements are refused: `fsdl-data sql` is read-only (SELECT and "
                "EXPLAIN); pass --allow-writes to run it anyway"
            )


def lake_connection(lake: Lake, allow_writes: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per lake table (with a `date` column when partitioned).

    A local lake is read in place; an S3 lake is fetched through our object store, since
    DuckDB's httpfs extension is a download of its own. Table names are quoted whatever they
    hold. Unless `allow_writes`, files are readable only under the lake's tables folder and
    nothing outside DuckDB's memory can be written (see `run_sql`).
    """
    con = duckdb.connect()
    directories = []
    for table in lake.tables():
        glob = lake.local_glob(table)
        if glob is not None:
            directories.append(glob.split("*", 1)[0])
            con.execute(
                f"CREATE VIEW {quote_identifier(table)} AS SELECT * FROM "
                f"read_parquet({quote_literal(glob)}, hive_partitioning = true, union_by_name = true)"
            )
            continue
        parts = lake.partitions(table)
        if parts:
            df = pl.concat(
                [
                    lake.read(table, p).with_columns(pl.lit(p).str.to_date().alias("date"))
                    for p in parts
                ],
                how="diagonal_relaxed",
            )
        else:
            df = lake.read(table)
        con.register(table, df.to_arrow())
    if not allow_writes:
        _lock(con, directories)
    return con


def snapshot_connection(
    tables: dict[str, pl.DataFrame], allow_writes: bool = False
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per table of a snapshot (time travel: the data as it
    was when the snapshot was taken); no file access at all unless `allow_writes`."""
    con = duckdb.connect()
    for name, df in tables.items():
        con.register(name, df.to_arrow())
    if not allow_writes:
        _lock(con, [])
    return con


def run_sql(
    lake: Lake,
    query: str,
    tables: dict[str, pl.DataFrame] | None = None,
    allow_writes: bool = False,
) -> pl.DataFrame:
    """`query` over the lake's tables, or over `tables` (a snapshot's) when given. Read-only
    unless `allow_writes`: only SELECT and EXPLAIN run (QueryRefused otherwise), and files
    outside the lake's tables cannot be read, so a query can neither change the lake nor read
    elsewhere."""
    con = (
        lake_connection(lake, allow_writes)
        if tables is None
        else snapshot_connection(tables, allow_writes)
    )
    try:
        if not allow_writes:
            check_read_only(con, query)
        return con.sql(query).pl()
    finally:
        con.close()
