"""Content hashes: the identity of data is what it contains."""

from __future__ import annotations

import io

import polars as pl

from fsdl_data.core.storage.lake import to_parquet_bytes
from fsdl_data.core.versioning.digests import canonical_json, sha256

__all__ = ["canonical_json", "frame_digest", "parquet_and_digest", "sha256"]


def frame_digest(df: pl.DataFrame) -> str:
    """A digest of a table's schema and rows in order: SHA-256 of its uncompressed Arrow IPC
    stream in one chunk (so how the rows happened to be chunked does not matter)."""
    buf = io.BytesIO()
    df.rechunk().write_ipc_stream(buf, compression="uncompressed")
    return sha256(buf.getvalue())


def parquet_and_digest(df: pl.DataFrame) -> tuple[bytes, str]:
    data = to_parquet_bytes(df)
    return data, sha256(data)
