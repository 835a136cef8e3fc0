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


# --- structures drawn at random ------------------------------------------------------------
# Each family is a set of blocks that are independent given the class; a block is a single
# function, a near-copy group or a group that errs together. Each block can both sample its
# votes and give their exact likelihood per class, so the oracle below is exact on every family.

FAMILIES = (
    "independent",
    "high_coverage",
    "keywords",
    "copies",
    "co_erring",
    "copies_and_co_erring",
    "single",
    "many_weak",
)
INDEPENDENT_FAMILIES = ("independent", "high_coverage", "keywords", "single", "many_weak")


@dataclass(frozen=True)
class _Block:
    kind: str  # "single", "copies", "co_erring"
    tables: list[np.ndarray]  # per member, (k, k + 1): P(vote + 1 | class) outside any trap
    agreement: float = 0.0  # copies: P(a copy repeats the original's vote)
    trap: np.ndarray | None = None  # co_erring: (k,) P(trap | class)
    trap_votes: np.ndarray | None = None  # co_erring: (k, k) P(the shared vote | class)

    def sample(self, rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
        columns = [_draw(rng, table, y) for table in self.tables]
        if self.kind == "copies":
            for i in range(1, len(columns)):
                same = rng.uniform(size=len(y)) < self.agreement
                columns[i] = np.where(same, columns[0], columns[i])
        if self.kind == "co_erring":
            assert self.trap is not None and self.trap_votes is not None
            trapped = rng.uniform(size=len(y)) < self.trap[y]
            shared = _draw_rows(rng, self.trap_votes[y])
            columns = [np.where(trapped, shared, c) for c in columns]
        return np.stack(columns, axis=1)

    def log_likelihood(self, votes: np.ndarray, k: int) -> np.ndarray:
        """(n, k) exact log P(this block's votes | class)."""
        own = [table[:, votes[:, i] + 1].T for i, table in enumerate(self.tables)]  # (n, k) each
        if self.kind == "single":
            return np.log(own[0])
        if self.kind == "copies":
            p = own[0].copy()
            for i in range(1, len(own)):
                same = (votes[:, i] == votes[:, 0]).astype(float)[:, None]
                p *= self.agreement * same + (1 - self.agreement) * own[i]
            return np.log(p)
        assert self.trap is not None and self.trap_votes is not None
        free = np.prod(np.stack(own), axis=0) * (1 - self.trap)
        all_same = (votes == votes[:, :1]).all(axis=1) & (votes[:, 0] != ABSTAIN)
        shared = np.where(all_same[:, None], self.trap_votes[:, np.maximum(votes[:, 0], 0)].T, 0)
        return np.log(free + self.trap * shared)


def _draw(rng: np.random.Generator, table: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _draw_rows(rng, table[y]) - 1


def _draw_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    cumulative = probabilities.cumsum(axis=1)
    u = rng.uniform(size=(len(probabilities), 1)) * cumulative[:, -1:]
    return (u > cumulative).sum(axis=1)


def _table(
    rng: np.random.Generator, k: int, coverage: np.ndarray, accuracy: np.ndarray, structured: bool
) -> np.ndarray:
    """(k, k + 1) from per-class coverage and accuracy; errors spread evenly, or (structured)
    mostly onto one confusable class."""
    table = np.zeros((k, k + 1))
    for c in range(k):
        others = [o for o in range(k) if o != c]
        if structured and k > 2:
            errors = rng.dirichlet(np.full(k - 1, 0.3))
        else:
            errors = np.full(k - 1, 1 / (k - 1))
        table[c, 0] = 1 - coverage[c]
        table[c, c + 1] = coverage[c] * accuracy[c]
        table[c, np.array(others) + 1] = coverage[c] * (1 - accuracy[c]) * errors
    return table


def _general_function(
    rng: np.random.Generator, k: int, low: float, high: float, coverage: tuple[float, float],
    class_dependent: bool, structured: bool,
) -> np.ndarray:  # fmt: skip
    if class_dependent:
        accuracy = rng.uniform(low, high, k)
        spread = rng.uniform(coverage[0], coverage[1], k)
    else:
        accuracy = np.full(k, rng.uniform(low, high))
        spread = np.full(k, rng.uniform(coverage[0], coverage[1]))
    return _table(rng, k, spread, accuracy, structured)


def _keyword(rng: np.random.Generator, k: int, target: int) -> np.ndarray:
    fires = rng.uniform(0.0, 0.08, k)
    fires[target] = rng.uniform(0.2, 0.7)
    table = np.zeros((k, k + 1))
    table[:, 0] = 1 - fires
    table[:, target + 1] = fires
    return table


@dataclass(frozen=True)
class Structure:
    family: str
    k: int
    prior: np.ndarray
    blocks: list[_Block]

    @property
    def independent(self) -> bool:
        return all(b.kind == "single" for b in self.blocks)

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        y = rng.choice(self.k, size=n, p=self.prior)
        return np.concatenate([b.sample(rng, y) for b in self.blocks], axis=1), y

    def oracle_proba(self, L: np.ndarray) -> np.ndarray:
        """The Bayes posterior under the true prior, tables and dependency structure."""
        log_p = np.tile(np.log(self.prior), (len(L), 1))
        start = 0
        for block in self.blocks:
            size = len(block.tables)
            log_p += block.log_likelihood(L[:, start : start + size], self.k)
            start += size
        log_p -= log_p.max(axis=1, keepdims=True)
        p = np.exp(log_p)
        return p / p.sum(axis=1, keepdims=True)


def random_structure(seed: int, family: str | None = None) -> Structure:
    """A family (unless given) and all of its parameters drawn at random from `seed`."""
    rng = np.random.default_rng(seed)
    family = family or FAMILIES[seed % len(FAMILIES)]
    k = int(rng.integers(2, 6))
    major = rng.uniform(1 / k, 0.8)
    rest = rng.dirichlet(np.full(k - 1, 3.0)) * (1 - major)
    prior = np.concatenate([[major], rest])
    prior = np.clip(rng.permutation(prior), 0.03, None)
    prior /= prior.sum()
    low = 1 / k + 0.15
    class_dependent, structured = bool(rng.integers(2)), bool(rng.integers(2))

    def general(count: int, coverage: tuple[float, float] = (0.1, 0.7), lo: float = low,
                hi: float = 0.92) -> list[np.ndarray]:  # fmt: skip
        return [
            _general_function(rng, k, lo, hi, coverage, class_dependent, structured)
            for _ in range(count)
        ]

    def singles(tables: list[np.ndarray]) -> list[_Block]:
        return [_Block("single", [t]) for t in tables]

    blocks: list[_Block] = []
    if family == "independent":
        blocks = singles(general(int(rng.integers(3, 13))))
    elif family == "high_coverage":
        blocks = singles(general(int(rng.integers(3, 9)), coverage=(0.9, 1.0), lo=max(low, 0.6)))
    elif family == "keywords":
        keywords = [_keyword(rng, k, c) for c in range(k) for _ in range(int(rng.integers(1, 4)))]
        blocks = singles(keywords + general(int(rng.integers(0, 4))))
    elif family == "single":
        blocks = singles(general(1))
    elif family == "many_weak":
        blocks = singles(general(int(rng.integers(50, 61)), coverage=(0.05, 0.4),
                                 lo=1 / k + 0.05, hi=1 / k + 0.3))  # fmt: skip
    if family in ("copies", "copies_and_co_erring"):
        blocks += singles(general(int(rng.integers(3, 9))))
        copies = int(rng.integers(1, 5))
        original = general(1, lo=low, hi=low + 0.2)[0]  # copies of a weak function hurt most
        blocks.append(
            _Block("copies", [original] + [original] * copies, agreement=rng.uniform(0.5, 1.0))
        )
    if family in ("co_erring", "copies_and_co_erring"):
        if family == "co_erring":
            blocks += singles(general(int(rng.integers(3, 9))))
        size = int(rng.integers(2, 6))
        trap = rng.uniform(0.1, 0.3, k) if class_dependent else np.full(k, rng.uniform(0.1, 0.3))
        trap_votes = np.zeros((k, k))
        for c in range(k):  # the shared vote: mostly one wrong class
            wrong = int(rng.choice([o for o in range(k) if o != c]))
            trap_votes[c] = 0.1 / k
            trap_votes[c, wrong] += 0.9
        trap_votes /= trap_votes.sum(axis=1, keepdims=True)
        blocks.append(_Block("co_erring", general(size), trap=trap, trap_votes=trap_votes))
    order = rng.permutation(len(blocks))
    return Structure(family, k, prior, [blocks[i] for i in order])


def expected_calibration_error(proba: np.ndarray, outcome: np.ndarray, bins: int = 10) -> float:
    """Binned ECE of the top-class confidence: `outcome` is 1/0 (the top class is right) or the
    true probability that it is right (an oracle's), which removes the labels' sampling noise."""
    confidence = proba.max(axis=1)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(confidence[inside].mean() - outcome[inside].mean())
    return total / max(len(proba), 1)
