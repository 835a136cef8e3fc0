"""The point-in-time join: each left row gets the right-hand row that was usable at its time.

Bitemporal: a right row describes `right_time` (its event time) and, when `known_at` is given,
became available at `known_at` (when the pipeline published it; a recompute or backfill is a new
row with a later known_at). At a left row's time t a right row is usable when
    right_time <= t,  known_at <= t (if given),  right_time > t - ttl (if given).
Among the usable rows of the same `by` key the newest right_time wins, ties broken by the newest
known_at. Rows that share key, right_time and known_at (or key and right_time, without known_at)
are one value written twice when identical, and a ValueError when they differ: never decided by
row order, the bug of file-based feature stores.

`by` is one key column or several (a composite key: rows match when every key column is equal).
Key columns must have the same dtype on both sides, and times the same kind (datetimes with a
time zone, dates, or integers; datetime units and zones may differ: the left is cast to the
right's). Naive datetimes are refused: which zone they mean is a guess, and guessing differently
on the two sides is a silent leak; give them a zone (`.dt.replace_time_zone("UTC")`). With
integer times, `ttl` is an integer too. Each mismatch is a one-line ValueError naming columns.

Every left row comes back exactly once, in its order, with nulls where nothing is usable
(including null keys or times). Leakage (using a value from after the event being predicted, or
one published after it) is the classic silent bug of training sets; this is the one place that
prevents it.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

Key = str | list[str] | tuple[str, ...]

_ROW = "__pit_left_row"
_USABLE_FROM = "__pit_usable_from"
_RANK = "__pit_rank"
_BEST = "__pit_best"
_AT = "__pit_at"


def point_in_time_join(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    by: Key,
    left_time: str,
    right_time: str,
    known_at: str | None = None,
    ttl: timedelta | int | None = None,
) -> pl.DataFrame:
    """`left` with the columns of the right row usable at each left row's `left_time` (see the
    module docstring); right's `by` columns are not repeated."""
    keys = [by] if isinstance(by, str) else list(by)
    _check_types(left, right, keys, left_time, right_time, known_at, ttl)
    values = [c for c in right.columns if c not in keys]
    versions = _versions(right, keys, right_time, known_at)
    time_type = versions.schema[right_time]
    lhs = left.with_row_index(_ROW)
    keyed = lhs.select(_ROW, *keys, pl.col(left_time).cast(time_type).alias(_AT)).filter(
        pl.all_horizontal(pl.col(c).is_not_null() for c in [*keys, _AT])
    )
    if known_at:
        found = _usable_with_publication(keyed, versions, keys, right_time, known_at, values)
    else:  # usable from its event time: a plain as-of join finds the newest
        found = keyed.sort(_AT).join_asof(
            versions.sort(right_time), left_on=_AT, right_on=right_time, by=keys,
            strategy="backward", check_sortedness=False, suffix="_pit",
        )  # fmt: skip
        found = found.select(_ROW, _AT, *[_renamed(c, keyed) for c in values]).sort(_ROW)
    chosen = found.select(values)
    if ttl is not None:
        expired = found[right_time] <= found[_AT] - ttl
        chosen = chosen.select(
            pl.when(expired).then(None).otherwise(pl.col(c)).alias(c) for c in values
        )
    chosen = chosen.rename({c: f"{c}_right" for c in values if c in left.columns})
    if len(found) == len(lhs):  # no null keys or times: rows line up
        return left.hstack(chosen)
    placed = chosen.with_columns(found[_ROW])
    return lhs.join(placed, on=_ROW, how="left", maintain_order="left").drop(_ROW)


