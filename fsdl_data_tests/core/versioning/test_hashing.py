"""Content hashes (core.versioning.hashing): a table's digest is its schema and rows in order,
whatever its chunking; the Parquet bytes' digest is their SHA-256."""

from __future__ import annotations

import hashlib
import itertools

import polars as pl
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


_ROW = st.fixed_dictionaries(
    {
        "id": st.none() | st.integers(-(2**40), 2**40),
        "label": st.none() | st.text(max_size=6),
        "flag": st.none() | st.booleans(),
        "score": st.none() | st.floats(allow_nan=False, width=64),
        "tags": st.none() | st.lists(st.none() | st.text(max_size=3), max_size=3),
        "box": st.none() | st.fixed_dictionaries({"w": st.none() | st.integers(0, 9),
                                                  "name": st.none() | st.text(max_size=3)}),
        "blob": st.none() | st.binary(max_size=5),
    }
)  # fmt: skip
_SCHEMA = {
    "id": pl.Int64, "label": pl.String, "flag": pl.Boolean, "score": pl.Float64,
    "tags": pl.List(pl.String), "box": pl.Struct({"w": pl.Int64, "name": pl.String}),
    "blob": pl.Binary,
}  # fmt: skip


def _chunked(rows: list[dict], cuts: list[int]) -> pl.DataFrame:
    """The rows as a frame built in pieces (each made on its own), left in those chunks."""
    bounds = sorted({0, len(rows), *(c % (len(rows) + 1) for c in cuts)})
    pieces = [
        pl.DataFrame(rows[a:b], schema=_SCHEMA, orient="row") for a, b in itertools.pairwise(bounds)
    ]
    return pl.concat(pieces, rechunk=False) if pieces else pl.DataFrame(schema=_SCHEMA)


@settings(max_examples=120, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=30), st.lists(st.integers(0, 60), max_size=6),
       st.lists(st.integers(0, 60), max_size=6))  # fmt: skip
def test_the_digest_of_any_rows_does_not_depend_on_how_they_are_chunked(
    rows: list[dict], cuts: list[int], other_cuts: list[int]
) -> None:
    one, two = _chunked(rows, cuts), _chunked(rows, other_cuts)
    assert one.equals(two)
    assert frame_digest(one) == frame_digest(two) == frame_digest(one.rechunk())


@settings(max_examples=80, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=20), st.data())
def test_a_changed_value_anywhere_changes_the_digest(rows: list[dict], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(rows) - 1))
    column = data.draw(st.sampled_from(sorted(_SCHEMA)))
    other = data.draw(_ROW)[column]
    changed = [dict(r) for r in rows]
    changed[index][column] = other
    before, after = _chunked(rows, []), _chunked(changed, [index])
    assert (frame_digest(before) == frame_digest(after)) == before.equals(after, null_equal=True)


def test_nulls_empty_values_and_boundaries_are_told_apart() -> None:
    def digest(values: list, dtype: pl.DataType) -> str:
        return frame_digest(pl.DataFrame({"v": values}, schema={"v": dtype}))

    assert digest([None], pl.String) != digest([""], pl.String)
    assert digest(["a", "b"], pl.String) != digest(["ab", ""], pl.String)
    assert digest([[1], [2]], pl.List(pl.Int64)) != digest([[1, 2], []], pl.List(pl.Int64))
    assert digest([None], pl.List(pl.Int64)) != digest([[]], pl.List(pl.Int64))
    assert digest([None], pl.Int64) != digest([0], pl.Int64)


def test_a_changed_value_type_or_name_changes_the_digest() -> None:
    base = _frame([(1, "cat"), (2, "dog")])
    assert frame_digest(base.with_columns(pl.lit("cow").alias("label"))) != frame_digest(base)
    assert frame_digest(base.cast({"id": pl.Int32})) != frame_digest(base)  # the schema counts
    assert frame_digest(base.rename({"label": "class"})) != frame_digest(base)


def test_the_parquet_digest_is_the_sha256_of_the_bytes_returned() -> None:
    data, digest = parquet_and_digest(_frame([(1, "cat")]))
    assert digest == hashlib.sha256(data).hexdigest()
    assert pl.read_parquet(data).equals(_frame([(1, "cat")]))
