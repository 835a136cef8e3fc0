"""Label issues: which given labels are most likely wrong (confident learning).

Input: each item's given label and a classifier's out-of-sample class probabilities (from a
model that never trained on that item, e.g. by cross-validation), on plain arrays so any
labels (human, gold, weak) can be checked.

The method (Northcutt et al., "Confident Learning", 2021), in our own words:
1. Per class j, a threshold t_j: the classifier's mean probability of j over the items labelled
   j (how sure it is on its own class: a per-class bar, so a class it is shy about is not
   drowned by a confident one).
2. The confident joint: an item labelled i counts for true class j when its probability of j
   reaches t_j (the likeliest such j if several); items reaching no threshold are not counted.
   Calibrated so each row sums to the number of items labelled i, it estimates how many items
   labelled i are truly j.
3. Pruning by noise rate: the confident joint in whole items (each row rounded so it still sums
   to the items labelled i: largest remainders get the spare units), and for every pair i != j
   the estimated count of (labelled i, truly j)
   items are flagged, taking those labelled i whose margin p_j - p_i is largest.
An item whose given label is the classifier's likeliest class (or tied with it) is never
flagged: the two agree.
Flagged items are ranked by their self-confidence (the probability of the given label: lowest
first, most likely wrong); the suggested label is the classifier's likeliest class.

`day_label_issues` applies it to the labeled set: out-of-sample probabilities cross-fitted
(core.labels.crossfit) on features of the photos' pixels that no label touched, over a window
of days, and one row per labeled photo of the day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from fsdl_data.core.labels.crossfit import DEFAULT_FOLDS, cross_fitted_probabilities, folds_of
from fsdl_data.core.tables import quality
from fsdl_data.core.vision.pixels import content_features, thumbnails_from_bytes

FUZZ = 1e-6  # probabilities this close count as equal (reaching a threshold, a tie for likeliest)


@dataclass(frozen=True)
class LabelIssues:
    """Flagged items, most likely wrong first."""

    index: np.ndarray  # positions into the inputs
    score: np.ndarray  # the probability of the given label (low: likely wrong)
    suggested: np.ndarray  # the classifier's likeliest class for each

    def __len__(self) -> int:
        return len(self.index)


def thresholds(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Per class, the mean probability of that class over the items labelled with it (1.0, a
    bar nothing reaches unless certain, for a class no item is labelled with)."""
    k = probabilities.shape[1]
    bars = np.ones(k)
    for j in range(k):
        mine = labels == j
        if mine.any():
            bars[j] = probabilities[mine, j].mean()
    return bars


