"""The point-in-time join the naive, obviously correct way: DuckDB SQL that ranks every usable
candidate of every left row and keeps the first. The tests check `pit.point_in_time_join`
against it on edge cases and generated frames; `bench/pit_join.py` measures both."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import polars as pl

TS = pl.Datetime("us", "UTC")


def naive_point_in_time_join(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    by: str | list[str],
    left_time: str,
    right_time: str,
    known_at: str | None = None,
    ttl: timedelta | None = None,
) -> pl.DataFrame:
    """Every usable candidate of every left row, ranked; the first rank kept."""
    keys = [by] if isinstance(by, str) else by
    values = [c for c in right.columns if c not in keys]
    conditions = [f'r."{k}" = l."{k}"' for k in keys] + [f'r."{right_time}" <= l."{left_time}"']
    if known_at:
        conditions.append(f'r."{known_at}" <= l."{left_time}"')
    if ttl is not None:
        seconds = int(ttl.total_seconds())
        conditions.append(f'r."{right_time}" > l."{left_time}" - INTERVAL \'{seconds} seconds\'')
    order = f'r."{right_time}" DESC' + (f', r."{known_at}" DESC' if known_at else "")
    con = duckdb.connect()
    utc = {c: TS for c in (left_time,) if isinstance(left.schema[c], pl.Datetime)}
    right_utc = {
        c: TS for c in (right_time, known_at) if c and isinstance(right.schema[c], pl.Datetime)
    }
    con.register("l", left.cast(utc).with_row_index("__row").to_arrow())  # type: ignore[arg-type]
    con.register("r", right.cast(right_utc).to_arrow())  # type: ignore[arg-type]
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
