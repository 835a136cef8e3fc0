"""Content hashes: the identity of data is what it contains."""

from __future__ import annotations

import hashlib

import polars as pl

from fsdl_data.core.storage.lake import to_parquet_bytes
from fsdl_data.core.versioning.digests import canonical_json, sha256

__all__ = ["canonical_json", "frame_digest", "parquet_and_digest", "sha256"]

FRAME_DIGEST_FORMAT = 2  # 1 hashed Arrow IPC bytes, which carry the chunk layout


def frame_digest(df: pl.DataFrame) -> str:
    """A digest of a table's schema and rows in order, whatever its chunking: each column is
    encoded canonically, column by column (a null marker per row, values with nulls zeroed,
    strings as lengths then bytes, lists as lengths then their elements, structs field by
    field), so neither Arrow's chunks, padding nor string-view buffers reach the hash."""
    digest = hashlib.sha256()
    header = {"format": FRAME_DIGEST_FORMAT, "rows": df.height,
              "schema": [[name, str(dtype)] for name, dtype in df.schema.items()]}  # fmt: skip
    digest.update(canonical_json(header))
    for column in df.get_columns():
        _encode(column.rechunk(), digest)
    return digest.hexdigest()


def _encode(series: pl.Series, digest: hashlib._Hash) -> None:
    """Feeds one column's canonical encoding to `digest`."""
    dtype = series.dtype
    digest.update(series.is_null().cast(pl.UInt8).to_numpy().tobytes())  # explicit null markers
    if dtype == pl.Null:
        return
    if isinstance(dtype, pl.Categorical | pl.Enum | pl.Decimal | pl.Object):
        series, dtype = series.cast(pl.String), pl.String()
    if isinstance(dtype, pl.Struct):
        valid = series.is_not_null()
        for name in (field.name for field in dtype.fields):
            inner = series.struct.field(name)
            _encode(pl.select(pl.when(valid).then(inner)).to_series(), digest)
        return
    if isinstance(dtype, pl.Array):
        series, dtype = series.cast(pl.List(dtype.inner)), pl.List(dtype.inner)
    if isinstance(dtype, pl.List):
        lengths = series.list.len().fill_null(0)
        digest.update(lengths.cast(pl.UInt64).to_numpy().tobytes())
        _encode(series.filter(lengths > 0).explode(), digest)  # exactly the elements, in order
        return
    if dtype in (pl.String, pl.Binary):
        values = series.fill_null("" if dtype == pl.String else b"")
        raw = values.cast(pl.Binary) if dtype == pl.String else values
        digest.update(raw.bin.size().cast(pl.UInt64).to_numpy().tobytes())
        digest.update(_value_bytes(raw))
        return
    physical = series.to_physical()
    if physical.dtype == pl.Boolean:
        physical = physical.cast(pl.UInt8)
    digest.update(physical.fill_null(0).to_numpy().tobytes())


def _value_bytes(values: pl.Series) -> bytes | memoryview:
    """A binary column's values (no nulls) back to back, from its Arrow buffers."""
    import pyarrow as pa

    array = values.to_arrow().cast(pa.large_binary())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    offsets = memoryview(array.buffers()[1]).cast("q")[array.offset : array.offset + len(array) + 1]
    data = array.buffers()[2]
    if data is None or len(offsets) == 0:
        return b""
    return memoryview(data)[offsets[0] : offsets[-1]]


def parquet_and_digest(df: pl.DataFrame) -> tuple[bytes, str]:
    data = to_parquet_bytes(df)
    return data, sha256(data)
