"""The lake over both object-store backends."""

from __future__ import annotations

import polars as pl
import pytest

from fsdl_data.core.explore import run_sql
from fsdl_data.core.storage.lake import Lake, TableNotFound
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


def test_sql_views_over_the_lake(object_store: ObjectStore) -> None:
    lake = Lake(object_store)
    lake.write("events", pl.DataFrame({"event_type": ["view", "like", "view"]}), "2026-01-01")
    lake.write("events", pl.DataFrame({"event_type": ["view"]}), "2026-01-02")
    out = run_sql(
        lake, "SELECT CAST(date AS VARCHAR) d, count(*) n FROM events GROUP BY 1 ORDER BY 1"
    )
    assert out.rows() == [("2026-01-01", 3), ("2026-01-02", 1)]
