"""The point-in-time join against a naive, obviously correct reference (DuckDB SQL that ranks
every candidate), on edge cases and on generated frames (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.features.pit import point_in_time_join
from fsdl_data.core.features.pit_reference import naive_point_in_time_join as reference

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TS = pl.Datetime("us", "UTC")


def at(hours: float | None) -> datetime | None:
    return None if hours is None else T0 + timedelta(hours=hours)


def features(rows: list[tuple]) -> pl.DataFrame:
    """(user, event hours, known hours, value) rows."""
    return pl.DataFrame(
        [{"user": u, "as_of": at(t), "known_at": at(k), "value": v} for u, t, k, v in rows],
        schema={"user": pl.Int64, "as_of": TS, "known_at": TS, "value": pl.Int64},
    )


def labels(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"user": u, "t": at(t), "label": i} for i, (u, t) in enumerate(rows)],
        schema={"user": pl.Int64, "t": TS, "label": pl.Int64},
    )


def both(left, right, **kwargs) -> tuple[pl.DataFrame, pl.DataFrame]:
    args = {"by": "user", "left_time": "t", "right_time": "as_of", **kwargs}
    return point_in_time_join(left, right, **args), reference(left, right, **args)


def test_bitemporal_rules_on_a_hand_made_case() -> None:
    right = features(
        [
            (1, 0, 1, 10),  # event at 0, published at 1
            (1, 5, 6, 50),
            (1, 5, 30, 51),  # a backfill of the 5 o'clock value, published much later
            (2, 8, 8, 80),
        ]
    )
    left = labels(
        [(1, 0.5), (1, 1), (1, 5.5), (1, 6), (1, 31), (2, 8), (3, 9), (None, 9), (1, None)]
    )
    ours, ref = both(left, right, known_at="known_at")
    assert ours["value"].to_list() == [None, 10, 10, 50, 51, 80, None, None, None]
    assert ours.equals(ref)
    # without knowledge times the backfill would leak into the past: the value at 5.5 is 51 ...
    clean = right.filter(pl.col("value") != 51).drop("known_at")
    assert both(left, clean)[0]["value"].to_list()[2] == 50
    # ... and the same rows in another order give the same answer
    assert point_in_time_join(left, right.reverse(), by="user", left_time="t", right_time="as_of",
                              known_at="known_at").equals(ours)  # fmt: skip


def test_ttl_returns_nulls_and_its_boundary_is_exclusive() -> None:
    right = features([(1, 0, 0, 10)])
    left = labels([(1, 0), (1, 23.999), (1, 24), (1, 25)])
    ours, ref = both(left, right, known_at="known_at", ttl=timedelta(hours=24))
    assert ours["value"].to_list() == [10, 10, None, None]  # at exactly t - ttl: expired
    assert ours.equals(ref) and len(ours) == len(left)  # never dropped


def test_ties_without_known_at_resolve_without_row_order() -> None:
    right = features([(1, 0, 0, 10), (1, 0, 0, 10)]).drop("known_at")  # the same row twice
    assert both(labels([(1, 1)]), right)[0]["value"].to_list() == [10]
    conflicting = features([(1, 0, 0, 10), (1, 0, 0, 11)]).drop("known_at")
    with pytest.raises(ValueError, match="pass known_at to tell versions apart"):
        point_in_time_join(
            labels([(1, 1)]), conflicting, by="user", left_time="t", right_time="as_of"
        )
    with pytest.raises(ValueError, match="ambiguous"):
        point_in_time_join(labels([(1, 1)]), features([(1, 0, 0, 10), (1, 0, 0, 11)]),
                           by="user", left_time="t", right_time="as_of", known_at="known_at")  # fmt: skip


def test_empty_frames() -> None:
    empty_right = features([])
    left = labels([(1, 1), (2, 2)])
    ours, ref = both(left, empty_right, known_at="known_at", ttl=timedelta(hours=1))
    assert ours["value"].null_count() == 2 and ours.equals(ref)
    ours, ref = both(labels([]), features([(1, 0, 0, 1)]), known_at="known_at")
    assert ours.is_empty() and ours.columns == ["user", "t", "label", "as_of", "known_at", "value"]


hours = st.one_of(st.none(), st.integers(0, 12))
KEY_TYPES = {"Int32": pl.Int32, "Int64": pl.Int64, "String": pl.String}


@st.composite
def frames(draw):
    """Random frames: one or two key columns of one dtype (Int32, Int64 or String), each side's
    times in its own unit and zone, null keys and times, repeated versions."""
    rows = draw(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 3)), st.integers(0, 1),
                                   hours, st.integers(0, 4), st.integers(0, 99)), max_size=25))  # fmt: skip
    right, seen = [], set()
    for user, region, event, delay, value in rows:
        known = None if event is None else event + delay
        identity = (user, region, event, known)
        if identity in seen:  # a repeated version repeats its value (conflicts: tested above)
            value = next(r[4] for r in right if (r[0], r[1], r[2], r[3]) == identity)
        seen.add(identity)
        right.append((user, region, event, known, value))
    left = draw(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 4)), st.integers(0, 1),
                                   hours), max_size=25))  # fmt: skip
    ttl = draw(st.one_of(st.none(), st.integers(0, 6).map(lambda h: timedelta(hours=h))))
    key_type = KEY_TYPES[draw(st.sampled_from(sorted(KEY_TYPES)))]
    two_keys = draw(st.booleans())
    units = [draw(st.sampled_from(["ms", "us", "ns"])) for _ in range(2)]
    zones = [draw(st.sampled_from(["UTC", "Asia/Kolkata"])) for _ in range(2)]
    key_columns = ["user", "region"] if two_keys else ["user"]
    left_frame = pl.DataFrame(
        [{"user": u, "region": g, "t": at(t), "label": i} for i, (u, g, t) in enumerate(left)],
        schema={"user": pl.Int64, "region": pl.Int64, "t": TS, "label": pl.Int64},
    )
    right_frame = pl.DataFrame(
        [{"user": u, "region": g, "as_of": at(t), "known_at": at(k), "value": v}
         for u, g, t, k, v in right],
        schema={"user": pl.Int64, "region": pl.Int64, "as_of": TS, "known_at": TS, "value": pl.Int64},
    )  # fmt: skip
    left_frame = left_frame.cast({c: key_type for c in key_columns}).with_columns(
        pl.col("t").dt.cast_time_unit(units[0]).dt.convert_time_zone(zones[0])
    )
    right_frame = right_frame.cast({c: key_type for c in key_columns}).with_columns(
        pl.col(c).dt.cast_time_unit(units[1]).dt.convert_time_zone(zones[1])
        for c in ("as_of", "known_at")
    )
    if not two_keys:
        left_frame, right_frame = left_frame.drop("region"), right_frame.drop("region")
    return left_frame, right_frame, key_columns, ttl, draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(frames())
def test_matches_the_reference_on_generated_frames(case) -> None:
    left, right, keys, ttl, bitemporal = case
    if not bitemporal:
        right = right.drop("known_at").unique([*keys, "as_of"], keep="first")
    ours, ref = both(left, right, by=keys, known_at="known_at" if bitemporal else None, ttl=ttl)
    assert ours.cast(ref.schema).equals(ref), (ours, ref)
    assert ours["label"].to_list() == left["label"].to_list()
    assert ours.schema[keys[0]] == left.schema[keys[0]]


def test_several_key_columns_on_a_hand_made_case() -> None:
    """Rows match on every key column: user 1 in region 0 never sees region 1's value."""
    right = pl.DataFrame(
        {"user": [1, 1], "region": ["eu", "us"], "as_of": [at(0), at(1)], "value": [10, 20]},
        schema_overrides={"as_of": TS},
    )
    left = pl.DataFrame({"user": [1, 1, 1], "region": ["eu", "us", "asia"], "t": [at(2)] * 3},
                        schema_overrides={"t": TS})  # fmt: skip
    got = point_in_time_join(left, right, by=["user", "region"], left_time="t", right_time="as_of")
    assert got["value"].to_list() == [10, 20, None]


