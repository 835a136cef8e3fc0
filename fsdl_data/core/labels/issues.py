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
3. Pruning by noise rate: for every pair i != j, the estimated count of (labelled i, truly j)
   items are flagged, taking those labelled i whose margin p_j - p_i is largest.
An item whose given label is the classifier's likeliest class is never flagged (the two agree).
Flagged items are ranked by their self-confidence (the probability of the given label: lowest
first, most likely wrong); the suggested label is the classifier's likeliest class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    reaches = probabilities >= thresholds(labels, probabilities)[None, :] - 1e-12
    masked = np.where(reaches, probabilities, -np.inf)
    counted = reaches.any(axis=1)
    true = masked.argmax(axis=1)
    counts = np.zeros((k, k))
    np.add.at(counts, (labels[counted], true[counted]), 1)
    given = np.bincount(labels, minlength=k).astype(float)
    rows = counts.sum(axis=1)
    scale = np.divide(given, rows, out=np.zeros(k), where=rows > 0)
    return counts * scale[:, None]


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
    joint = confident_joint(labels, probabilities)
    flagged: set[int] = set()
    for i in range(k):
        mine = np.flatnonzero(labels == i)
        for j in range(k):
            take = round(float(joint[i, j]))
            if i == j or take == 0 or not len(mine):
                continue
            margin = probabilities[mine, j] - probabilities[mine, i]
            flagged.update(mine[np.argsort(-margin, kind="stable")[:take]].tolist())
    likeliest = probabilities.argmax(axis=1)
    index = np.array(sorted(i for i in flagged if likeliest[i] != labels[i]), dtype=np.int64)
    score = probabilities[index, labels[index]] if len(index) else np.zeros(0)
    order = np.lexsort((index, score))
    return LabelIssues(index[order], score[order], likeliest[index[order]])
