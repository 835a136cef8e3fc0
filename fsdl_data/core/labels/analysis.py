"""How each labeling function behaves, day by day, and whether it has drifted.

Per function and day: coverage (share of photos it votes on), overlap (share where it and at
least one other function vote), conflict (share where another function votes differently),
and its accuracy against gold and against the human consensus, with the counts behind them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fsdl_data.core.labels.functions import LabelingFunction, vote_matrix
from fsdl_data.core.labels.label_model import ABSTAIN

LF_ANALYSIS = {
    "labeling_function": pl.String,
    "votes_for": pl.String,
    "owner": pl.String,
    "photos": pl.Int64,
    "votes": pl.Int64,
    "coverage": pl.Float64,
    "overlap": pl.Float64,
    "conflict": pl.Float64,
    "gold_n": pl.Int64,
    "gold_accuracy": pl.Float64,
    "human_n": pl.Int64,
    "human_accuracy": pl.Float64,
    "trailing_days": pl.Int64,
    "photos_trailing": pl.Int64,
    "coverage_trailing_mean": pl.Float64,
    "human_n_trailing": pl.Int64,
    "human_accuracy_trailing_mean": pl.Float64,
}
MIN_ACCURACY_COUNT = 10  # fewer comparisons than this: the accuracy is too noisy to judge drift
SIGNIFICANCE = 3.0  # a change must also exceed this many standard errors to count as drift


def day_statistics(
    matrix: pl.DataFrame,
    consensus: pl.DataFrame,
    functions: list[LabelingFunction],
    classes: tuple[str, ...],
) -> pl.DataFrame:
    """One row per function for one day's label matrix and that day's consensus."""
    names = [lf.name for lf in functions]
    votes = vote_matrix(matrix, names)
    voted, overlapping, conflicting = _overlaps_and_conflicts(votes)
    n = len(matrix)
    references = matrix.select("photo_id").join(
        consensus.select("photo_id", "label", "gold_label", pl.col("annotators").list.len().alias("a")),
        on="photo_id", how="left", maintain_order="left",
    )  # fmt: skip
    index = {c: i for i, c in enumerate(classes)}
    gold = np.array([index.get(x, -2) if x else -2 for x in references["gold_label"].to_list()])
    human_ok = references["a"].fill_null(0).to_numpy() > 0
    human = np.array(
        [index[x] if x and ok else -2 for x, ok in zip(references["label"].to_list(), human_ok, strict=True)]
    )  # fmt: skip
    rows = []
    for j, lf in enumerate(functions):
        mine = voted[:, j]
        on_gold = mine & (gold >= 0)
        on_human = mine & (human >= 0)
        rows.append(
            {
                "labeling_function": lf.name,
                "votes_for": lf.votes_for or "any",
                "owner": lf.owner,
                "photos": n,
                "votes": int(mine.sum()),
                "coverage": _share(mine.sum(), n),
                "overlap": _share(overlapping[:, j].sum(), n),
                "conflict": _share(conflicting[:, j].sum(), n),
                "gold_n": int(on_gold.sum()),
                "gold_accuracy": _ratio((votes[on_gold, j] == gold[on_gold]).sum(), on_gold.sum()),
                "human_n": int(on_human.sum()),
                "human_accuracy": _ratio(
                    (votes[on_human, j] == human[on_human]).sum(), on_human.sum()
                ),
            }
        )
    return pl.DataFrame(rows, schema={c: LF_ANALYSIS[c] for c in rows[0]} if rows else None)


def _overlaps_and_conflicts(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, m) masks: function j votes; it votes and another does too; it votes and another
    votes differently (Snorkel's LFAnalysis definitions)."""
    voted = votes != ABSTAIN
    others = voted.sum(axis=1, keepdims=True) - voted
    conflicting = np.zeros_like(voted)
    for j in range(votes.shape[1]):
        differ = voted & (votes != votes[:, [j]])
        differ[:, j] = False
        conflicting[:, j] = voted[:, j] & differ.any(axis=1)
    return voted, voted & (others > 0), conflicting


def lf_summary(
    L: np.ndarray, Y: np.ndarray | None = None, names: list[str] | None = None
) -> pl.DataFrame:
    """Snorkel's `LFAnalysis(L).lf_summary(Y)` on a plain (n, m) vote matrix (-1 = abstain):
    per function its polarity (the classes it ever votes), coverage, overlaps and conflicts
    (shares of all rows), and with gold `Y` (rows where Y is -1 are not counted) the number of
    correct and incorrect votes and the empirical accuracy."""
    L = np.asarray(L)
    if L.ndim != 2:
        raise ValueError(f"L must be a 2-D (items x labeling functions) array, got shape {L.shape}")
    n, m = L.shape
    names = names or [str(j) for j in range(m)]
    if len(names) != m:
        raise ValueError(f"{len(names)} names for {m} labeling functions")
    voted, overlapping, conflicting = _overlaps_and_conflicts(L)
    table: dict[str, list] = {
        "labeling_function": names,
        "j": list(range(m)),
        "polarity": [sorted(int(v) for v in np.unique(L[:, j][voted[:, j]])) for j in range(m)],
        "coverage": [_share(voted[:, j].sum(), n) for j in range(m)],
        "overlaps": [_share(overlapping[:, j].sum(), n) for j in range(m)],
        "conflicts": [_share(conflicting[:, j].sum(), n) for j in range(m)],
    }
    if Y is not None:
        Y = np.asarray(Y).ravel()
        if len(Y) != n:
            raise ValueError(f"Y has {len(Y)} labels for {n} rows of L")
        known = voted & (Y != ABSTAIN)[:, None]
        correct = (known & (Y[:, None] == L)).sum(axis=0)
        incorrect = (known & (Y[:, None] != L)).sum(axis=0)
        table["correct"] = correct.tolist()
        table["incorrect"] = incorrect.tolist()
        table["empirical_accuracy"] = [
            _ratio(c, c + i) for c, i in zip(correct.tolist(), incorrect.tolist(), strict=True)
        ]
    schema = {"labeling_function": pl.String, "j": pl.Int64, "polarity": pl.List(pl.Int64),
              "coverage": pl.Float64, "overlaps": pl.Float64, "conflicts": pl.Float64,
              "correct": pl.Int64, "incorrect": pl.Int64, "empirical_accuracy": pl.Float64}  # fmt: skip
    return pl.DataFrame(table, schema={c: schema[c] for c in table})


