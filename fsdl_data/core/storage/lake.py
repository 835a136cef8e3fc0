"""The lake: Parquet tables over an object store, one file per table partition.

Layout (Hive-style, so DuckDB and Polars read it directly):
    tables/<table>/date=<YYYY-MM-DD>/data.parquet     daily-partitioned tables
    tables/<table>/all/data.parquet                   unpartitioned tables
Each file is written with one atomic `put`, so a partition is either the old one or the new one.
A large partition is written row group by row group (`parquet_batches`) and read the same way
(`read_batches`), so no step needs all its rows in memory at once.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

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


def table_folder(table: str) -> str:
    """The prefix every key of a table's files starts with."""
    return f"{TABLES}/{table}/"


def table_key(table: str, partition: str | None) -> str:
    part = f"{DAY_FOLDER}{partition}" if partition else UNPARTITIONED
    return f"{table_folder(table)}{part}/data.parquet"


def to_parquet_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd", statistics=True)
    return buf.getvalue()


def _arrow_schema(schema: Mapping[str, pl.DataType]) -> pa.Schema:
    return pl.DataFrame(schema=schema).to_arrow().schema


def parquet_batches(
    frames: Iterable[pl.DataFrame], schema: Mapping[str, pl.DataType]
) -> tuple[bytes, int]:
    """`frames` (each of `schema`) as one Parquet file, each written as its own row groups as
    it comes, so only one frame's rows are held at a time beside the compressed file. Returns
    the file and its number of rows."""
    sink = pa.BufferOutputStream()
    arrow_schema = _arrow_schema(schema)
    rows = 0
    with pq.ParquetWriter(sink, arrow_schema, compression="zstd") as writer:
        for frame in frames:
            writer.write_table(frame.select(list(schema)).to_arrow().cast(arrow_schema))
            rows += len(frame)
    return sink.getvalue().to_pybytes(), rows


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

    def write_bytes(self, table: str, data: bytes, partition: str | None = None) -> str:
        """Publish one table partition already encoded (`parquet_batches`); returns its URI."""
        key = table_key(table, partition)
        self.store.put(key, data)
        return self.store.uri(key)

    def _parquet(self, table: str, partition: str | None) -> pq.ParquetFile:
        """The partition's file, opened for reading its footer and row groups one at a time (a
        local lake reads them from disk; another holds the compressed file)."""
        key = table_key(table, partition)
        try:
            if supports(self.store, Capability.LOCAL_PATHS):
                return pq.ParquetFile(self.store.local_path(key))
            return pq.ParquetFile(io.BytesIO(self.store.get(key)))
        except (ObjectNotFound, FileNotFoundError):
            where = f"partition {partition}" if partition else "(unpartitioned)"
            raise TableNotFound(
                f"table {table!r} {where} is not in the lake at {self.url}: materialize it first"
            ) from None

    def read_batches(
        self, table: str, partition: str | None = None, columns: list[str] | None = None
    ) -> Iterator[pl.DataFrame]:
        """The partition's rows (of `columns`, or all), one Parquet row group at a time, in
        order."""
        parquet = self._parquet(table, partition)
        for group in range(parquet.num_row_groups):
            yield pl.from_arrow(parquet.read_row_group(group, columns=columns))

    def schema(self, table: str, partition: str | None = None) -> pl.Schema:
        """The partition's columns and types, from the Parquet footer alone."""
        return pl.from_arrow(self._parquet(table, partition).schema_arrow.empty_table()).schema

    def row_count(self, table: str, partition: str | None = None) -> int:
        """The partition's number of rows, from the Parquet footer alone."""
        return self._parquet(table, partition).metadata.num_rows

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
        for listed in self.store.list(table_folder(table)):
            day = folder_day(listed.key.split("/")[2])
            if day:
                out.append(day)
        return sorted(out)

    def files(self, table: str) -> Iterator[Listed]:
        """Every file of a table as listed, with its partition (None when unpartitioned),
        without reading any."""
        for stat in self.store.list(table_folder(table)):
            folder = stat.key.split("/")[2]
            day = folder_day(folder)
            if day or folder == UNPARTITIONED:
                yield stat._replace(partition=day)

    def local_glob(self, table: str) -> str | None:
        """A glob over the table's files when the lake is a local folder (for DuckDB views)."""
        if supports(self.store, Capability.LOCAL_PATHS):
            return self.store.local_path(f"{table_folder(table)}*/data.parquet")
        return None
