"""Tables by URL for components used outside this project: a Parquet file in any object store
(`file:///folder/table.parquet`, `s3://bucket/prefix/table.parquet`), written whole, then
published atomically by the store."""

from __future__ import annotations

import io

import dagster as dg
import polars as pl

from fsdl_data.core.storage.lake import to_parquet_bytes
from fsdl_data.core.storage.objects import ObjectStore, open_object_store
from fsdl_data.core.tables.preview import markdown_preview


def split(url: str) -> tuple[ObjectStore, str]:
    """(the store holding the file, the file's key in it)."""
    folder, _, name = url.rstrip("/").rpartition("/")
    if not name:
        raise ValueError(f"{url!r} names no file: give a URL ending in /<name>.parquet")
    return open_object_store(folder), name


def read_table(url: str) -> pl.DataFrame:
    store, key = split(url)
    return pl.read_parquet(io.BytesIO(store.get(key)))


def write_table(url: str, df: pl.DataFrame) -> str:
    store, key = split(url)
    store.put(key, to_parquet_bytes(df))  # the lake's writer: zstd, statistics, one atomic put
    return store.uri(key)


def written(url: str, df: pl.DataFrame, **metadata: object) -> dg.MaterializeResult:
    """Write `df` to `url` and describe it for the asset's page: rows, where, a preview."""
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(df),
            "uri": dg.MetadataValue.path(write_table(url, df)),
            "preview": dg.MetadataValue.md(markdown_preview(df)),
            **metadata,
        }
    )
