"""Content hashes (core.versioning.hashing): a table's digest is its schema and rows in order,
whatever its chunking; the Parquet bytes' digest is their SHA-256."""

from __future__ import annotations

import hashlib

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.versioning.hashing import frame_digest, parquet_and_digest


def _frame(rows: list[tuple[int, str | None]]) -> pl.DataFrame:
    return pl.DataFrame({"id": [r[0] for r in rows], "label": [r[1] for r in rows]},
                        schema={"id": pl.Int64, "label": pl.String})  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), min_size=2, max_size=40), st.integers(1, 39))
def test_the_digest_of_numbers_is_the_rows_in_order_not_how_they_are_chunked(
    values: list[int], cut: int
) -> None:
    whole = pl.DataFrame({"id": values}, schema={"id": pl.Int64})
    cut = min(cut, len(values) - 1)
    chunked = pl.concat([whole[:cut].clone(), whole[cut:].clone()], rechunk=False)
    assert frame_digest(chunked) == frame_digest(whole)
    if values != values[::-1]:
        assert frame_digest(whole.reverse()) != frame_digest(whole)  # order counts


@pytest.mark.xfail(
    strict=True,
    reason="known bug, reported: the same rows built in two chunks "
    "digest differently when a column has nulls or strings (validity bitmaps and "
    "string view buffers reach the IPC bytes): frame_digest is not chunk-invariant",
)
def test_the_digest_of_rows_with_nulls_does_not_depend_on_their_chunking() -> None:
    part = _frame([(0, None)])
    together = pl.concat([part, part], rechunk=False)
    assert frame_digest(together) == frame_digest(_frame([(0, None), (0, None)]))


def test_a_changed_value_type_or_name_changes_the_digest() -> None:
    base = _frame([(1, "cat"), (2, "dog")])
    assert frame_digest(base.with_columns(pl.lit("cow").alias("label"))) != frame_digest(base)
    assert frame_digest(base.cast({"id": pl.Int32})) != frame_digest(base)  # the schema counts
    assert frame_digest(base.rename({"label": "class"})) != frame_digest(base)


def test_the_parquet_digest_is_the_sha256_of_the_bytes_returned() -> None:
    data, digest = parquet_and_digest(_frame([(1, "cat")]))
    assert digest == hashlib.sha256(data).hexdigest()
    assert pl.read_parquet(data).equals(_frame([(1, "cat")]))