def _time_kind(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "naive datetime" if dtype.time_zone is None else "datetime"
    if dtype == pl.Date:
        return "date"
    if dtype.is_integer():
        return "integer"
    return str(dtype)


def _check_types(
    left: pl.DataFrame,
    right: pl.DataFrame,
    keys: list[str],
    left_time: str,
    right_time: str,
    known_at: str | None,
    ttl: timedelta | int | None,
) -> None:
    """One-line errors for what would otherwise be a raw polars error or a silent leak."""
    for side, frame, columns in (("left", left, [*keys, left_time]),
                                 ("right", right, [*keys, right_time, *([known_at] if known_at else [])])):  # fmt: skip
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"point_in_time_join: the {side} frame has no column {missing[0]!r}")
    for key in keys:
        if left.schema[key] != right.schema[key]:
            raise ValueError(
                f"point_in_time_join: key {key!r} is {left.schema[key]} on the left and "
                f"{right.schema[key]} on the right; cast one side so they match"
            )
    times = [
        ("left", left_time, left.schema[left_time]),
        ("right", right_time, right.schema[right_time]),
    ]
    if known_at:
        times.append(("right", known_at, right.schema[known_at]))
    for side, column, dtype in times:
        if _time_kind(dtype) == "naive datetime":
            raise ValueError(
                f"point_in_time_join: {side} column {column!r} holds naive datetimes; give them a "
                f'time zone (e.g. .dt.replace_time_zone("UTC")) so both sides mean the same instant'
            )
        if _time_kind(dtype) not in ("datetime", "date", "integer"):
            raise ValueError(f"point_in_time_join: {side} column {column!r} is {dtype}, not a time")
    kinds = {f"{side} {column!r}": _time_kind(dtype) for side, column, dtype in times}
    if len(set(kinds.values())) > 1:
        listed = ", ".join(f"{name} is {kind}" for name, kind in kinds.items())
        raise ValueError(f"point_in_time_join: times must be of one kind: {listed}")
    integer_times = _time_kind(right.schema[right_time]) == "integer"
    if ttl is not None and integer_times != isinstance(ttl, int):
        wanted = "an integer" if integer_times else "a timedelta"
        raise ValueError(
            f"point_in_time_join: ttl must be {wanted} for {kinds[f'right {right_time!r}']} times"
        )


def _renamed(column: str, keyed: pl.DataFrame) -> pl.Expr:
    """A value column after the as-of join (suffixed there if it clashed with a key column)."""
    return pl.col(f"{column}_pit" if column in keyed.columns else column).alias(column)


def _usable_with_publication(
    keyed: pl.DataFrame,
    versions: pl.DataFrame,
    by: list[str],
    right_time: str,
    known_at: str,
    values: list[str],
) -> pl.DataFrame:
    """A version becomes usable once both its event and its publication have happened. Walking
    versions in that order, the best so far (the highest rank in (by, right_time, known_at)
    order) is the answer for every t from there on. Ranks grow with `by`, so one running maximum
    over the whole frame never crosses into another key's ranks."""
    ranked = versions.sort(*by, right_time, known_at).with_row_index(_RANK)
    usable_from = pl.max_horizontal(
        pl.col(right_time), pl.col(known_at).cast(ranked.schema[right_time])
    )
    probe = (
        ranked.select(*by, usable_from.alias(_USABLE_FROM), _RANK)
        .sort(*by, _USABLE_FROM, _RANK)
        .select(*by, _USABLE_FROM, pl.col(_RANK).cum_max().alias(_BEST))
    )  # sorted within each key, as join_asof needs; it takes the last of equal times
    found = (
        keyed.sort(*by, _AT)
        .join_asof(
            probe,
            left_on=_AT,
            right_on=_USABLE_FROM,
            by=by,
            strategy="backward",
            check_sortedness=False,
        )
        .sort(_ROW)
    )
    return found.select(_ROW, _AT).hstack(ranked.select(pl.col(values).gather(found[_BEST])))


def _versions(
    right: pl.DataFrame, by: list[str], right_time: str, known_at: str | None
) -> pl.DataFrame:
    """Right rows with a key and times (others are never usable), one per identity."""
    identity = [*by, right_time] + ([known_at] if known_at else [])
    rows = right.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in identity))
    repeated = rows.select(identity).is_duplicated()
    if not repeated.any():
        return rows
    distinct = rows.filter(repeated).unique(maintain_order=True)
    clashes = distinct.filter(distinct.select(identity).is_duplicated())
    if not clashes.is_empty():
        example = clashes.sort(identity).row(0, named=True)
        what = ", ".join(f"{c}={example[c]}" for c in identity)
        hint = "" if known_at else "; pass known_at to tell versions apart"
        raise ValueError(
            f"{clashes.select(identity).n_unique()} right-hand keys have rows with different "
            f"values for the same {' and '.join(identity)} (e.g. {what}): which one is meant is "
            f"ambiguous{hint}"
        )
    return pl.concat([rows.filter(~repeated), distinct])