def _share(count: int, total: int) -> float:
    return float(count) / total if total else 0.0


def _ratio(count: int, total: int) -> float | None:
    return float(count) / total if total else None


def lf_analysis(
    matrices: pl.DataFrame,
    consensus: pl.DataFrame,
    day: object,
    functions: list[LabelingFunction],
    classes: tuple[str, ...],
    day_column: str = "day",
) -> pl.DataFrame:
    """Statistics of `day`, with the mean of the days before it in `matrices` (a trailing
    window, rows tagged with their day in `day_column`) on which each function voted at all
    (and, for functions that read the classifier, used the same classifier version), beside them
    for drift checks."""
    by_day, classifier_of_day = {}, {}
    for (d,), group in matrices.group_by([day_column]):
        by_day[d] = day_statistics(
            group, consensus.filter(pl.col(day_column) == d), functions, classes
        )
        versions = (
            group["classifier_version"].drop_nulls()
            if "classifier_version" in group.columns
            else []
        )
        classifier_of_day[d] = versions[0] if len(versions) else None
    if day not in by_day:
        empty = pl.DataFrame(schema={c: t for c, t in LF_ANALYSIS.items()})
        return empty
    today = by_day[day]
    # a function that reads the classifier is another function once the classifier changed:
    # its baseline is the earlier days that used today's classifier
    reads = [lf.name for lf in functions if lf.reads_classifier]
    earlier = [
        s
        if classifier_of_day[d] == classifier_of_day[day]
        else s.filter(~pl.col("labeling_function").is_in(reads))
        for d, s in by_day.items()
        if d < day
    ]
    if earlier:
        # a function's baseline is the days it voted on: before it existed (or before the
        # classifier it reads was trained) it has none, and its first votes are not drift
        history = (
            pl.concat(earlier)
            .filter(pl.col("votes") > 0)
            .group_by("labeling_function")
            .agg(
                pl.len().alias("trailing_days"),
                pl.col("photos").sum().alias("photos_trailing"),
                pl.col("coverage").mean().alias("coverage_trailing_mean"),
                pl.col("human_n").sum().alias("human_n_trailing"),
                # pooled over the days: each comparison counts once, whatever its day
                (
                    (pl.col("human_accuracy").fill_null(0) * pl.col("human_n")).sum()
                    / pl.col("human_n").sum()
                ).alias("human_accuracy_trailing_mean"),
            )
        )
    else:
        history = pl.DataFrame(
            {"labeling_function": [lf.name for lf in functions]},
        ).with_columns(
            pl.lit(0, dtype=pl.Int64).alias("trailing_days"),
            pl.lit(0, dtype=pl.Int64).alias("photos_trailing"),
            pl.lit(None, dtype=pl.Float64).alias("coverage_trailing_mean"),
            pl.lit(0, dtype=pl.Int64).alias("human_n_trailing"),
            pl.lit(None, dtype=pl.Float64).alias("human_accuracy_trailing_mean"),
        )
    return (
        today.join(history, on="labeling_function", how="left", maintain_order="left")
        .with_columns(pl.col("trailing_days", "photos_trailing", "human_n_trailing").fill_null(0))
        .select(list(LF_ANALYSIS))
        .cast(LF_ANALYSIS)
    )


@dataclass(frozen=True)
class Drift:
    labeling_function: str
    what: str  # "coverage" or "human accuracy"
    today: float
    trailing_mean: float


def drifted(
    analysis: pl.DataFrame, *, coverage_change: float, accuracy_change: float
) -> list[Drift]:
    """Functions whose coverage or accuracy against the human consensus moved more than allowed
    from their trailing mean, and by more than SIGNIFICANCE standard errors of the two shares
    (so a day of 12 comparisons does not cry wolf). Accuracy needs MIN_ACCURACY_COUNT
    comparisons on the day."""
    out = []
    for row in analysis.iter_rows(named=True):
        mean = row["coverage_trailing_mean"]
        if mean is not None and _significant(
            row["coverage"], row["photos"], mean, row["photos_trailing"], coverage_change
        ):
            out.append(Drift(row["labeling_function"], "coverage", row["coverage"], mean))
        mean = row["human_accuracy_trailing_mean"]
        accuracy = row["human_accuracy"]
        if (
            mean is not None
            and accuracy is not None
            and row["human_n"] >= MIN_ACCURACY_COUNT
            and _significant(
                accuracy, row["human_n"], mean, row["human_n_trailing"], accuracy_change
            )
        ):
            out.append(Drift(row["labeling_function"], "human accuracy", accuracy, mean))
    return out


def _significant(today: float, n: int, mean: float, n_before: int, threshold: float) -> bool:
    change = abs(today - mean)
    if change <= threshold:
        return False
    pooled = (today * n + mean * n_before) / max(n + n_before, 1)
    variance = pooled * (1 - pooled) * (1 / max(n, 1) + 1 / max(n_before, 1))
    return change > SIGNIFICANCE * variance**0.5
