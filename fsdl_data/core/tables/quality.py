"""Data-quality rules as plain functions. Each returns an Outcome the wiring turns into a
Dagster asset-check result; the messages say what is wrong and where to look."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Outcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    severe: bool = True  # False: a warning that must not block downstream assets


def schema_matches(df: pl.DataFrame, expected: Mapping[str, pl.DataType]) -> Outcome:
    actual = dict(df.schema)
    missing = [c for c in expected if c not in actual]
    extra = [c for c in actual if c not in expected]
    wrong = [
        f"{c}: {actual[c]} != {expected[c]}"
        for c in expected
        if c in actual and actual[c] != expected[c]
    ]
    ok = not (missing or extra or wrong)
    desc = (
        "schema matches"
        if ok
        else f"schema drift: missing={missing} extra={extra} wrong_types={wrong}"
    )
    return Outcome(ok, desc, {"columns": len(actual)})


def no_nulls(df: pl.DataFrame, cols: Collection[str]) -> Outcome:
    counts = {c: int(df[c].null_count()) for c in cols}
    bad = {c: n for c, n in counts.items() if n}
    return Outcome(
        not bad,
        "no nulls in keys" if not bad else f"nulls in key columns: {bad}",
        {"null_counts": counts},
    )


def unique(df: pl.DataFrame, cols: list[str]) -> Outcome:
    dups = df.group_by(cols).len().filter(pl.col("len") > 1)
    examples = dups.head(MAX_EXAMPLES).select(cols).to_dicts()
    ok = dups.is_empty()
    desc = (
        f"{cols} unique over {len(df)} rows"
        if ok
        else f"{len(dups)} duplicated {cols} values, e.g. {examples}"
    )
    return Outcome(ok, desc, {"duplicates": len(dups)})


def references(
    df: pl.DataFrame, col: str, parent: pl.DataFrame, parent_col: str, parent_name: str
) -> Outcome:
    keys = df.select(col).drop_nulls().unique()
    orphans = keys.join(parent.select(pl.col(parent_col).alias(col)).unique(), on=col, how="anti")
    rows = df.join(orphans, on=col, how="semi")
    ok = orphans.is_empty()
    desc = (
        f"every {col} exists in {parent_name}"
        if ok
        else f"{len(rows)} rows reference {len(orphans)} {col} values missing from {parent_name}, "
        f"e.g. {orphans[col].head(MAX_EXAMPLES).to_list()}"
    )
    return Outcome(ok, desc, {"orphan_rows": len(rows), "orphan_keys": len(orphans)})


def _no_bad_rows(bad: pl.DataFrame, holds: str, broken: str, counted: str) -> Outcome:
    """A rule that holds when no row is `bad`: `holds` says what held, `broken` what did not
    (how many, with examples); metadata `counted` is the number of bad rows."""
    return Outcome(bad.is_empty(), holds if bad.is_empty() else broken, {counted: len(bad)})


def in_range(df: pl.DataFrame, col: str, lo: Any, hi: Any) -> Outcome:
    bad = df.filter((pl.col(col) < lo) | (pl.col(col) >= hi))
    return _no_bad_rows(
        bad,
        f"{col} within [{lo}, {hi})",
        f"{len(bad)} rows with {col} outside [{lo}, {hi}), e.g. {bad[col].head(MAX_EXAMPLES).to_list()}",
        "out_of_range",
    )


def values_in(df: pl.DataFrame, col: str, allowed: Collection[Any]) -> Outcome:
    bad = df.filter(~pl.col(col).is_in(list(allowed)) & pl.col(col).is_not_null())
    return _no_bad_rows(
        bad,
        f"{col} in {sorted(allowed)}",
        f"{len(bad)} rows with unexpected {col}: {bad[col].unique().head(MAX_EXAMPLES).to_list()}",
        "unexpected",
    )


def share_below(bad: int, total: int, what: str, warn_above: float, fail_above: float) -> Outcome:
    """Some bad rows are normal in real sources: warn on any, fail (blocking) past a share."""
    share = bad / total if total else 0.0
    meta = {"bad": bad, "total": total, "share": round(share, 6)}
    if bad == 0 or share <= warn_above:
        return Outcome(True, f"{bad} of {total} {what}", meta)
    severe = share > fail_above
    return Outcome(
        False,
        f"{bad} of {total} {what} ({share:.2%}; fails above {fail_above:.0%})",
        meta,
        severe=severe,
    )


def not_empty(rows: int, what: str) -> Outcome:
    """A partition of `rows` rows holds some (the count read from the table's footer)."""
    return Outcome(rows > 0, f"{rows} rows" if rows else f"{what} is empty for this partition")


def covers_until(df: pl.DataFrame, col: str, deadline: Any, what: str) -> Outcome:
    """Freshness of a partition's content: its newest `col` reaches `deadline`. A source that
    stopped mid-day (a stuck log shipper, a lagging replica) fails here, though rows exist."""
    newest = df[col].max() if len(df) else None
    ok = newest is not None and newest >= deadline
    desc = (
        f"newest {what} at {newest}, not before {deadline}"
        if ok
        else f"stale: newest {what} at {newest}, expected data up to at least {deadline}"
    )
    return Outcome(ok, desc, {"newest": str(newest)}, severe=False)


def strictly_before(df: pl.DataFrame, col: str, limit_col: str) -> Outcome:
    """Every non-null `col` is earlier than `limit_col` on the same row."""
    bad = df.filter(pl.col(col) >= pl.col(limit_col))
    return _no_bad_rows(
        bad,
        f"every {col} < {limit_col}",
        f"{len(bad)} rows with {col} >= {limit_col}",
        "violations",
    )
