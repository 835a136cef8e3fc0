"""Data-quality rules as plain functions. Each returns an Outcome the wiring turns into a
Dagster asset-check result; the messages say what is wrong and where to look.

A rule named `..._over` reads a partition as batches (its Parquet row groups, in order), so a
large partition is checked in memory that grows with a row group, not with the day, and the
DataFrame rule of the same name is that rule over one batch: one implementation each."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

MAX_EXAMPLES = 5
Batches = Iterable[pl.DataFrame]  # a partition's rows, batch after batch


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
    return no_nulls_over([df], cols)


def no_nulls_over(batches: Batches, cols: Collection[str]) -> Outcome:
    counts = dict.fromkeys(cols, 0)
    for batch in batches:
        for c in cols:
            counts[c] += int(batch[c].null_count())
    bad = {c: n for c, n in counts.items() if n}
    return Outcome(
        not bad,
        "no nulls in keys" if not bad else f"nulls in key columns: {bad}",
        {"null_counts": counts},
    )


def unique(df: pl.DataFrame, cols: list[str]) -> Outcome:
    return unique_over(lambda: [df], cols)


def unique_over(read: Callable[[], Batches], cols: list[str]) -> Outcome:
    """Keys unique over the partition, in two readings: the first keeps only a 64-bit hash
    of each row's key (8 bytes a row), the second only the rows whose hash came twice, among
    which the duplicates are found exactly."""
    hashes = [batch.select(pl.struct(cols).hash()).to_series().to_numpy() for batch in read()]
    every = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    del hashes
    every.sort()  # in place: the day's hashes are held once
    rows = len(every)
    repeated = np.unique(every[1:][every[1:] == every[:-1]])
    del every
    dups = pl.DataFrame({c: [] for c in cols})
    if len(repeated):
        wanted = pl.Series(repeated).implode()
        candidates = pl.concat(
            batch.select(cols).filter(pl.struct(cols).hash().is_in(wanted)) for batch in read()
        )
        dups = candidates.group_by(cols).len().filter(pl.col("len") > 1)
    examples = dups.head(MAX_EXAMPLES).select(cols).to_dicts()
    ok = dups.is_empty()
    desc = (
        f"{cols} unique over {rows} rows"
        if ok
        else f"{len(dups)} duplicated {cols} values, e.g. {examples}"
    )
    return Outcome(ok, desc, {"duplicates": len(dups)})


def references(
    df: pl.DataFrame, col: str, parent: pl.DataFrame, parent_col: str, parent_name: str
) -> Outcome:
    return references_over([df], col, parent, parent_col, parent_name)


def references_over(
    batches: Batches, col: str, parent: pl.DataFrame, parent_col: str, parent_name: str
) -> Outcome:
    """Only each distinct key and its row count is kept between batches."""
    counts = [batch.group_by(col).len().drop_nulls(col) for batch in batches]
    keys = (
        pl.concat(counts).group_by(col).agg(pl.col("len").sum())
        if counts
        else pl.DataFrame(schema={col: parent.schema[parent_col], "len": pl.UInt32})
    )
    orphans = keys.join(parent.select(pl.col(parent_col).alias(col)).unique(), on=col, how="anti")
    rows = int(orphans["len"].sum())
    ok = orphans.is_empty()
    desc = (
        f"every {col} exists in {parent_name}"
        if ok
        else f"{rows} rows reference {len(orphans)} {col} values missing from {parent_name}, "
        f"e.g. {orphans.sort(col)[col].head(MAX_EXAMPLES).to_list()}"
    )
    return Outcome(ok, desc, {"orphan_rows": rows, "orphan_keys": len(orphans)})


def _no_bad_rows(bad: pl.DataFrame, holds: str, broken: str, counted: str) -> Outcome:
    """A rule that holds when no row is `bad`: `holds` says what held, `broken` what did not
    (how many, with examples); metadata `counted` is the number of bad rows."""
    return Outcome(bad.is_empty(), holds if bad.is_empty() else broken, {counted: len(bad)})


def _bad_over(batches: Batches, bad: pl.Expr, col: str) -> tuple[int, list[Any], pl.Series]:
    """(how many rows are `bad`, the first examples of their `col`, its distinct bad values)."""
    count, examples, values = 0, [], []
    for batch in batches:
        rows = batch.filter(bad)[col]
        count += len(rows)
        examples += rows.head(MAX_EXAMPLES - len(examples)).to_list()
        values.append(rows.unique(maintain_order=True))
    distinct = pl.concat(values).unique(maintain_order=True) if values else pl.Series(col, [])
    return count, examples, distinct


def in_range(df: pl.DataFrame, col: str, lo: Any, hi: Any) -> Outcome:
    return in_range_over([df], col, lo, hi)


def in_range_over(batches: Batches, col: str, lo: Any, hi: Any) -> Outcome:
    bad, examples, _ = _bad_over(batches, (pl.col(col) < lo) | (pl.col(col) >= hi), col)
    return Outcome(
        not bad,
        f"{col} within [{lo}, {hi})"
        if not bad
        else f"{bad} rows with {col} outside [{lo}, {hi}), e.g. {examples}",
        {"out_of_range": bad},
    )


def values_in(df: pl.DataFrame, col: str, allowed: Collection[Any]) -> Outcome:
    return values_in_over([df], col, allowed)


def values_in_over(batches: Batches, col: str, allowed: Collection[Any]) -> Outcome:
    unexpected = ~pl.col(col).is_in(list(allowed)) & pl.col(col).is_not_null()
    bad, _, values = _bad_over(batches, unexpected, col)
    return Outcome(
        not bad,
        f"{col} in {sorted(allowed)}"
        if not bad
        else f"{bad} rows with unexpected {col}: {values.head(MAX_EXAMPLES).to_list()}",
        {"unexpected": bad},
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
    return covers_until_over([df], col, deadline, what)


def covers_until_over(batches: Batches, col: str, deadline: Any, what: str) -> Outcome:
    """Freshness of a partition's content: its newest `col` reaches `deadline`. A source that
    stopped mid-day (a stuck log shipper, a lagging replica) fails here, though rows exist."""
    newest_of = [batch[col].max() for batch in batches if len(batch)]
    newest_of = [value for value in newest_of if value is not None]
    newest = max(newest_of) if newest_of else None
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
