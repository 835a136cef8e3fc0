"""Versions of feature values: every publication that changed a value is kept.

A feature table's rows are identified by a key (entity and event time); each row also carries
`known_at`, when it was published. Recomputing a partition appends a row only where a value
changed (a backfill, a late-arriving correction), so the old version stays readable and a rerun
that changes nothing adds nothing.

Known-at is monotonic per key: a changed value published at or before the key's newest known-at
(a rerun under a simulated clock, a skewed clock) is moved to just after it, so two different
values of one key never share a known-at and a point-in-time join is never ambiguous.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

_LATEST = "__versions_latest"
_LATEST_KNOWN = "__versions_latest_known_at"
TICK = timedelta(microseconds=1)  # the resolution of known_at


def stamp(df: pl.DataFrame, known_at: datetime, column: str = "known_at") -> pl.DataFrame:
    """`df` with every row published at `known_at`."""
    return df.with_columns(pl.lit(known_at).cast(pl.Datetime("us", "UTC")).alias(column))


def merge_versions(
    existing: pl.DataFrame | None, new: pl.DataFrame, *, key: list[str], known_at: str
) -> pl.DataFrame:
    """The existing versions, plus each row of `new` whose values differ from the newest
    existing version of its key (or whose key is new), its known_at at least one tick after that
    version's. Sorted by key, then known_at."""
    if existing is None or existing.is_empty():
        return new.sort([*key, known_at])
    values = [c for c in new.columns if c not in (*key, known_at)]
    latest = (
        existing.sort(known_at)
        .group_by(key, maintain_order=True)
        .last()
        .select(
            *key,
            *[pl.col(c).alias(f"{c}{_LATEST}") for c in values],
            pl.col(known_at).alias(_LATEST_KNOWN),
        )
    )
    first_time = new.join(latest.select(key), on=key, how="anti", nulls_equal=True)
    changed = (
        new.join(latest, on=key, how="inner", nulls_equal=True)
        .filter(pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}{_LATEST}")) for c in values]))
        .with_columns(
            pl.max_horizontal(pl.col(known_at), pl.col(_LATEST_KNOWN) + TICK)
            .cast(new.schema[known_at])
            .alias(known_at)
        )
        .select(new.columns)
    )
    return pl.concat(
        [existing.select(new.columns), first_time, changed], how="vertical_relaxed"
    ).sort([*key, known_at])


def as_known_at(
    df: pl.DataFrame, *, key: list[str], known_at: str, moment: datetime | None = None
) -> pl.DataFrame:
    """One version per key: the newest published at or before `moment` (None: the newest)."""
    usable = df if moment is None else df.filter(pl.col(known_at) <= moment)
    return usable.sort(known_at).group_by(key, maintain_order=True).last().sort(key)
