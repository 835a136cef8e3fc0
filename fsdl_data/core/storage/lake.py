"""The lake: Parquet tables over an object store, one file per table partition.

Layout (Hive-style, so DuckDB and Polars read it directly):
    tables/<table>/date=<YYYY-MM-DD>/data.parquet     daily-partitioned tables
    tables/<table>/all/data.parquet                   unpartitioned tables
Each file is written with one atomic `put`, so a partition is either the old one or the new one.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import polars as pl

from fsdl_data.core.calendar import DAY_FOLDER, folder_day
from fsdl_data.core.storage.objects import (
    Capability,
    Listed,
    ObjectNotFound,
    ObjectStore,
    supports,
)

TABLES = "tables"
UNPARTITIONED = "all"


class TableNotFound(LookupError):
    """A table partition that has not been written: materialize its asset first."""


def table_key(table: str, partition: str | None) -> str:
    part = f"{DAY_FOLDER}{partition}" if partition else UNPARTITIONED
    return f"{TABLES}/{table}/{part}/data.parquet"


def to_parquet_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd", statistics=True)
    return buf.getvalue()


class Lake:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    @property
    def url(self) -> str:
        return self.store.url

    def write(self, table: str, df: pl.DataFrame, partition: str | None = None) -> str:
        """Publish one table partition atomically; returns its URI."""
        key = table_key(table, partition)
        self.store.put(key, to_parquet_bytes(df))
        return self.store.uri(key)

    def read(self, table: str, partition: str | None = None) -> pl.DataFrame:
        key = table_key(table, partition)
        try:
            data = self.store.get(key)
        except ObjectNotFound:
            where = f"partition {partition}" if partition else "(unpartitioned)"
            raise TableNotFound(
                f"table {table!r} {where} is not in the lake at {self.url}: materialize it first"
            ) from None
        return pl.read_parquet(io.BytesIO(data))

    def tables(self) -> list[str]:
        names = {o.key.split("/")[1] for o in self.store.list(f"{TABLES}/")}
        return sorted(names)

    def partitions(self, table: str) -> list[str]:
        out = []
        for listed in self.store.list(f"{TABLES}/{table}/"):
            day = folder_day(listed.key.split("/")[2])
            if day:
                out.append(day)
        return sorted(out)

    def files(self, table: str) -> Iterator[tuple[str | None, Listed]]:
        """(partition or None, listing) of every file of a table, without reading any."""
        for stat in self.store.list(f"{TABLES}/{table}/"):
            folder = stat.key.split("/")[2]
            day = folder_day(folder)
            if day or folder == UNPARTITIONED:
                yield day, stat

    def local_glob(self, table: str) -> str | None:
        """A glob over the table's files when the lake is a local folder (for DuckDB views)."""
        if supports(self.store, Capability.LOCAL_PATHS):
            return self.store.local_path(f"{TABLES}/{table}/*/data.parquet")
        return None
