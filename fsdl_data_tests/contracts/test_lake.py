"""The lake over both object-store backends."""

from __future__ import annotations

import polars as pl
import pytest

from fsdl_data.core.explore import run_sql
from fsdl_data.core.storage.lake import Lake, TableNotFound, parquet_batches
from fsdl_data.core.storage.objects import ObjectStore


def test_partitioned_roundtrip_and_listing(object_store: ObjectStore) -> None:
    lake = Lake(object_store)
    a = pl.DataFrame({"x": [1, 2], "s": ["a", None]})
    b = pl.DataFrame({"x": [3], "s": ["c"]})
    lake.write("t", a, "2026-01-01")
    lake.write("t", b, "2026-01-02")
    lake.write("u", a)
    assert lake.read("t", "2026-01-01").equals(a)
    assert lake.partitions("t") == ["2026-01-01", "2026-01-02"]
    assert lake.tables() == ["t", "u"]
    assert lake.read("u").equals(a)


def test_missing_partition_says_what_to_do(object_store: ObjectStore) -> None:
    with pytest.raises(TableNotFound, match="materialize it first"):
        Lake(object_store).read("nope", "2026-01-01")
    lake = Lake(object_store)
    for read in (lake.row_count, lake.read_batches, lake.schema):
        with pytest.raises(TableNotFound, match="materialize it first"):
            list(read("nope", "2026-01-01"))  # type: ignore[call-overload]


def test_a_partition_written_and_read_in_row_groups(object_store: ObjectStore) -> None:
    """Frames written one by one are the file's row groups, read back one by one, in order,
    with the schema's types (a frame's other columns and their order do not matter)."""
    lake = Lake(object_store)
    schema = {"x": pl.Int64, "s": pl.String, "b": pl.Binary}
    frames = [
        pl.DataFrame({"s": ["a", None], "x": [1, 2], "b": [b"\xff", b""], "extra": [0, 0]}),
        pl.DataFrame({"x": [3], "s": ["c"], "b": [b"z"]}),
        pl.DataFrame(schema=schema),
        pl.DataFrame({"x": [4, 5, 6], "s": ["d", "e", "f"], "b": [b"1", b"2", b"3"]}),
    ]
    data, rows = parquet_batches(iter(frames), schema)
    lake.write_bytes("t", data, "2026-01-01")
    assert rows == 6 and lake.row_count("t", "2026-01-01") == 6
    batches = [b for b in lake.read_batches("t", "2026-01-01") if len(b)]
    assert [len(b) for b in batches] == [2, 1, 3]
    whole = pl.concat([f.select(list(schema)) for f in frames])
    assert lake.read("t", "2026-01-01").equals(whole)
    assert dict(lake.read("t", "2026-01-01").schema) == schema
    empty_data, none = parquet_batches(iter([]), schema)
    lake.write_bytes("t", empty_data, "2026-01-02")
    assert none == 0 and lake.row_count("t", "2026-01-02") == 0
    assert dict(lake.read("t", "2026-01-02").schema) == schema
    # what the events checks read: the footer's schema, and one column group by group
    assert dict(lake.schema("t", "2026-01-01")) == dict(lake.schema("t", "2026-01-02")) == schema
    columns = [b for b in lake.read_batches("t", "2026-01-01", columns=["s"]) if len(b)]
    assert [b.columns for b in columns] == [["s"]] * 3
    assert pl.concat(columns)["s"].to_list() == whole["s"].to_list()


def test_sql_views_over_the_lake(object_store: ObjectStore) -> None:
    lake = Lake(object_store)
    lake.write("events", pl.DataFrame({"event_type": ["view", "like", "view"]}), "2026-01-01")
    lake.write("events", pl.DataFrame({"event_type": ["view"]}), "2026-01-02")
    out = run_sql(
        lake, "SELECT CAST(date AS VARCHAR) d, count(*) n FROM events GROUP BY 1 ORDER BY 1"
    )
    assert out.rows() == [("2026-01-01", 3), ("2026-01-02", 1)]