def confident_joint(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """counts[i, j]: estimated items labelled i whose true class is j, calibrated so each row
    sums to the number of items labelled i."""
    k = probabilities.shape[1]
    reaches = probabilities >= thresholds(labels, probabilities)[None, :] - FUZZ
    masked = np.where(reaches, probabilities, -np.inf)
    counted = reaches.any(axis=1)
    true = masked.argmax(axis=1)
    counts = np.zeros((k, k))
    np.add.at(counts, (labels[counted], true[counted]), 1)
    given = np.bincount(labels, minlength=k).astype(float)
    rows = counts.sum(axis=1)
    scale = np.divide(given, rows, out=np.zeros(k), where=rows > 0)
    return counts * scale[:, None]


def rounded_rows(counts: np.ndarray) -> np.ndarray:
    """Whole numbers whose rows sum to the rounded row sums of `counts`: each cell rounded down,
    then a row's missing units to its cells with the largest remainders."""
    whole = np.floor(counts + 1e-9)
    for i, row in enumerate(counts):
        spare = round(float(row.sum()) - float(whole[i].sum()))
        if spare > 0:
            whole[i, np.argsort(-(row - whole[i]), kind="stable")[:spare]] += 1
    return whole.astype(np.int64)


def find_label_issues(labels: np.ndarray, probabilities: np.ndarray) -> LabelIssues:
    """The items whose given label is most likely wrong (the module docstring's method).
    `labels`: n class indices; `probabilities`: n x k out-of-sample probabilities."""
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n, k = probabilities.shape
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} rows of probabilities: give one each")
    if n == 0:
        return LabelIssues(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must be class indices 0..{k - 1}")
    joint = rounded_rows(confident_joint(labels, probabilities))
    flagged: set[int] = set()
    for i in range(k):
        mine = np.flatnonzero(labels == i)
        for j in range(k):
            take = int(joint[i, j])
            if i == j or take == 0 or not len(mine):
                continue
            margin = probabilities[mine, j] - probabilities[mine, i]
            flagged.update(mine[np.argsort(-margin, kind="stable")[:take]].tolist())
    likeliest = probabilities.argmax(axis=1)
    agrees = probabilities[np.arange(n), labels] >= probabilities.max(axis=1) - FUZZ  # ties too
    index = np.array(sorted(i for i in flagged if not agrees[i]), dtype=np.int64)
    score = probabilities[index, labels[index]] if len(index) else np.zeros(0)
    order = np.lexsort((index, score))
    return LabelIssues(index[order], score[order], likeliest[index[order]])


LABEL_ISSUES = {
    "photo_id": pl.Int64,
    "source": pl.String,  # whose label: gold, human or weak (labeled_set's precedence)
    "label": pl.String,
    "suggested_label": pl.String,  # the cross-fitted model's likeliest class
    "label_probability": pl.Float64,  # the score: `label`'s out-of-sample probability (low: wrong)
    "suggested_probability": pl.Float64,
    "issue": pl.Boolean,  # flagged by confident learning
    "issue_rank": pl.Int64,  # 1 = most likely wrong among the day's issues; null when no issue
    "review_reason": pl.String,  # why, in words an annotator reads; null when no issue
    "fold": pl.Int64,  # the cross-fitting fold: scored by a model trained on the others
}


def review_reason(source: str, label: str, score: float, suggested: str, p: float) -> str:
    return (
        f"possible label error: the {source} label {label!r} has probability {score:.2f} under "
        f"a model that never trained on this photo, which suggests {suggested!r} ({p:.2f})"
    )


@dataclass(frozen=True)
class CrossFitted:
    """Labeled photos (labeled_set rows joined to their pixels, by photo id), their labels as
    class indices, folds and out-of-sample probabilities, row for row."""

    rows: pl.DataFrame
    given: np.ndarray
    folds: np.ndarray
    probabilities: np.ndarray


def cross_fit_labels(
    labeled: pl.DataFrame,
    pixels: pl.DataFrame,
    classes: tuple[str, ...],
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> CrossFitted | None:
    """Out-of-sample probabilities for every labeled photo that has pixels: softmax regression
    on `content_features`, cross-fitted over `folds` (None: fewer labeled photos than folds).
    A label outside `classes` is a ValueError naming it."""
    rows = (
        labeled.filter(pl.col("label").is_not_null())
        .join(pixels.select("photo_id", "thumbnail"), on="photo_id")
        .sort("photo_id")
    )
    unknown = sorted(set(rows["label"].to_list()) - set(classes))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the classes {list(classes)}")
    if len(rows) < folds:
        return None
    given = np.array([classes.index(c) for c in rows["label"]], dtype=np.int64)
    fold = folds_of(rows["photo_id"].to_list(), folds, seed)
    features = content_features(thumbnails_from_bytes(rows["thumbnail"].to_list()))
    probabilities = cross_fitted_probabilities(features, given, len(classes), fold)
    return CrossFitted(rows.drop("thumbnail"), given, fold, probabilities)


def day_label_issues(
    labeled: pl.DataFrame,
    pixels: pl.DataFrame,
    classes: tuple[str, ...],
    day: dt.date,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> pl.DataFrame:
    """LABEL_ISSUES rows for the labeled photos of `day`. `labeled`: labeled_set rows of a window
    of days ending at `day` (its `day` column), `pixels`: photo_pixels rows covering them. The
    window's labels are cross-fitted together (more items, better thresholds), so each photo
    is scored by a model trained on the other folds of the whole window; a label whose photo
    has no pixels is not scored. Fewer labeled photos than folds: no rows."""
    fitted = cross_fit_labels(labeled, pixels, classes, folds, seed)
    if fitted is None:
        return pl.DataFrame(schema=LABEL_ISSUES)
    rows, given, fold, probabilities = (
        fitted.rows,
        fitted.given,
        fitted.folds,
        fitted.probabilities,
    )
    found = find_label_issues(given, probabilities)
    issue = np.zeros(len(rows), dtype=bool)
    issue[found.index] = True
    mine = (rows["day"] == day).to_numpy()
    ranked = found.index[mine[found.index]]  # the day's issues, most likely wrong first
    rank = np.zeros(len(rows), dtype=np.int64)
    rank[ranked] = np.arange(1, len(ranked) + 1)
    suggested = probabilities.argmax(axis=1)
    score = probabilities[np.arange(len(rows)), given]
    best = probabilities.max(axis=1)
    sources = rows["source"].to_list()
    reasons = [
        review_reason(sources[i], classes[given[i]], score[i], classes[suggested[i]], best[i])
        if issue[i]
        else None
        for i in range(len(rows))
    ]
    table = pl.DataFrame(
        {
            "photo_id": rows["photo_id"],
            "source": rows["source"],
            "label": rows["label"],
            "suggested_label": [classes[j] for j in suggested],
            "label_probability": score,
            "suggested_probability": best,
            "issue": issue,
            "issue_rank": pl.Series(np.where(issue, rank, 0)).replace(0, None),
            "review_reason": pl.Series(reasons, dtype=pl.String),
            "fold": fold,
        },
        schema=LABEL_ISSUES,
    )
    return table.filter(pl.Series(mine)).sort(
        ["issue", "issue_rank", "photo_id"], descending=[True, False, False], nulls_last=True
    )


LABEL_SOURCES = ("gold", "human", "weak")
TRUSTED_SOURCES = ("gold", "human")  # the labels the classifier's validation and the gates trust


def issue_counts(issues: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """Per label source (all of LABEL_SOURCES, zeros included): (labels scored, issues)."""
    return {
        source: (len(mine), int(mine["issue"].sum()))
        for source in LABEL_SOURCES
        for mine in [issues.filter(pl.col("source") == source)]
    }


def trusted_share(issues: pl.DataFrame) -> float:
    """The share of the gold and human labels in `issues` that are flagged (0.0 when none)."""
    trusted = issues.filter(pl.col("source").is_in(TRUSTED_SOURCES))
    return float(trusted["issue"].mean() or 0.0) if len(trusted) else 0.0


def scoring_outcome(
    issues: pl.DataFrame, labeled: pl.DataFrame, pixels: pl.DataFrame
) -> quality.Outcome:
    """Every labeled photo of `labeled` (one day) with pixels scored once, scores in [0, 1],
    issue ranks 1..n. Fewer labeled photos than folds leaves the day unscored: that fails too,
    named as such."""
    expected = set(
        labeled.filter(pl.col("label").is_not_null())
        .join(pixels.select("photo_id"), on="photo_id")["photo_id"]
        .to_list()
    )
    scored = issues["photo_id"].to_list()
    missing = expected - set(scored)
    ranks = issues.filter(pl.col("issue"))["issue_rank"].sort().to_list()
    problems = [
        f"{len(missing)} labeled photos not scored" if missing else "",
        f"{len(scored) - len(set(scored))} scored twice" if len(scored) != len(set(scored)) else "",
        "a probability outside [0, 1]"
        if len(issues) and not issues["label_probability"].is_between(0, 1).all()
        else "",
        "issue ranks are not 1..n" if ranks != list(range(1, len(ranks) + 1)) else "",
    ]
    problems = [p for p in problems if p]
    return quality.Outcome(
        not problems,
        "; ".join(problems) or f"{len(scored)} labeled photos scored, {len(ranks)} issues",
        {"scored": len(scored), "missing": len(missing), "issues": len(ranks)},
        severe=False,
    )
