"""Metrics, written out plainly (no scipy/sklearn dependency for a few formulas)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    sorted_x = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation; 0 when either side is constant (no ranking information)."""
    ra, rb = rankdata(a), rankdata(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U); 0.5 when one class is missing."""
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    r = rankdata(scores)
    return float((r[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def confusion_matrix(
    reference: list[str], predicted: list[str], classes: list[str]
) -> list[list[int]]:
    """counts[i][j]: items of reference class i predicted as class j (unknown classes ignored)."""
    index = {c: i for i, c in enumerate(classes)}
    counts = [[0] * len(classes) for _ in classes]
    for truth, guess in zip(reference, predicted, strict=True):
        if truth in index and guess in index:
            counts[index[truth]][index[guess]] += 1
    return counts


@dataclass(frozen=True)
class VersusReference:
    """A classifier's outputs against reference labels for the items both have."""

    matrix: list[list[int]]  # confusion_matrix(reference, predicted, classes)
    items: int
    accuracy: float | None  # None when no item has a reference label


def versus_reference(
    predicted: pl.DataFrame, reference: pl.DataFrame, classes: list[str], key: str = "photo_id"
) -> VersusReference:
    """`predicted`: key and `predicted_class`; `reference`: key and `label` (e.g. the human
    consensus)."""
    judged = predicted.join(reference.select(key, "label"), on=key)
    truth, guess = judged["label"].to_list(), judged["predicted_class"].to_list()
    accuracy = (
        sum(t == g for t, g in zip(truth, guess, strict=True)) / len(truth) if truth else None
    )
    return VersusReference(confusion_matrix(truth, guess, classes), len(truth), accuracy)
