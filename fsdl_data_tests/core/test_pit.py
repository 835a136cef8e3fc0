"""The point-in-time join against a naive, obviously correct reference (DuckDB SQL that ranks
every candidate), on edge cases and on generated frames (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.features.pit import point_in_time_join

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TS = pl.Datetime("us", "UTC")


def at(hours: float | None) -> datetime | None:
    return None if hours is None else T0 + timedelta(hours=hours)


def reference(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    by: str,
    left_time: str,
    right_time: str,
    known_at: str | None = None,
    ttl: timedelta | None = None,
) -> pl.DataFrame:
    """Every usable candidate of every left row, ranked; the first rank kept."""
    values = [c for c in right.columns if c != by]
    conditions = [f'r."{by}" = l."{by}"', f'r."{right_time}" <= l."{left_time}"']
    if known_at:
        conditions.append(f'r."{known_at}" <= l."{left_time}"')
    if ttl is not None:
        seconds = int(ttl.total_seconds())
        conditions.append(f'r."{right_time}" > l."{left_time}" - INTERVAL \'{seconds} seconds\'')
    order = f'r."{right_time}" DESC' + (f', r."{known_at}" DESC' if known_at else "")
    con = duckdb.connect()
    con.register("l", left.with_row_index("__row").to_arrow())
    con.register("r", right.to_arrow())
    picked = ", ".join(f'r."{c}" AS "{c}"' for c in values)
    out = con.sql(
        f"""
        SELECT l.__row, {picked},
               row_number() OVER (PARTITION BY l.__row ORDER BY {order}) AS rank
        FROM l JOIN r ON {" AND ".join(conditions)}
        """
    ).pl()
    best = out.filter(pl.col("rank") == 1).drop("rank").cast({c: right.schema[c] for c in values})
    joined = (
        left.with_row_index("__row")
        .join(best, on="__row", how="left", suffix="_right")
        .sort("__row")
        .drop("__row")
    )
    return joined


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


@st.composite
def frames(draw):
    rows = draw(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 3)), hours,
                                   st.integers(0, 4), st.integers(0, 99)), max_size=25))  # fmt: skip
    right, seen = [], set()
    for user, event, delay, value in rows:
        known = None if event is None else event + delay
        identity = (user, event, known)
        if identity in seen:  # a repeated version repeats its value (conflicts: tested above)
            value = next(r[3] for r in right if (r[0], r[1], r[2]) == identity)
        seen.add(identity)
        right.append((user, event, known, value))
    left = draw(st.lists(st.tuples(st.one_of(st.none(), st.integers(1, 4)), hours), max_size=25))
    ttl = draw(st.one_of(st.none(), st.integers(0, 6).map(lambda h: timedelta(hours=h))))
    return labels(left), features(right), ttl, draw(st.booleans())


@settings(max_examples=300, deadline=None)
@given(frames())
def test_matches_the_reference_on_generated_frames(case) -> None:
    left, right, ttl, bitemporal = case
    if not bitemporal:
        right = right.drop("known_at").unique(["user", "as_of"], keep="first")
    ours, ref = both(left, right, known_at="known_at" if bitemporal else None, ttl=ttl)
    assert ours.equals(ref), (ours, ref)
    assert ours["label"].to_list() == left["label"].to_list()
