"""The point-in-time join: each left row gets the right-hand row that was usable at its time.

Bitemporal: a right row describes `right_time` (its event time) and, when `known_at` is given,
became available at `known_at` (when the pipeline published it; a recompute or backfill is a new
row with a later known_at). At a left row's time t a right row is usable when
    right_time <= t,  known_at <= t (if given),  right_time > t - ttl (if given).
Among the usable rows of the same `by` key the newest right_time wins, ties broken by the newest
known_at. Rows that share key, right_time and known_at (or key and right_time, without known_at)
are one value written twice when identical, and a ValueError when they differ: never decided by
row order, the bug of file-based feature stores.

Every left row comes back exactly once, in its order, with nulls where nothing is usable
(including null keys or times). Leakage (using a value from after the event being predicted, or
one published after it) is the classic silent bug of training sets; this is the one place that
prevents it.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

_ROW = "__pit_left_row"
_USABLE_FROM = "__pit_usable_from"
_RANK = "__pit_rank"
_BEST = "__pit_best"


def point_in_time_join(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    by: str,
    left_time: str,
    right_time: str,
    known_at: str | None = None,
    ttl: timedelta | None = None,
) -> pl.DataFrame:
    """`left` with the columns of the right row usable at each left row's `left_time` (see the
    module docstring); right's `by` column is not repeated."""
    values = [c for c in right.columns if c != by]
    versions = _versions(right, by, right_time, known_at)
    # A version becomes usable once both its event and its publication have happened. Walking
    # versions in that order, the best so far (newest right_time, then newest known_at) is the
    # answer for every t from that point on; an as-of join on "usable from" then finds it.
    time_type = versions.schema[right_time]
    usable_from = (
        pl.max_horizontal(pl.col(right_time), pl.col(known_at).cast(time_type))
        if known_at
        else pl.col(right_time)
    )
    probe = (
        versions.select(by, _RANK, usable_from.alias(_USABLE_FROM))
        .sort(by, _USABLE_FROM, _RANK)
        .with_columns(pl.col(_RANK).cum_max().over(by).alias(_BEST))
        # one row per (key, moment): the best once everything usable at that moment is in
        .group_by(by, _USABLE_FROM)
        .agg(pl.col(_BEST).max())
        .sort(_USABLE_FROM)
    )
    lhs = left.with_row_index(_ROW)
    keyed = lhs.filter(pl.col(by).is_not_null() & pl.col(left_time).is_not_null())
    found = (
        keyed.select(_ROW, by, left_time)
        .with_columns(pl.col(left_time).cast(time_type))
        .sort(left_time)
        .join_asof(
            probe,
            left_on=left_time,
            right_on=_USABLE_FROM,
            by=by,
            strategy="backward",
            check_sortedness=False,
        )
        .select(_ROW, _BEST, pl.col(left_time).alias("__pit_t"))
    )
    chosen = found.join(versions.select(_RANK, *values), left_on=_BEST, right_on=_RANK, how="left")
    if ttl is not None:
        expired = pl.col(right_time) <= pl.col("__pit_t") - ttl
        chosen = chosen.with_columns(
            [pl.when(expired).then(None).otherwise(pl.col(c)).alias(c) for c in values]
        )
    return lhs.join(
        chosen.select(_ROW, *values), on=_ROW, how="left", suffix="_right", maintain_order="left"
    ).drop(_ROW)


def _versions(right: pl.DataFrame, by: str, right_time: str, known_at: str | None) -> pl.DataFrame:
    """Right rows with a key and times (others are never usable), deduplicated, ranked by
    (by, right_time, known_at)."""
    identity = [by, right_time] + ([known_at] if known_at else [])
    rows = right.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in identity)).unique(
        maintain_order=False
    )
    clashes = rows.group_by(identity).len().filter(pl.col("len") > 1)
    if not clashes.is_empty():
        example = clashes.row(0, named=True)
        what = ", ".join(f"{c}={example[c]}" for c in identity)
        hint = "" if known_at else "; pass known_at to tell versions apart"
        raise ValueError(
            f"{len(clashes)} right-hand keys have rows with different values for the same "
            f"{' and '.join(identity)} (e.g. {what}): which one is meant is ambiguous{hint}"
        )
    return rows.sort(identity).with_row_index(_RANK)