def test_type_mismatches_are_one_line_errors_naming_the_columns() -> None:
    right = features([(1, 0, 0, 5)])
    left = labels([(1, 2)])
    with pytest.raises(ValueError, match=r"key 'user' is Int32 on the left and Int64 on the right"):
        point_in_time_join(left.cast({"user": pl.Int32}), right, by="user", left_time="t",
                           right_time="as_of")  # fmt: skip
    naive = left.with_columns(pl.col("t").dt.replace_time_zone(None))
    with pytest.raises(ValueError, match=r"left column 't' holds naive datetimes"):
        point_in_time_join(naive, right, by="user", left_time="t", right_time="as_of")
    with pytest.raises(ValueError, match=r"right column 'known_at' holds naive datetimes"):
        point_in_time_join(left, right.with_columns(pl.col("known_at").dt.replace_time_zone(None)),
                           by="user", left_time="t", right_time="as_of", known_at="known_at")  # fmt: skip
    integer = left.with_columns(pl.lit(5).alias("t"))
    with pytest.raises(ValueError, match=r"times must be of one kind: left 't' is integer"):
        point_in_time_join(integer, right, by="user", left_time="t", right_time="as_of")
    integers = right.with_columns(pl.lit(1).alias("as_of"), pl.lit(1).alias("known_at"))
    with pytest.raises(ValueError, match=r"ttl must be an integer for integer times"):
        point_in_time_join(integer, integers, by="user", left_time="t", right_time="as_of",
                           ttl=timedelta(hours=1))  # fmt: skip
    got = point_in_time_join(integer, integers, by="user", left_time="t", right_time="as_of",
                             known_at="known_at", ttl=10)  # fmt: skip
    assert got["value"].to_list() == [5]
    with pytest.raises(ValueError, match=r"the left frame has no column 'region'"):
        point_in_time_join(left, right, by=["user", "region"], left_time="t", right_time="as_of")
