"""Differences between two snapshots: rows for tables (by key, schema-aware), files for folders."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from fsdl_data.core.versioning.store import Manifest


@dataclass(frozen=True)
class FileDiff:
    added: list[str]
    removed: list[str]
    changed: list[str]


@dataclass(frozen=True)
class TableDiff:
    key: list[str]
    added_rows: int
    removed_rows: int
    changed_rows: int
    unchanged_rows: int
    added_columns: list[str]
    removed_columns: list[str]
    retyped_columns: dict[str, tuple[str, str]]  # column -> (old type, new type)
    changed_by_column: dict[str, int]  # rows whose value changed, per common column
    label_column: str | None = None
    label_flips: int = 0  # rows present in both whose label changed
    examples: dict[str, list] = field(default_factory=dict)  # a few keys of each kind


def diff_files(old: Manifest, new: Manifest) -> FileDiff:
    a = {f.path: f.sha256 for f in old.files}
    b = {f.path: f.sha256 for f in new.files}
    return FileDiff(
        added=sorted(set(b) - set(a)),
        removed=sorted(set(a) - set(b)),
        changed=sorted(p for p in set(a) & set(b) if a[p] != b[p]),
    )


def diff_tables(
    old: pl.DataFrame, new: pl.DataFrame, key: list[str], label_column: str | None = None
) -> TableDiff:
    """Row-level: which keys were added, removed or changed, which columns changed how often,
    and how many labels flipped. Rows are compared on the columns both tables have."""
    missing = [k for k in key if k not in old.columns or k not in new.columns]
    if missing:
        raise ValueError(f"both snapshots need the key columns {key}; missing {missing}")
    common = [c for c in old.columns if c in new.columns and c not in key]
    old_keys = old.select(key).unique()
    new_keys = new.select(key).unique()
    added = new_keys.join(old_keys, on=key, how="anti", nulls_equal=True)
    removed = old_keys.join(new_keys, on=key, how="anti", nulls_equal=True)
    both = old.select(*key, *common).join(
        new.select(*key, *common), on=key, how="inner", suffix="__new", nulls_equal=True
    )
    differs = {c: pl.col(c).ne_missing(pl.col(f"{c}__new")) for c in common}
    counts = both.select([e.sum().alias(c) for c, e in differs.items()]) if common else None
    changed = both.filter(pl.any_horizontal(list(differs.values()))) if common else both.head(0)
    flips = 0
    if label_column and label_column in common:
        flips = int(both.select(differs[label_column].sum()).item())
    old_types, new_types = dict(old.schema), dict(new.schema)
    return TableDiff(
        key=list(key),
        added_rows=len(added),
        removed_rows=len(removed),
        changed_rows=len(changed),
        unchanged_rows=len(both) - len(changed),
        added_columns=[c for c in new.columns if c not in old.columns],
        removed_columns=[c for c in old.columns if c not in new.columns],
        retyped_columns={
            c: (str(old_types[c]), str(new_types[c]))
            for c in old.columns
            if c in new_types and old_types[c] != new_types[c]
        },
        changed_by_column={
            c: int(counts[c][0]) for c in common if counts is not None and counts[c][0]
        },
        label_column=label_column if label_column in common else None,
        label_flips=flips,
        examples={
            "added": added.head(5).rows(),
            "removed": removed.head(5).rows(),
            "changed": changed.select(key).head(5).rows(),
        },
    )
