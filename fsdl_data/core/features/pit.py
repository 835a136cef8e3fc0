"""The point-in-time join: for each row on the left, the newest right-hand row known at its time.

"Known at t" means right_time <= t. Leakage (using a feature computed after the event being
predicted) is the classic silent bug of training sets; this is the one place that prevents it.
"""

from __future__ import annotations

import polars as pl


def point_in_time_join(
    left: pl.DataFrame, right: pl.DataFrame, *, by: str, left_time: str, right_time: str
) -> pl.DataFrame:
    """Left rows (all kept, order preserved) with the newest right row per `by` where
    right_time <= left_time; nulls where none exists. Ties on right_time: the last row wins."""
    idx = "__pit_row"
    lhs = left.with_row_index(idx).sort(left_time)
    rhs = right.unique([by, right_time], keep="last", maintain_order=True).sort(right_time)
    joined = lhs.join_asof(
        rhs,
        left_on=left_time,
        right_on=right_time,
        by=by,
        strategy="backward",
        check_sortedness=False,
    )
    return joined.sort(idx).drop(idx)
