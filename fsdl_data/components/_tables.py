"""Tables by URL for components used outside this project: a Parquet file in any object store
(`file:///folder/table.parquet`, `s3://bucket/prefix/table.parquet`), written whole, then
published atomically by the store."""

from __future__ import annotations

import io
from collections.abc import Callable

import dagster as dg
import polars as pl
from pydantic import ConfigDict

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


class TableComponent(dg.Component, dg.Model, dg.Resolvable):
    """A component whose one asset writes one table to a Parquet file URL: the fields and the
    asset every such component shares; a subclass adds its own fields and says, in
    `build_defs`, how the table is made (`table_definitions`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    asset: str
    """The asset's name."""
    output: str
    """The Parquet file written, as a URL."""
    deps: list[str] = []
    """Assets to run before this one."""

    def table_definitions(
        self,
        kinds: set[str],
        description: str,
        make: Callable[[], pl.DataFrame],
        metadata: Callable[[pl.DataFrame], dict[str, object]] = lambda df: {},
    ) -> dg.Definitions:
        """The asset `asset`: runs after `deps`, writes `make()` to `output` with its rows,
        location, preview and `metadata(table)`."""

        @dg.asset(name=self.asset, deps=self.deps, kinds=kinds, description=description)
        def _table() -> dg.MaterializeResult:
            df = make()
            return written(self.output, df, **metadata(df))

        return dg.Definitions(assets=[_table])
