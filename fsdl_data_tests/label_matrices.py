"""Synthetic label matrices with known parameters, and the oracle that knows them.

Independent labeling functions vote with probability `coverage`, and are right with probability
`accuracy`, else pick one of the other classes at random. A near-copy repeats its original's
vote on a share `copy_agreement` of items and is otherwise drawn independently like it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fsdl_data.core.labels.label_model import ABSTAIN


@dataclass(frozen=True)
class SyntheticLabels:
    L: np.ndarray
    y: np.ndarray
    prior: np.ndarray
    accuracies: np.ndarray  # per column of L (a copy has its original's)
    coverages: np.ndarray
    copies: dict[int, int] = field(default_factory=dict)  # copy column -> original column
    copy_agreement: float = 0.95

    @property
    def cardinality(self) -> int:
        return len(self.prior)


def _independent_votes(
    rng: np.random.Generator, y: np.ndarray, k: int, accuracy: float, coverage: float
) -> np.ndarray:
    n = len(y)
    votes = np.full(n, ABSTAIN, dtype=np.int64)
    voted = rng.uniform(size=n) < coverage
    right = rng.uniform(size=n) < accuracy
    wrong = (y + rng.integers(1, k, size=n)) % k  # any other class, uniformly
    votes[voted] = np.where(right, y, wrong)[voted]
    return votes


def generate(
    n: int,
    prior: list[float] | np.ndarray,
    accuracies: list[float] | np.ndarray,
    coverages: list[float] | np.ndarray,
    *,
    copies_of_weakest: int = 0,
    copy_agreement: float = 0.95,
    seed: int = 0,
) -> SyntheticLabels:
    """`copies_of_weakest` extra columns that are near-copies of the least accurate function."""
    rng = np.random.default_rng(seed)
    prior = np.asarray(prior, dtype=np.float64)
    accuracies = np.asarray(accuracies, dtype=np.float64)
    coverages = np.asarray(coverages, dtype=np.float64)
    k = len(prior)
    y = rng.choice(k, size=n, p=prior)
    columns = [
        _independent_votes(rng, y, k, a, c) for a, c in zip(accuracies, coverages, strict=True)
    ]
    weakest = int(np.argmin(accuracies))
    copies = {}
    for _ in range(copies_of_weakest):
        fresh = _independent_votes(rng, y, k, accuracies[weakest], coverages[weakest])
        same = rng.uniform(size=n) < copy_agreement
        copies[len(columns)] = weakest
        columns.append(np.where(same, columns[weakest], fresh))
    index = list(range(len(accuracies))) + [weakest] * copies_of_weakest
    return SyntheticLabels(
        L=np.stack(columns, axis=1),
        y=y,
        prior=prior,
        accuracies=accuracies[index],
        coverages=coverages[index],
        copies=copies,
        copy_agreement=copy_agreement,
    )


def _vote_likelihood(votes: np.ndarray, k: int, accuracy: float, coverage: float) -> np.ndarray:
    """(n, k): P(vote | class) of an independent function."""
    out = np.where(
        votes[:, None] == np.arange(k), coverage * accuracy, coverage * (1 - accuracy) / (k - 1)
    )
    out[votes == ABSTAIN] = 1 - coverage
    return out


def oracle_proba(data: SyntheticLabels) -> np.ndarray:
    """The Bayes posterior under the true generating process (true prior, accuracies, coverages
    and copy structure): the best any label model can do on average."""
    k, L = data.cardinality, data.L
    log_p = np.tile(np.log(data.prior), (len(L), 1))
    for j in range(L.shape[1]):
        own = _vote_likelihood(L[:, j], k, data.accuracies[j], data.coverages[j])
        if j in data.copies:
            same = (L[:, j] == L[:, data.copies[j]]).astype(np.float64)[:, None]
            own = data.copy_agreement * same + (1 - data.copy_agreement) * own
        log_p += np.log(own)
    log_p -= log_p.max(axis=1, keepdims=True)
    p = np.exp(log_p)
    return p / p.sum(axis=1, keepdims=True)


def covered_accuracy(predicted: np.ndarray, data: SyntheticLabels) -> float:
    """Accuracy on the items at least one function voted on."""
    covered = (data.L != ABSTAIN).any(axis=1)
    return float((predicted[covered] == data.y[covered]).mean())
