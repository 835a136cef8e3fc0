"""DuckDB SQL over the lake: one view per table, so exploring is `SELECT ... FROM events`."""

from __future__ import annotations

import duckdb
import polars as pl

from fsdl_data.core.storage.lake import Lake


def lake_connection(lake: Lake) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per lake table (with a `date` column when partitioned).

    A local lake is read in place; an S3 lake is fetched through our object store, since
    DuckDB's httpfs extension is a download of its own.
    """
    con = duckdb.connect()
    for table in lake.tables():
        glob = lake.local_glob(table)
        if glob is not None:
            path = glob.replace("'", "''")
            con.execute(
                f'CREATE VIEW "{table}" AS SELECT * FROM '
                f"read_parquet('{path}', hive_partitioning = true, union_by_name = true)"
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
    return con


def snapshot_connection(tables: dict[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per table of a snapshot (time travel: the data as it
    was when the snapshot was taken)."""
    con = duckdb.connect()
    for name, df in tables.items():
        con.register(name, df.to_arrow())
    return con


def run_sql(lake: Lake, query: str, tables: dict[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """`query` over the lake's tables, or over `tables` (a snapshot's) when given."""
    con = lake_connection(lake) if tables is None else snapshot_connection(tables)
    try:
        return con.sql(query).pl()
    finally:
        con.close()
