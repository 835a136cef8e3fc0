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


INTERNAL_COLUMNS = ("snapshot_part",)  # added when a snapshot is loaded: never a change
COERCION = (
    "a retyped column is compared numerically (as Float64) when both types are numeric, "
    "otherwise as text (each value cast to String); nulls equal nulls"
)


def check_comparable(old: Manifest, new: Manifest) -> None:
    """Refuses to diff snapshots of different tables (or a table with a folder)."""
    if old.kind != new.kind or (old.kind == "table" and old.source != new.source):
        raise ValueError(
            f"cannot diff a snapshot of {old.kind} {old.source!r} with one of {new.kind} "
            f"{new.source!r}: diff two snapshots of the same table"
        )


def _comparable(
    column: str, old_type: pl.DataType, new_type: pl.DataType
) -> tuple[pl.Expr, pl.Expr]:
    """Both sides of a column as one type, by COERCION."""
    if old_type == new_type:
        return pl.col(column), pl.col(column)
    if old_type.is_numeric() and new_type.is_numeric():
        target: pl.DataType = pl.Float64()
    else:
        target = pl.String()

    def cast(dtype: pl.DataType) -> pl.Expr:
        if target == pl.String() and isinstance(dtype, pl.List | pl.Array | pl.Struct):
            return pl.col(column).map_elements(str, return_dtype=pl.String)  # nested: its repr
        return pl.col(column).cast(target, strict=False)

    return cast(old_type), cast(new_type)


def _unique(frame: pl.DataFrame, key: list[str]) -> bool:
    """Whether no two rows share a key (a strictly increasing numeric key is known at a glance)."""
    if len(key) == 1 and frame[key[0]].dtype.is_numeric() and frame[key[0]].null_count() == 0:
        steps = frame[key[0]].diff().drop_nulls()
        if len(steps) == 0 or steps.min() > 0:  # type: ignore[operator]
            return True
    return not frame.select(pl.struct(key).is_duplicated().any()).item()


def _aligned(old: pl.DataFrame, new: pl.DataFrame, key: list[str]) -> pl.Series | None:
    """Rows at the same position in both tables with the same key (two snapshots of a table
    usually keep its order): with unique keys they are each other's match, found without a
    join. None when too few line up to be worth it, or a key repeats."""
    n = min(len(old), len(new))
    if n == 0:
        return None
    same = pl.select(
        pl.all_horizontal([old[k].head(n).eq_missing(new[k].head(n)) for k in key])
    ).to_series()
    if same.sum() < n // 2 or not (_unique(old, key) and _unique(new, key)):
        return None
    return same


def _joined(
    old: pl.DataFrame, new: pl.DataFrame, key: list[str], common: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(added keys, removed keys, rows matched by key whose common columns may differ: both
    sides, the new one suffixed `__new`), by one full join of (key, row hash) pairs: what it
    leaves after dropping matched rows with equal hashes is small, and only that is looked at
    again."""
    digest = (pl.struct(common).hash(seed=7) if common else pl.lit(0, pl.UInt64)).alias("__row")
    sides_joined = (
        old.lazy()
        .select(*key, digest)
        .join(
            new.lazy().select(*key, digest),
            on=key,
            how="full",
            nulls_equal=True,
            suffix="__new",
            coalesce=True,
        )
        .filter(pl.col("__row").ne_missing(pl.col("__row__new")))  # a hash is never null
        .collect()
    )
    added = sides_joined.filter(pl.col("__row").is_null()).select(key)
    removed = sides_joined.filter(pl.col("__row__new").is_null()).select(key)
    suspect = sides_joined.filter(
        pl.col("__row").is_not_null() & pl.col("__row__new").is_not_null()
    ).select(key)
    candidates = (
        old.join(suspect, on=key, how="semi", nulls_equal=True)
        .select(*key, *common)
        .join(new.select(*key, *common), on=key, how="inner", suffix="__new", nulls_equal=True)
    )
    return added, removed, candidates


def diff_tables(
    old: pl.DataFrame, new: pl.DataFrame, key: list[str], label_column: str | None = None
) -> TableDiff:
    """Row-level: which keys were added, removed or changed, which columns changed how often,
    and how many labels flipped. Schema first: added, removed and retyped columns; rows are
    then compared on the columns both tables have, retyped ones by COERCION. Internal columns
    (INTERNAL_COLUMNS) are never reported. With unique keys, rows that sit at the same position
    with the same key in both tables are compared in place, column by column (no join); the
    others are matched by key and compared by a hash of their common columns first, so only the
    few rows that differ are compared column by column."""
    old = old.drop([c for c in INTERNAL_COLUMNS if c in old.columns])
    new = new.drop([c for c in INTERNAL_COLUMNS if c in new.columns])
    missing = [k for k in key if k not in old.columns or k not in new.columns]
    if missing:
        raise ValueError(f"both snapshots need the key columns {key}; missing {missing}")
    old_types, new_types = dict(old.schema), dict(new.schema)
    shared = [c for c in old.columns if c in new_types]
    sides = {c: _comparable(c, old_types[c], new_types[c]) for c in shared}
    old = old.select([sides[c][0].alias(c) for c in shared])
    new = new.select([sides[c][1].alias(c) for c in shared])
    common = [c for c in shared if c not in key]
    aligned = _aligned(old, new, key)
    counts = dict.fromkeys(common, 0)
    changed_keys: list[pl.DataFrame] = []
    in_place = 0
    if aligned is not None:
        n = len(aligned)
        flags = pl.DataFrame(
            {c: old[c].head(n).ne_missing(new[c].head(n)) & aligned for c in common}
        )
        for c in common:
            counts[c] += int(flags[c].sum())
        if common:
            changed_keys.append(old.head(n).select(key).filter(pl.any_horizontal(flags)))
        in_place = int(aligned.sum())
        old = pl.concat([old.head(n).filter(~aligned), old.slice(n)])
        new = pl.concat([new.head(n).filter(~aligned), new.slice(n)])
    added, removed, candidates = _joined(old, new, key, common)
    differs = {c: pl.col(c).ne_missing(pl.col(f"{c}__new")) for c in common}
    if common:
        joined_counts = candidates.select([e.sum().alias(c) for c, e in differs.items()])
        for c in common:
            counts[c] += int(joined_counts[c][0])
        changed_keys.append(
            candidates.filter(pl.any_horizontal(list(differs.values()))).select(key)
        )
    changed = pl.concat(changed_keys) if changed_keys else old.select(key).head(0)
    matched = in_place + len(old) - len(removed)
    flips = counts[label_column] if label_column and label_column in common else 0
    return TableDiff(
        key=list(key),
        added_rows=len(added),
        removed_rows=len(removed),
        changed_rows=len(changed),
        unchanged_rows=matched - len(changed),
        added_columns=[c for c in new_types if c not in old_types],
        removed_columns=[c for c in old_types if c not in new_types],
        retyped_columns={
            c: (str(old_types[c]), str(new_types[c]))
            for c in shared
            if old_types[c] != new_types[c]
        },
        changed_by_column={c: n for c, n in counts.items() if n},
        label_column=label_column if label_column in common else None,
        label_flips=flips,
        examples={
            "added": added.sort(key).head(5).rows(),
            "removed": removed.sort(key).head(5).rows(),
            "changed": changed.sort(key).head(5).rows(),
        },
    )
