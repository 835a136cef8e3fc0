"""A label model: the true class of each item from many noisy, partly dependent votes.

`L` is an (n, m) integer array: L[i, j] is labeling function j's vote on item i, a class in
0..k-1, or -1 where it abstains (Snorkel's convention).

The model. A latent class y with a prior; the functions fall into groups, conditionally
independent given y; within a group, the joint vote pattern given y is a free categorical table.
A group of one is Dawid-Skene's function: a confusion row per class over the k votes and
"abstain", so class-dependent accuracies and a one-class rule whose coverage depends on the
class are described exactly. A group of near-copies, or of functions that err together, is
described exactly too, and never counted twice. Everything is fitted by EM on L alone.

The structure is learned, with no constant fitted to any generator: after a fit, every pair's
dependence given the class is measured at once (posterior-weighted co-occurrence tables) and
tested by a likelihood-ratio (G) statistic against the chi-square distribution at a
Bonferroni-corrected level; dependent pairs are merged into groups, and the model refitted,
until no pair across groups is dependent. A fit that takes a large dependent group for the class
sees the other functions as dependent instead, so where anything is dependent the search also
starts from groupings that no fitted class informs: pairs whose excess agreement (kappa) is more
than the rank-one model of independent functions explains, each function's factor estimated
robustly by the median of triplet ratios (_agreement_starts); the search that ends with the best
held-out likelihood wins. A group's table may have at most as many distinct joint votes as the
data can fill (CELL_MINIMUM items each on average, the chi-square convention).

Model selection protects the majority vote. Candidates (the learned groups, independent
functions, independent functions with one accuracy each, and a majority-vote-equivalent model:
one accuracy shared by all functions and a uniform prior) are fitted on half of the items and
compared by the log-likelihood of the other half's votes; the best is refitted on all items.

Smoothing is a prior, not a tuning knob: each table row carries the Jeffreys prior of one
function, Dirichlet((k + 1) / 2 in total), spread uniformly over a function's k + 1 values and,
for a group, by a two-state model of its members (acting alone or together, independently within
each state: few parameters, so a group with little data behaves as that model rather than as a
free table). Fitting works on the distinct rows of L weighted by their counts.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.stats import chi2, norm
from threadpoolctl import threadpool_limits

ABSTAIN = -1
SEARCH_LOOSENING = 100  # structures are compared with EM stopped this many times earlier
SIGNIFICANCE = 0.05  # family-wise error rate of all pairwise dependence tests of one fit
CELL_MINIMUM = 5  # expected items per cell a group's table must have (the chi-square convention)
IDENTIFIABLE = 3  # conditionally independent groups the latent class needs (Kruskal)
JEFFREYS = 0.5  # the Dirichlet prior's pseudo-count per value of one function
TIE_BREAK_POLICIES = ("abstain", "random", "true-random")
TIE_TOLERANCE = 1e-5  # probabilities closer than this are a tie (Snorkel's tolerance)
FORMAT = "fsdl-label-model-2"
# from the most parameters to the fewest: a simpler one is kept unless a richer one's held-out
# likelihood is better by more than its standard error (Breiman's one-standard-error rule)
CANDIDATES = ("groups", "independent", "compact", "majority")
_VARIANTS = {
    "groups": "full",
    "independent": "full",
    "compact": "compact",
    "majority": "majority",
}


@dataclass(frozen=True)
class Dependency:
    """Two labeling functions that depend on each other beyond the class."""

    first: int
    second: int
    strength: float  # conditional mutual information given the class, as a share of the most
    # either function could share (0: independent given the class; 1: the same function twice)


def _check_matrix(L: np.ndarray, cardinality: int) -> np.ndarray:
    L = np.asarray(L)
    if L.ndim != 2:
        raise ValueError(f"L must be a 2-D (items x labeling functions) array, got shape {L.shape}")
    if L.size and not np.issubdtype(L.dtype, np.integer) and not np.all(np.mod(L, 1) == 0):
        raise ValueError("L must hold integer votes (a class index, or -1 to abstain)")
    L = L.astype(np.int64, copy=False)
    if L.size and (L.min() < ABSTAIN or L.max() >= cardinality):
        raise ValueError(
            f"votes must be -1 (abstain) or a class in 0..{cardinality - 1}; "
            f"found values from {L.min()} to {L.max()}"
        )
    return L


def _patterns(L: np.ndarray, cardinality: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows, the row each item maps to, and how many items share each."""
    n, m = L.shape
    if n == 0 or m == 0:
        return L[:1] if n else L, np.zeros(n, dtype=np.int64), np.array([float(n)])[: 1 if n else 0]
    if m * np.log2(cardinality + 1) < 62:  # a row fits in one integer
        codes = _joint_codes(L, cardinality)
    else:  # a random linear hash, checked below: sorting numbers beats sorting rows
        mixers = np.random.default_rng(0).integers(1, 2**62, size=m, dtype=np.int64)
        codes = (L + 1) @ mixers
    _, first, inverse, counts = np.unique(
        codes, return_index=True, return_inverse=True, return_counts=True
    )
    inverse = inverse.reshape(-1)
    if not np.array_equal(L[first][inverse], L):  # a hash collision (never seen): sort rows
        rows = np.ascontiguousarray(L + 1, dtype=np.int8).view(np.dtype((np.void, m))).ravel()
        _, first, inverse, counts = np.unique(
            rows, return_index=True, return_inverse=True, return_counts=True
        )
        inverse = inverse.reshape(-1)
    return L[first], inverse, counts.astype(np.float64)


@dataclass
class _Design:
    """A structure's view of distinct vote rows: the one-hot cell of each group (P, columns),
    and (P, k) the log-likelihood within a group's "other" cell of the row's own joint vote
    (0 where no group put it there)."""

    matrix: sparse.csr_matrix
    within: np.ndarray | float = 0.0


@dataclass
class _Structure:
    """Groups of functions and the cells of each group's table.

    Column layout of the design matrix: a group of one has k columns (its votes); a larger group
    one column per joint vote pattern seen often enough to be estimated (CELL_MINIMUM items per
    class), then one "other" cell for every other pattern, rare or never seen. "All abstain" is
    every group's baseline and has no column. Within "other", a pattern's share is what the
    members' tables alone (`tables`, fitted as independent functions) give it: the group's table
    is coarsened where the data are too thin for its own cells, so any group can be fitted."""

    k: int
    groups: list[np.ndarray]
    codes: list[np.ndarray]  # per group: sorted joint codes of its cells (0 = all abstain)
    tables: np.ndarray | None = None  # (m, k + 1, k): P(vote + 1 | class) of each alone

    def _rare(self, group: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """(k,) the members' independent probability of the group's "other" cell."""
        assert self.tables is not None
        member = self.tables[group]  # (members, k + 1, class)
        votes = _decode(codes, len(group), self.k) + 1
        seen = np.prod(member[np.arange(len(group)), votes], axis=1).sum(axis=0)
        return np.maximum(1 - seen - np.prod(member[:, 0], axis=0), 1e-12)

    @property
    def sizes(self) -> np.ndarray:
        return np.array(
            [
                self.k if len(g) == 1 else len(c) + 1
                for g, c in zip(self.groups, self.codes, strict=True)
            ]
        )

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    @property
    def column_group(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.groups)), self.sizes)

    def design(self, patterns: np.ndarray) -> _Design:
        """Each pattern's cell of each group, and its likelihood within an "other" cell."""
        offsets, k = self.offsets, self.k
        within = np.zeros((len(patterns), k))
        single = [i for i, g in enumerate(self.groups) if len(g) == 1]
        rows_all, columns_all = [], []
        if single:
            members = np.array([self.groups[i][0] for i in single])
            votes = patterns[:, members]
            voted = votes != ABSTAIN
            rows_all.append(np.repeat(np.arange(len(patterns)), voted.sum(axis=1)))
            columns_all.append((offsets[np.array(single)][None, :] + votes)[voted])
        for i, group in enumerate(self.groups):
            if len(group) == 1:
                continue
            code = _joint_codes(patterns[:, group], k)
            rows = np.nonzero(code)[0]
            known = self.codes[i]
            at = np.minimum(np.searchsorted(known, code[rows]), len(known) - 1)
            found = known[at] == code[rows]
            rows_all.append(rows)
            columns_all.append(offsets[i] + np.where(found, at, len(known)))
            other = rows[~found]
            if len(other) and self.tables is not None:
                member = np.log(self.tables[group])  # (members, k + 1, class)
                votes = patterns[other][:, group] + 1
                own = member[np.arange(len(group)), votes].sum(axis=1)  # (other rows, class)
                within[other] += own - np.log(self._rare(group, known))
        rows = np.concatenate(rows_all) if rows_all else np.zeros(0, dtype=np.int64)
        columns = np.concatenate(columns_all) if columns_all else np.zeros(0, dtype=np.int64)
        matrix = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, columns)), shape=(len(patterns), int(self.sizes.sum()))
        )
        return _Design(matrix, within)

    def to_json(self) -> dict:
        return {
            "groups": [g.tolist() for g in self.groups],
            "codes": [c.tolist() for c in self.codes],
            "tables": None if self.tables is None else self.tables.tolist(),
        }

    @classmethod
    def from_json(cls, k: int, state: dict) -> _Structure:
        tables = state.get("tables")
        return cls(
            k,
            [np.asarray(g, dtype=np.int64) for g in state["groups"]],
            [np.asarray(c, dtype=np.int64) for c in state["codes"]],
            None if tables is None else np.asarray(tables, dtype=np.float64),
        )


def _joint_codes(votes: np.ndarray, k: int) -> np.ndarray:
    """One integer per row for a group's joint vote (0: all abstain)."""
    powers = (k + 1) ** np.arange(votes.shape[1], dtype=np.int64)
    return (votes + 1) @ powers


def _fits_in_code(size: int, k: int) -> bool:
    return size * np.log2(k + 1) < 62


def _independent_structure(m: int, k: int) -> _Structure:
    return _Structure(k, [np.array([j]) for j in range(m)], [np.arange(1, k + 1) for _ in range(m)])


@dataclass
class _Parameters:
    """Log-probabilities of a structure: the prior, each group's baseline (all abstain) and each
    column's cell, per class."""

    log_prior: np.ndarray  # (k,)
    log_base: np.ndarray  # (groups, k)
    log_cells: np.ndarray  # (columns, k)

    def log_joint(self, design: _Design, column_group: np.ndarray) -> np.ndarray:
        """(P, k) log P(class, votes) of each pattern."""
        offset = self.log_prior + self.log_base.sum(axis=0)
        return (
            offset + design.matrix @ (self.log_cells - self.log_base[column_group]) + design.within
        )


def _posterior(log_joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P, k) normalized posterior and (P,) log evidence of each pattern, column by column (a
    few classes: faster than reductions along the short axis)."""
    columns = log_joint.T
    top = columns[0].copy()
    for column in columns[1:]:
        np.maximum(top, column, out=top)
    p = np.exp(log_joint - top[:, None])
    total = p[:, 0].copy()
    for c in range(1, p.shape[1]):
        total += p[:, c]
    p /= total[:, None]
    return p, top + np.log(total)


def _log_evidence(log_joint: np.ndarray) -> np.ndarray:
    return _posterior(log_joint)[1]


def _normalize(log_joint: np.ndarray) -> np.ndarray:
    return _posterior(log_joint)[0]


def _majority_posterior(patterns: np.ndarray, k: int) -> np.ndarray:
    """Vote shares per pattern (uniform where nobody voted): EM's start, which fixes which
    latent class is which."""
    votes = np.stack([(patterns == c).sum(axis=1) for c in range(k)], axis=1).astype(np.float64)
    votes += 1e-2
    return votes / votes.sum(axis=1, keepdims=True)


class _Fitter:
    """EM for one structure and one variant on weighted patterns.

    Variants, for groups of one: "full" (a free confusion row per class), "compact" (per
    function one coverage and one accuracy, errors spread evenly: Snorkel's parameters),
    "majority" (as compact, with one accuracy shared by all and a uniform prior: its most
    probable class is the majority vote)."""

    def __init__(
        self,
        structure: _Structure,
        variant: str,
        base_measure: tuple[np.ndarray, np.ndarray] | None,
        fixed_prior: np.ndarray | None,
        fixed_accuracy: float | None = None,
    ) -> None:
        self.structure = structure
        self.variant = variant
        self.fixed_accuracy = fixed_accuracy  # "majority" only: the votes cannot identify it
        self.k = structure.k
        self.column_group = structure.column_group
        self.single = np.array([len(g) == 1 for g in structure.groups])
        self.fixed_prior = fixed_prior
        if variant == "majority" and fixed_prior is None:
            self.fixed_prior = np.full(self.k, 1.0 / self.k)
        # Dirichlet prior of a function alone: Jeffreys', 1/2 pseudo-item per value
        columns = int(structure.sizes.sum())
        self.alpha_cells = np.full((columns, self.k), JEFFREYS)
        self.alpha_base = np.full((len(structure.groups), self.k), JEFFREYS)
        self.alpha_total = JEFFREYS * (self.k + 1)
        self.base_measure = base_measure
        self._states: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # group -> its mixture
        self._one_hot: dict[int, np.ndarray] = {}  # group -> (cells, members * values)
        self.groups_of_columns = sparse.csr_matrix(
            (
                np.ones(len(self.column_group)),
                (self.column_group, np.arange(len(self.column_group))),
            ),
            shape=(len(structure.groups), len(self.column_group)),
        )

    def maximize(
        self,
        design: _Design,
        counts: np.ndarray,
        posterior: np.ndarray,
        empirical: bool = False,
    ) -> _Parameters:
        k = self.k
        mass = posterior * counts[:, None]
        per_class = mass.sum(axis=0)
        if self.fixed_prior is not None:
            log_prior = np.log(self.fixed_prior)
        else:
            log_prior = np.log((per_class + JEFFREYS) / (counts.sum() + JEFFREYS * k))
        cells = np.asarray(design.matrix.T @ mass)  # (columns, k)
        base = np.maximum(per_class - self.groups_of_columns @ cells, 0.0)
        denominator = per_class + self.alpha_total
        p_cells = (cells + self.alpha_cells) / denominator
        p_base = (base + self.alpha_base) / denominator
        if self.variant != "full" and self.single.any():
            self._tie(cells, per_class, p_cells, p_base)
        if self.base_measure is not None:
            self._groups(cells, base, per_class, p_cells, p_base, empirical)
        return _Parameters(log_prior, np.log(p_base), np.log(p_cells))

    def _groups(
        self,
        cells: np.ndarray,
        base: np.ndarray,
        per_class: np.ndarray,
        p_cells: np.ndarray,
        p_base: np.ndarray,
        empirical: bool,
    ) -> None:
        """A group's table per class: the Dirichlet(beta * q) posterior mean, q the group's
        two-state model (_together). While EM runs, beta is one function's Jeffreys mass,
        (k + 1) / 2, so the table is free to move away from q (a stronger pull keeps the class
        where the independent fit misplaced it); once it has converged, beta is chosen by the
        data (empirical Bayes: the beta that maximizes the Dirichlet-multinomial evidence of the
        expected counts), which decides how much joint votes seen rarely or never borrow from
        the two-state model: a group it describes gives a large beta, one it does not a small
        one."""
        assert self.base_measure is not None
        q_cells, q_base = self.base_measure
        offsets, sizes = self.structure.offsets, self.structure.sizes
        for g in np.nonzero(~self.single)[0]:
            columns = slice(offsets[g], offsets[g] + sizes[g])
            counts = np.vstack([base[g], cells[columns]])  # (values, class)
            q = np.vstack([q_base[g], q_cells[columns]])
            q = q / q.sum(axis=0)
            q = self._together(g, counts, q, per_class, empirical)
            if empirical:
                beta = _evidence_concentration(counts, q, per_class)  # (class,)
            else:
                beta = np.full(self.k, self.alpha_total)
            table = (counts + beta * q) / (per_class + beta)
            p_base[g], p_cells[columns] = table[0], table[1:]

    def _together(
        self, g: int, counts: np.ndarray, q: np.ndarray, per_class: np.ndarray, final: bool
    ) -> np.ndarray:
        """The group's base measure: per class, a mixture of two ways its members vote, each
        with the members conditionally independent (a latent state of the group: acting alone,
        or acting together, as functions that share a cause or copy each other do). Fitted by
        EM on the group's expected counts, warm-started from the last M-step; the first start
        is the members' independent tables for one state and their unanimous votes for the
        other. Few parameters (2 (k + 1) per member and class), so where the data are too thin
        for the free table, joint votes seen rarely borrow from a dependent model rather than
        an independent one. Returns (values, class), the "other" cell keeping its own share."""
        assert self.structure.tables is not None
        k, group = self.k, self.structure.groups[g]
        size = len(group)
        seen = counts[:-1]  # (cells, class): the "other" cell's patterns are not at hand
        if g not in self._one_hot:
            codes = self.structure.codes[g]
            votes = np.vstack([np.full((1, size), ABSTAIN), _decode(codes, size, k)])
            one_hot = np.zeros((len(votes), size, k + 1))
            one_hot[np.arange(len(votes))[:, None], np.arange(size), votes + 1] = 1.0
            self._one_hot[g] = one_hot.reshape(len(votes), size * (k + 1))
            unanimous = ((votes == votes[:, :1]) & (votes != ABSTAIN)).all(axis=1)
            alone = np.transpose(self.structure.tables[group], (2, 0, 1))  # (class, member, value)
            shared = (seen[unanimous].T @ self._one_hot[g][unanimous]).reshape(k, size, k + 1)
            shared = (shared + JEFFREYS) / (shared + JEFFREYS).sum(axis=2, keepdims=True)
            self._states[g] = np.tile([0.5, 0.5], (k, 1)), np.stack([alone, shared], axis=1)
        one_hot = self._one_hot[g]  # (cells, members * values)
        weights, tables = self._states[g]  # (class, state), (class, state, member, value)
        for _ in range(30 if final else 1):
            log_cell = (np.log(tables).reshape(2 * k, -1) @ one_hot.T).reshape(k, 2, -1)
            log_cell += np.log(weights)[:, :, None]
            share = np.exp(log_cell - log_cell.max(axis=1, keepdims=True))
            share /= share.sum(axis=1, keepdims=True)
            mass = share * seen.T[:, None, :]  # (class, state, cells)
            weights = mass.sum(axis=2) + JEFFREYS
            weights /= weights.sum(axis=1, keepdims=True)
            tables = (mass.reshape(2 * k, -1) @ one_hot).reshape(k, 2, size, k + 1)
            tables += JEFFREYS / (k + 1)
            tables /= tables.sum(axis=3, keepdims=True)
        self._states[g] = weights, tables
        log_cell = (np.log(tables).reshape(2 * k, -1) @ one_hot.T).reshape(k, 2, -1)
        mixture = (np.exp(log_cell) * weights[:, :, None]).sum(axis=1).T  # (cells, class)
        other = (counts[-1] + q[-1] * JEFFREYS) / (per_class + JEFFREYS)
        mixture *= (1 - other) / np.maximum(mixture.sum(axis=0), 1e-300)
        return np.vstack([mixture, other])

    def _tie(
        self, cells: np.ndarray, per_class: np.ndarray, p_cells: np.ndarray, p_base: np.ndarray
    ) -> None:
        """Replaces the groups of one's free rows by the variant's fewer parameters (in place)."""
        k = self.k
        index = np.nonzero(self.single)[0]
        columns = self.structure.offsets[index][:, None] + np.arange(k)  # (s, k votes)
        votes = cells[columns]  # (s, vote, class)
        voted = votes.sum(axis=1)  # (s, class)
        correct = np.trace(votes, axis1=1, axis2=2)
        attempts = voted.sum(axis=1)
        if self.variant == "majority":
            correct = np.full(len(index), correct.sum())
            attempts = np.full(len(index), attempts.sum())
        coverage = (voted.sum(axis=1, keepdims=True) + JEFFREYS) / (per_class.sum() + 2 * JEFFREYS)
        coverage = np.repeat(coverage, k, axis=1)
        accuracy = (correct + JEFFREYS) / (attempts + 2 * JEFFREYS)
        if self.fixed_accuracy is not None:
            accuracy = np.full(len(index), self.fixed_accuracy)
        wrong = (1 - accuracy) / (k - 1)
        table = np.where(np.eye(k, dtype=bool)[None], accuracy[:, None, None], wrong[:, None, None])
        p_cells[columns] = coverage[:, None, :] * table  # (s, vote, class)
        p_base[index] = 1 - coverage

    def run(
        self,
        design: _Design,
        counts: np.ndarray,
        posterior: np.ndarray,
        max_iter: int,
        tolerance: float,
    ) -> tuple[_Parameters, np.ndarray, int]:
        """EM from `posterior` until the mean log-likelihood per item moves less than
        `tolerance`; returns the parameters, the posterior and the iterations run."""
        total = max(counts.sum(), 1.0)
        previous = -np.inf
        parameters = self.maximize(design, counts, posterior)
        iterations = 0
        while iterations < max_iter:
            iterations += 1
            posterior, evidence = _posterior(parameters.log_joint(design, self.column_group))
            objective = float(counts @ evidence) / total
            parameters = self.maximize(design, counts, posterior)
            if objective - previous < tolerance:
                break
            previous = objective
        if self.base_measure is not None:
            parameters = self.maximize(design, counts, posterior, empirical=True)
            posterior = _normalize(parameters.log_joint(design, self.column_group))
        return parameters, posterior, iterations


def _dependence(
    patterns: np.ndarray, mass: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every pair of functions at once: the G statistic of independence given the class (on
    posterior-weighted co-occurrence counts, one sparse product per class), its degrees of
    freedom, and the conditional mutual information as a share of the smaller conditional
    entropy. Returns (G, degrees of freedom, strength), each (m, m), and (m, m, k, k) how many
    items each pair of functions voted each pair of classes on (the classes summed out)."""
    m = patterns.shape[1]
    votes = np.empty((len(patterns), m, k), dtype=np.float32)
    for c in range(k):
        votes[:, :, c] = patterns == c
    votes = votes.reshape(len(patterns), m * k)
    g = np.zeros((m, m))
    together = np.zeros((m, m, k, k))
    entropy = np.zeros(m)
    marginal = (votes.T @ mass.astype(np.float32)).astype(np.float64)  # (m * k, class)
    for c in range(k):
        total = mass[:, c].sum()
        if total <= 0:
            continue
        weighted = votes * mass[:, c : c + 1].astype(np.float32)
        both = (votes.T @ weighted).astype(np.float64)  # one dense product (BLAS) per class
        both = both.reshape(m, k, m, k).transpose(0, 2, 1, 3)  # (i, j, vote of i, vote of j)
        together += both
        own = marginal[:, c].reshape(m, k)
        table = np.empty((m, m, k + 1, k + 1))
        table[:, :, :k, :k] = both
        table[:, :, :k, k] = own[:, None, :] - both.sum(axis=3)
        table[:, :, k, :k] = own[None, :, :] - both.sum(axis=2)
        table[:, :, k, k] = (
            total - own.sum(1)[:, None] - own.sum(1)[None, :] + both.sum(axis=(2, 3))
        )
        table = np.maximum(table, 0.0)
        expected = table.sum(axis=3)[..., None] * table.sum(axis=2)[..., None, :] / total
        with np.errstate(divide="ignore", invalid="ignore"):
            g += 2 * np.where(table > 0, table * np.log(table / expected), 0.0).sum(axis=(2, 3))
        values = np.concatenate([own, (total - own.sum(1))[:, None]], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy -= np.where(values > 0, values * np.log(values / total), 0.0).sum(axis=1)
    present = (votes.T @ np.ones(len(patterns), dtype=np.float32)).reshape(m, k) > 0
    used = present.sum(axis=1) + (patterns == ABSTAIN).any(axis=0)  # values each one casts
    degrees = k * np.outer(used - 1, used - 1)
    np.fill_diagonal(g, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(
            np.minimum.outer(entropy, entropy) > 0,
            g / 2 / np.minimum.outer(entropy, entropy),
            0.0,
        )
    return g, degrees, np.clip(strength, 0.0, 1.0), together


class LabelModel:
    """A latent-class label model whose dependency structure is learned from the votes.

    LabelModel(cardinality=k, seed=0).fit(L) estimates, from L alone, the class balance, which
    functions depend on each other, and each group's vote table per class. `seed` fixes the
    held-out split of model selection and how predict() breaks exact ties between classes."""

    def __init__(
        self,
        cardinality: int,
        seed: int = 0,
        *,
        max_iter: int = 300,
        tolerance: float = 1e-8,
        structure: str = "auto",
    ) -> None:
        if cardinality < 2:
            raise ValueError(f"cardinality must be at least 2, got {cardinality}")
        if structure not in ("auto", *CANDIDATES):
            raise ValueError(f"structure must be 'auto' or one of {CANDIDATES}, got {structure!r}")
        self.cardinality = cardinality
        self.seed = seed
        self.max_iter = max_iter
        self.tolerance = tolerance
        self.structure = structure
        self.chosen_structure: str | None = None
        self.held_out: dict[str, float] = {}  # candidate -> mean held-out log-likelihood per item
        self.iterations = 0  # EM iterations of the last fit, over all its EM runs
        self.em_runs = 0
        self._structure: _Structure | None = None
        self._variant = "full"
        self._parameters: _Parameters | None = None
        self._confusion: np.ndarray | None = None  # (m, k, k + 1): P(vote + 1 | class), marginal
        self._dependencies: list[Dependency] = []
        self._unidentified_accuracy: float | None = None  # set by fit when no votes overlap

    # --- fitting -------------------------------------------------------------------------
    def fit(
        self,
        L: np.ndarray,
        Y_dev: np.ndarray | None = None,
        class_balance: np.ndarray | Sequence[float] | None = None,
        *,
        n_epochs: int | None = None,
        seed: int | None = None,
        progress_bar: bool = False,
    ) -> LabelModel:
        """Fits on L (Snorkel's signature): `class_balance` fixes the prior; else `Y_dev`, gold
        labels of any items (-1 = unknown), estimates it; else it is learned from L. `n_epochs`
        caps the iterations of each EM run; `seed` replaces the model's seed. `progress_bar` is
        accepted for Snorkel's callers and ignored (a fit takes about a second).

        BLAS runs on one thread here: the products are tall and thin, and OpenBLAS's threads
        spend more time waiting for each other than computing (5-10x the CPU time, measured
        with bench/label_model.py)."""
        del progress_bar
        with threadpool_limits(1, user_api="blas"):
            return self._fit(L, Y_dev, class_balance, n_epochs, seed)

    def _fit(
        self,
        L: np.ndarray,
        Y_dev: np.ndarray | None,
        class_balance: np.ndarray | Sequence[float] | None,
        n_epochs: int | None,
        seed: int | None,
    ) -> LabelModel:
        k = self.cardinality
        L = _check_matrix(L, k)
        n, m = L.shape
        if n == 0:
            raise ValueError("L has no rows: nothing to fit")
        if seed is not None:
            self.seed = seed
        if n_epochs is not None:
            if n_epochs < 1:
                raise ValueError(f"n_epochs must be at least 1, got {n_epochs}")
            self.max_iter = n_epochs
        fixed_prior = _known_prior(k, Y_dev, class_balance)
        self.iterations = self.em_runs = 0
        if m == 0:
            L = np.full((n, 1), ABSTAIN)
            m = 1
        patterns, _, counts = _patterns(L, k)
        start = _majority_posterior(patterns, k)
        # With no item voted on by two functions (one function, or functions that never
        # overlap), no agreement exists to measure an accuracy by: EM would take every vote for
        # the truth and claim certainty. The votes then rule out no accuracy from chance (1/k)
        # to certain, and the midpoint of that range is the confidence whose worst calibration
        # error over it is least; the majority model (one accuracy for all) keeps it.
        unidentified = bool(((patterns != ABSTAIN).sum(axis=1) < 2).all())
        self._unidentified_accuracy = (1 + 1 / k) / 2 if unidentified else None

        independent = _independent_structure(m, k)
        design = independent.design(patterns)
        fitted, posterior = self._run(independent, "full", None, fixed_prior, design, counts, start)
        singles = np.exp(fitted.log_cells), np.exp(fitted.log_base)
        rng = np.random.default_rng(self.seed)
        train = rng.binomial(counts.astype(np.int64), 0.5).astype(np.float64)
        split = train, counts - train
        evidence: dict = {}  # (structure, variant) -> held-out log-likelihood per pattern

        def held_out(structure: _Structure, variant: str, grid: _Design | None = None) -> float:
            """Fitted on one half of the items, the mean log-likelihood of the other half's votes."""
            base = None if variant != "groups" else _base_measure(structure, *singles)
            fitter = _Fitter(structure, _VARIANTS[variant], base, fixed_prior)
            grid = structure.design(patterns) if grid is None else grid
            parameters, _, iterations = fitter.run(
                grid, split[0], start, self.max_iter, self.tolerance * SEARCH_LOOSENING
            )
            self.iterations += iterations
            self.em_runs += 1
            log_joint = parameters.log_joint(grid, fitter.column_group)
            evidence[id(structure), variant] = _log_evidence(log_joint)
            return float(split[1] @ evidence[id(structure), variant]) / max(split[1].sum(), 1.0)

        names = [self.structure] if self.structure != "auto" else list(CANDIDATES)
        if m < IDENTIFIABLE:  # too few views to identify free tables: fewer parameters only
            names = [n for n in names if n in ("compact", "majority")] or ["majority"]
            if m < 2:
                names = ["majority"]
        if unidentified:
            names = ["majority"]
        self.held_out = {}
        options: dict[str, tuple[_Structure, _Parameters | None]] = {}
        for name in names:
            if name == "groups":
                continue
            options[name] = independent, fitted if name == "independent" else None
            if len(names) > 1:
                self.held_out[name] = held_out(independent, name, design)
        dependent: list[Dependency] = []
        if "groups" in names:
            reference = self.held_out.get("independent", -np.inf)
            first_round = _dependence(patterns, posterior * counts[:, None], k)
            searches = [
                self._learn_groups(
                    patterns, counts, posterior, singles, fixed_prior, start, reference,
                    held_out, np.arange(m), first_round,
                )
            ]  # fmt: skip
            # The independent fit may have taken a large dependent group for the class: then
            # the others look dependent instead (or nothing does). The search also starts from
            # the groups of excess agreement, which no fitted class informs.
            admissible = self._admissible(patterns, counts)
            for agreed in _agreement_starts(first_round[3], admissible):
                structure = _grouped_structure(agreed, patterns, counts, singles)
                _, from_agreement = self._run(
                    structure, "full", _base_measure(structure, *singles), fixed_prior,
                    structure.design(patterns), counts, start, SEARCH_LOOSENING,
                )  # fmt: skip
                searches.append(
                    self._learn_groups(
                        patterns, counts, from_agreement, singles, fixed_prior, start,
                        reference, held_out, agreed,
                    )
                )  # fmt: skip
            grouped, searched, dependent, score = _simplest_search(
                searches,
                [
                    evidence.get((id(found[0]), "groups"))
                    if len(found[0].groups) < m
                    else evidence.get((id(independent), "independent"))
                    for found in searches
                ],
                split[1],
                [_names_its_classes(found[1], start, counts) for found in searches],
            )
            if len(grouped.groups) < m:
                parameters, _ = self._run(
                    grouped, "full", _base_measure(grouped, *singles), fixed_prior,
                    grouped.design(patterns), counts, searched,
                )  # fmt: skip
                options["groups"] = grouped, parameters
                self.held_out["groups"] = score
            elif not options:
                options["groups"] = independent, fitted
        ranked = _one_standard_error(
            [name for name in CANDIDATES if name in options],
            {name: evidence.get((id(options[name][0]), name)) for name in options},
            split[1],
        )
        majority = _majority_posterior(patterns, k)
        for chosen in ranked:
            structure, parameters = options[chosen]
            if parameters is None:
                parameters, _ = self._run(
                    structure, _VARIANTS[chosen], None, fixed_prior, design, counts, start
                )
            grid = design if structure is independent else structure.design(patterns)
            if chosen == "majority" or _names_its_classes(
                _normalize(parameters.log_joint(grid, structure.column_group)), majority, counts
            ):
                break
        self.chosen_structure = chosen
        self._structure, self._variant, self._parameters = structure, _VARIANTS[chosen], parameters
        self._confusion = _marginal_confusion(structure, parameters, m)
        self._dependencies = dependent if chosen == "groups" else []
        return self

    def _run(
        self,
        structure: _Structure,
        variant: str,
        base_measure: tuple[np.ndarray, np.ndarray] | None,
        fixed_prior: np.ndarray | None,
        design: _Design,
        counts: np.ndarray,
        posterior: np.ndarray,
        loosening: float = 1.0,
    ) -> tuple[_Parameters, np.ndarray]:
        fixed_accuracy = self._unidentified_accuracy if variant == "majority" else None
        fitter = _Fitter(structure, variant, base_measure, fixed_prior, fixed_accuracy)
        parameters, posterior, iterations = fitter.run(
            design, counts, posterior, self.max_iter, self.tolerance * loosening
        )
        self.iterations += iterations
        self.em_runs += 1
        return parameters, posterior

    def _admissible(
        self, patterns: np.ndarray, counts: np.ndarray
    ) -> Callable[[np.ndarray, np.ndarray], bool]:
        """Whether grouping `candidate` (a group label per function) can be fitted: at least
        IDENTIFIABLE groups, and every group not already in `current` small enough for its
        joint votes to be coded as one integer and for its table's distinct joint votes to hold
        CELL_MINIMUM items each on average (the class summed out: within a class, cells seen
        rarely borrow from the members' independent tables, see _Fitter._groups)."""
        k, items = self.cardinality, counts.sum()

        def admissible(candidate: np.ndarray, current: np.ndarray) -> bool:
            if len(np.unique(candidate)) < IDENTIFIABLE:
                return False
            for label in np.unique(candidate):
                members = np.nonzero(candidate == label)[0]
                if len(members) == 1 or np.array_equal(
                    candidate == label, current == current[members[0]]
                ):
                    continue
                if not _fits_in_code(len(members), k):
                    return False
                cells = len(np.unique(_joint_codes(patterns[:, members], k)))
                if cells * CELL_MINIMUM > items:
                    return False
            return True

        return admissible

    def _learn_groups(
        self,
        patterns: np.ndarray,
        counts: np.ndarray,
        posterior: np.ndarray,
        singles: tuple[np.ndarray, np.ndarray],
        fixed_prior: np.ndarray | None,
        start: np.ndarray,
        score: float,
        held_out: Callable[..., float],
        initial: np.ndarray,
        first_round: tuple[np.ndarray, ...] | None = None,
    ) -> tuple[_Structure, np.ndarray, list[Dependency], float]:
        """Forward search. Each round, the pairs across groups whose dependence given the class
        is significant propose two merges: the most dependent pair alone, and every connected
        set of dependent pairs at once (a fit that ignores a large dependent group misplaces the
        class, and merging that group pair by pair never puts it back). The proposal with the
        better held-out likelihood is kept if it beats the structure so far; each refit starts
        from the majority vote again (a start from the misplaced fit stays misplaced)."""
        k, m = self.cardinality, patterns.shape[1]
        group_of = initial.copy()
        pairs = max(m * (m - 1) // 2, 1)
        allowed = self._admissible(patterns, counts)

        def admissible(candidate: np.ndarray) -> bool:
            return allowed(candidate, group_of)

        while len(np.unique(group_of)) > IDENTIFIABLE:
            if first_round is not None:
                g, degrees, strength, _ = first_round
                first_round = None
            else:
                g, degrees, strength, _ = _dependence(patterns, posterior * counts[:, None], k)
            critical = chi2.isf(SIGNIFICANCE / pairs, np.maximum(degrees, 1))
            significant = (g > critical) & (degrees > 0) & (group_of[:, None] != group_of[None, :])
            first, second = np.nonzero(np.triu(significant, 1))
            if len(first) == 0:
                break
            # two proposals: the most dependent admissible pair alone, and the connected set of
            # dependent pairs that holds it; the held-out likelihood picks one
            order = sorted(zip(first, second, strict=True), key=lambda p: -strength[p])
            together = _components(group_of, first, second)
            proposals = []
            for i, j in order:
                pair = np.where(group_of == group_of[j], group_of[i], group_of)
                if admissible(pair):
                    proposals.append(pair)
                    joined = np.isin(group_of, group_of[together == together[i]])
                    whole = np.where(joined, group_of[i], group_of)
                    if not np.array_equal(whole, pair) and admissible(whole):
                        proposals.append(whole)
                    break
            if not proposals:
                break
            if len(proposals) == 1:
                group_of = proposals[0]
            else:
                scores = [
                    held_out(_grouped_structure(c, patterns, counts, singles), "groups")
                    for c in proposals
                ]
                group_of = proposals[int(np.argmax(scores))]
            structure = _grouped_structure(group_of, patterns, counts, singles)
            _, posterior = self._run(
                structure, "full", _base_measure(structure, *singles), fixed_prior,
                structure.design(patterns), counts, start, SEARCH_LOOSENING,
            )  # fmt: skip

        structure = _grouped_structure(group_of, patterns, counts, singles)
        if len(structure.groups) == m:
            return structure, posterior, [], score
        score = held_out(structure, "groups")
        _, _, strength, _ = _dependence(patterns, posterior * counts[:, None], k)
        found = [
            Dependency(int(i), int(j), float(strength[i, j]))
            for i in range(m)
            for j in range(i + 1, m)
            if group_of[i] == group_of[j]
        ]
        return structure, posterior, found, score

    # --- using a fitted model ------------------------------------------------------------
    def _fitted(self) -> None:
        if self._parameters is None:
            raise RuntimeError("the label model is not fitted: call fit(L) first")

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """(n, k) class probabilities; a row without votes gets P(class | all abstained)."""
        self._fitted()
        L = _check_matrix(L, self.cardinality)
        assert self._confusion is not None and self._structure is not None
        assert self._parameters is not None
        m = self._confusion.shape[0]
        if L.shape[1] == 0 and m == 1:
            L = np.full((len(L), 1), ABSTAIN)
        if L.shape[1] != m:
            raise ValueError(f"L has {L.shape[1]} labeling functions, the model was fitted on {m}")
        if len(L) == 0:
            return np.zeros((0, self.cardinality))
        patterns, inverse, _ = _patterns(L, self.cardinality)
        log_joint = self._parameters.log_joint(
            self._structure.design(patterns), self._structure.column_group
        )
        return _normalize(log_joint)[inverse]

    def predict(
        self,
        L: np.ndarray,
        return_probs: bool = False,
        tie_break_policy: str = "true-random",
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The most probable class per row. Ties (probabilities within 1e-5) follow Snorkel's
        policies: "abstain" gives -1, "random" a pick that depends only on the row's position
        (the same on every call), "true-random" a pick drawn with this model's `seed` (our
        default, so every row gets a class; Snorkel's predict defaults to "abstain")."""
        if tie_break_policy not in TIE_BREAK_POLICIES:
            raise ValueError(
                f"tie_break_policy must be one of {TIE_BREAK_POLICIES}, got {tie_break_policy!r}"
            )
        proba = self.predict_proba(L)
        predicted = _probabilities_to_predictions(proba, tie_break_policy, self.seed)
        return (predicted, proba) if return_probs else predicted

    def score(
        self,
        L: np.ndarray,
        Y: np.ndarray,
        metrics: Sequence[str] = ("accuracy",),
        tie_break_policy: str = "abstain",
    ) -> dict[str, float]:
        """Snorkel's `score`: metrics of predict(L) against gold Y; rows where the gold or the
        prediction is -1 are left out, except for "coverage" (the share of rows predicted)."""
        predicted, _ = self.predict(L, return_probs=True, tie_break_policy=tie_break_policy)
        return score_predictions(np.asarray(Y), predicted, metrics)

    def get_weights(self) -> np.ndarray:
        """(m,) Snorkel's name for the estimated accuracy of each function."""
        return np.clip(self.lf_accuracies(), 0.0, 1.0)

    def save(self, path: str | Path) -> None:
        """Writes the fitted model as JSON, atomically (a temporary name, then a rename)."""
        self._fitted()
        assert self._parameters is not None and self._structure is not None
        assert self._confusion is not None
        state = {
            "format": FORMAT,
            "cardinality": self.cardinality,
            "seed": self.seed,
            "chosen": self.chosen_structure,
            "variant": self._variant,
            "structure": self._structure.to_json(),
            "log_prior": self._parameters.log_prior.tolist(),
            "log_base": self._parameters.log_base.tolist(),
            "log_cells": self._parameters.log_cells.tolist(),
            "confusion": self._confusion.tolist(),
            "dependencies": [[d.first, d.second, d.strength] for d in self._dependencies],
        }
        path = Path(path)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(descriptor, "w") as out:
            json.dump(state, out)
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: str | Path) -> LabelModel:
        """A model written by save(); predicts exactly as the saved one did."""
        try:
            state = json.loads(Path(path).read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot read a label model from {path}: {error}") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{path} is not a label model saved in format {FORMAT}")
        k = state["cardinality"]
        model = cls(cardinality=k, seed=state["seed"])
        model.chosen_structure = state["chosen"]
        model._variant = state["variant"]
        model._structure = _Structure.from_json(k, state["structure"])
        model._parameters = _Parameters(
            *(
                np.asarray(state[key], dtype=np.float64).reshape(-1, k)
                for key in ("log_prior", "log_base", "log_cells")
            )
        )
        model._parameters.log_prior = model._parameters.log_prior.ravel()
        model._confusion = np.asarray(state["confusion"], dtype=np.float64)
        model._dependencies = [
            Dependency(int(a), int(b), float(s)) for a, b, s in state["dependencies"]
        ]
        return model

    def class_balance(self) -> np.ndarray:
        """(k,) the estimated share of each class."""
        self._fitted()
        assert self._parameters is not None
        return np.exp(self._parameters.log_prior)

    def lf_accuracies(self) -> np.ndarray:
        """(m,) P(vote is the true class | the function votes), per labeling function (for a
        function in a group, from its own votes: the group's table summed over the others)."""
        self._fitted()
        assert self._confusion is not None
        k = self.cardinality
        prior = self.class_balance()
        correct = (prior * self._confusion[:, np.arange(k), np.arange(k) + 1]).sum(axis=1)
        voting = (prior * (1 - self._confusion[:, :, 0])).sum(axis=1)
        return correct / np.maximum(voting, 1e-300)

    def groups(self) -> list[list[int]]:
        """The groups of dependent functions found (groups of one left out)."""
        self._fitted()
        assert self._structure is not None
        return [g.tolist() for g in self._structure.groups if len(g) > 1]

    def dependencies(self) -> list[Dependency]:
        """Pairs of functions modelled as dependent (in one group), strongest first."""
        self._fitted()
        return sorted(self._dependencies, key=lambda d: -d.strength)


def _grouped_structure(
    group_of: np.ndarray,
    patterns: np.ndarray,
    counts: np.ndarray,
    singles: tuple[np.ndarray, np.ndarray],
) -> _Structure:
    """The structure of a grouping (a label per function): a group's own cells are its joint
    votes seen on at least CELL_MINIMUM items per class; the rest share its "other" cell.
    `singles` are the (m * k, k) vote and (m, k) abstain tables of the functions fitted alone."""
    k = singles[1].shape[1]
    groups, codes = [], []
    for label in np.unique(group_of):
        members = np.nonzero(group_of == label)[0]
        groups.append(members)
        if len(members) == 1:
            codes.append(np.arange(1, k + 1))
        else:
            seen = np.unique(_joint_codes(patterns[:, members], k)[counts > 0])
            codes.append(seen[seen > 0])
    cells, base = singles
    m = patterns.shape[1]
    tables = np.concatenate([base[:, None, :], cells.reshape(m, k, k)], axis=1)
    return _Structure(k, groups, codes, tables)


CONCENTRATIONS = np.logspace(-1, 8, 28)  # where the evidence's maximum is looked for


def _evidence_concentration(counts: np.ndarray, q: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Per class (column), the Dirichlet concentration beta maximizing the Dirichlet-multinomial
    evidence of `counts` under the base measure `q`."""
    from scipy.special import gammaln

    beta = CONCENTRATIONS[:, None, None]  # (grid, 1, 1)
    alpha = beta * q[None]  # (grid, values, class)
    evidence = (
        gammaln(beta[:, 0])
        - gammaln(totals[None] + beta[:, 0])
        + (gammaln(counts[None] + alpha) - gammaln(alpha)).sum(axis=1)
    )  # (grid, class)
    return CONCENTRATIONS[np.argmax(evidence, axis=0)]


def _one_standard_error(
    names: list[str], evidence: dict[str, np.ndarray | None], weights: np.ndarray
) -> list[str]:
    """Candidates, richest first, reordered so the one to keep comes first: the simplest whose
    held-out log-likelihood is within one standard error (of the paired per-item difference)
    of the best's; the others follow from the best held-out down."""
    scored = [name for name in names if evidence[name] is not None]
    if len(scored) < 2:
        return names
    total = max(weights.sum(), 1.0)
    mean = {name: float(weights @ evidence[name]) / total for name in scored}
    best = max(scored, key=mean.__getitem__)
    keep = best
    for name in scored[scored.index(best) + 1 :]:  # simpler than the best
        difference = evidence[best] - evidence[name]
        spread = float(weights @ (difference - mean[best] + mean[name]) ** 2) / total
        if mean[best] - mean[name] <= np.sqrt(spread / total):
            keep = name
    rest = sorted((n for n in names if n != keep), key=lambda n: -mean.get(n, -np.inf))
    return [keep, *rest]


def _simplest_search(
    searches: list[tuple[_Structure, np.ndarray, list[Dependency], float]],
    evidence: list[np.ndarray | None],
    weights: np.ndarray,
    named: list[bool],
) -> tuple[_Structure, np.ndarray, list[Dependency], float]:
    """Of the structures the searches ended in whose fit names its classes (_names_its_classes:
    the others are refused later anyway), the one with the fewest table cells among those whose
    held-out log-likelihood is within one standard error (of the paired per-item difference) of
    the best's: Breiman's rule again. Searches from different starts can end in structures that
    explain the votes about equally well, and a larger group, whose two-state table can act as a
    second latent class, then wins by noise alone."""
    eligible = [i for i in range(len(searches)) if named[i]] or list(range(len(searches)))
    best = max(eligible, key=lambda i: searches[i][3])
    if any(evidence[i] is None for i in eligible):
        return searches[best]
    total = max(weights.sum(), 1.0)
    within = []
    for i in eligible:
        difference = evidence[best] - evidence[i]
        mean = float(weights @ difference) / total
        spread = float(weights @ (difference - mean) ** 2) / total
        if mean <= np.sqrt(spread / total):
            within.append(i)
    return searches[min(within, key=lambda i: (int(searches[i][0].sizes.sum()), -searches[i][3]))]


def _names_its_classes(posterior: np.ndarray, majority: np.ndarray, counts: np.ndarray) -> bool:
    """Whether the model's classes are the votes' classes: a latent class model is the same
    model under any renaming of its classes, and the votes name them, so of all renamings the
    model's own must agree best with the majority vote. A model that fits the votes best with
    its classes renamed (a group voting a consistent wrong class taken for the truth) is
    refused."""
    from scipy.optimize import linear_sum_assignment

    agreement = (posterior * counts[:, None]).T @ majority  # (model's class, voted class)
    rows, columns = linear_sum_assignment(-agreement)
    best = agreement[rows, columns].sum()
    return bool(np.trace(agreement) >= best - 1e-9 * max(best, 1.0))


def _agreement_starts(
    together: np.ndarray, admissible: Callable[[np.ndarray, np.ndarray], bool]
) -> list[np.ndarray]:
    """Groupings to start the search from: functions that agree more than the class explains,
    found without a fitted class (a fit that locks onto a large dependent group measures every
    other dependence against the wrong class). `together` (m, m, k, k) counts the items each
    pair voted each pair of classes on.

    A pair's excess agreement, kappa = P(same vote) - P(same vote by chance) on the items both
    vote on, is a_i * a_j * (1 - sum of squared class shares) when the two are independent
    given the class with errors spread evenly (a_i: how much more often function i's vote is
    the class than a given other class): a rank-one matrix. Each a_i is estimated robustly, as
    the median over all pairs (j, l) of kappa_ij * kappa_il / kappa_jl (the triplet method; a
    median, so a minority of dependent triplets does not move it), and a pair whose kappa
    exceeds a_i * a_j by more than the Bonferroni-corrected one-sided normal quantile of its
    standard error is dependent. Each connected set of dependent pairs is one start (the
    others left alone; its pairs merged the most significant first, as long as the grouping
    stays admissible), all of them together another, and each component whole that has a
    member dependent on all the others. Starts need not be right: the held-out likelihood of
    where each search ends chooses."""
    m = together.shape[0]
    group_of = np.arange(m)
    if m < 4:
        return []
    both = together.sum(axis=(2, 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        same = np.trace(together, axis1=2, axis2=3) / both
        chance = (together.sum(axis=3) * together.sum(axis=2)).sum(axis=2) / both**2
        kappa = np.where(both > 0, same - chance, 0.0)
        error = np.where(both > 0, np.sqrt(np.maximum(same * (1 - same), 0.0) / both), np.inf)
    np.fill_diagonal(kappa, 0.0)
    np.fill_diagonal(error, np.inf)
    # a_i^2 from every triplet (i, j, l) whose kappa_jl is clearly positive
    usable = np.triu(kappa > 2 * error, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = kappa[:, :, None] * kappa[:, None, :] / kappa[None, :, :]  # (i, j, l)
    mask = usable[None] & (np.arange(m)[:, None, None] != np.arange(m)[None, :, None])
    mask &= np.arange(m)[:, None, None] != np.arange(m)[None, None, :]
    mask = mask.reshape(m, -1)
    squared = np.zeros(m)
    some = mask.any(axis=1)
    squared[some] = np.nanmedian(np.where(mask, ratios.reshape(m, -1), np.nan)[some], axis=1)
    scale = np.sqrt(np.maximum(np.nan_to_num(squared), 0.0))
    scale *= np.where(np.median(kappa, axis=1) < 0, -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (kappa - np.outer(scale, scale)) / error
    critical = norm.isf(SIGNIFICANCE / (m * (m - 1) // 2))
    first, second = np.nonzero(np.triu(np.nan_to_num(z, nan=0.0, neginf=0.0) > critical, 1))
    starts: list[np.ndarray] = []
    components = _components(group_of, first, second)
    order = np.argsort(-z[first, second], kind="stable")
    whole = group_of.copy()
    for label in np.unique(components):
        if (components == label).sum() < 2:
            continue
        # the component's pairs merged, the most significant first, while admissible
        alone = group_of.copy()
        for i, j in zip(first[order], second[order], strict=True):
            if components[i] != label or alone[i] == alone[j]:
                continue
            candidate = np.where(alone == alone[j], alone[i], alone)
            if admissible(candidate, alone):
                alone = candidate
        if np.array_equal(alone, group_of):
            continue
        starts.append(alone)
        merged = np.where(alone != np.arange(m), alone, whole)
        if admissible(merged, whole):
            whole = merged
    if len(starts) > 1 and not any(np.array_equal(whole, s) for s in starts):
        starts.append(whole)
    # Each component whole, too, where one member depends on every other: a large group of
    # loose copies (each copying the same original: a star around it) has more distinct joint
    # votes than the cell rule lets a merge create, and a search started with one copy outside
    # takes the class from the group and merges the independent functions instead. (A chain
    # of dependent pairs is no such group: among many weak functions it is what chance links.)
    # A start is only a start: the held-out likelihood of where it ends still chooses (a group
    # a start holds is kept as it is).
    k = together.shape[2]
    dependent = np.zeros((m, m), dtype=bool)
    dependent[first, second] = dependent[second, first] = True
    for label in np.unique(components):
        members = np.nonzero(components == label)[0]
        if len(members) < 2:
            continue
        complete = np.where(components == label, label, group_of)
        hub = (dependent[np.ix_(members, members)].sum(axis=1) == len(members) - 1).any()
        if (
            not hub
            or len(np.unique(complete)) < IDENTIFIABLE
            or not _fits_in_code(len(members), k)
            or any(np.array_equal(complete, s) for s in starts)
        ):
            continue
        starts.append(complete)
    return starts


def _components(group_of: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Groups joined along every given pair (connected components)."""
    labels = group_of.copy()
    changed = True
    while changed:
        changed = False
        for i, j in zip(first, second, strict=True):
            low = min(labels[i], labels[j])
            for x in (i, j):
                if labels[x] != low:
                    labels[labels == labels[x]] = low
                    changed = True
    return labels


def _decode(codes: np.ndarray, size: int, k: int) -> np.ndarray:
    """(cells, size) the member votes (-1 abstain) of joint codes."""
    powers = (k + 1) ** np.arange(size, dtype=np.int64)
    return (codes[:, None] // powers) % (k + 1) - 1


def _base_measure(
    structure: _Structure, single_cells: np.ndarray, single_base: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The prior's spread over each table: uniform for a function alone, the product of its
    members' independent tables (fitted first) for a group, whose last column takes the mass of
    every joint vote not seen."""
    k = structure.k
    q_cells, q_base = [], []
    for group, codes in zip(structure.groups, structure.codes, strict=True):
        if len(group) == 1:
            q_cells.append(np.full((k, k), 1 / (k + 1)))
            q_base.append(np.full(k, 1 / (k + 1)))
            continue
        votes = _decode(codes, len(group), k)  # (cells, members)
        # member j's P(vote | class): column j * k + v of the independent fit, or its base
        tables = np.concatenate(
            [single_base[group][:, None, :], single_cells.reshape(-1, k, k)[group]], axis=1
        )  # (members, k + 1 values, class)
        cell = np.prod(tables[np.arange(len(group)), votes + 1], axis=1)  # (cells, class)
        base = np.prod(single_base[group], axis=0)
        unseen = np.maximum(1 - cell.sum(axis=0) - base, 1e-12)
        q_cells.append(np.vstack([cell, unseen]))
        q_base.append(base)
    return np.vstack(q_cells), np.vstack(q_base)


def _marginal_confusion(structure: _Structure, parameters: _Parameters, m: int) -> np.ndarray:
    """(m, k, k + 1) each function's own P(vote + 1 | class), summed out of its group."""
    k = structure.k
    out = np.zeros((m, k, k + 1))
    cells, base = np.exp(parameters.log_cells), np.exp(parameters.log_base)
    for g, (group, codes, offset) in enumerate(
        zip(structure.groups, structure.codes, structure.offsets, strict=True)
    ):
        out[group, :, 0] += base[g]
        if len(group) == 1:
            out[group[0], :, 1:] = cells[offset : offset + k].T
            continue
        votes = _decode(codes, len(group), k)
        for position, j in enumerate(group):
            np.add.at(out[j].T, votes[:, position] + 1, cells[offset : offset + len(codes)])
        if structure.tables is not None:  # "other": each member's share of it, independently
            member = structure.tables[group]  # (members, k + 1, class)
            cell = np.prod(member[np.arange(len(group)), votes + 1], axis=1)  # (cells, class)
            for position, j in enumerate(group):
                rare = member[position].copy()  # (k + 1, class)
                np.subtract.at(rare, votes[:, position] + 1, cell)
                rare[0] -= np.prod(member[:, 0], axis=0)
                rare = np.maximum(rare, 0.0)
                share = rare / np.maximum(rare.sum(axis=0), 1e-300)
                out[j] += (cells[offset + len(codes)] * share).T
    return out / out.sum(axis=2, keepdims=True)


def _known_prior(
    k: int, Y_dev: np.ndarray | None, class_balance: np.ndarray | Sequence[float] | None
) -> np.ndarray | None:
    if class_balance is not None:
        prior = np.asarray(class_balance, dtype=np.float64).ravel()
        if prior.shape != (k,) or (prior < 0).any() or not np.isclose(prior.sum(), 1.0):
            raise ValueError(f"class_balance must be {k} non-negative shares summing to 1")
        prior = np.clip(prior, 1e-6, None)
        return prior / prior.sum()
    if Y_dev is not None:
        gold = np.asarray(Y_dev).astype(np.int64).ravel()
        gold = gold[gold != ABSTAIN]
        if len(gold) == 0 or gold.min() < 0 or gold.max() >= k:
            raise ValueError(f"Y_dev must hold classes in 0..{k - 1} (-1 for unknown)")
        return (np.bincount(gold, minlength=k) + 1.0) / (len(gold) + k)
    return None


def _probabilities_to_predictions(proba: np.ndarray, policy: str, seed: int) -> np.ndarray:
    if len(proba) == 0:
        return np.zeros(0, dtype=np.int64)
    tied = proba.max(axis=1, keepdims=True) - proba < TIE_TOLERANCE
    if policy == "abstain":
        return np.where(tied.sum(axis=1) > 1, ABSTAIN, np.argmax(proba, axis=1)).astype(np.int64)
    if policy == "random":  # a function of the row's position only: the same on every call
        jitter = ((np.arange(len(proba))[:, None] * 2654435761 + np.arange(proba.shape[1]) * 40503)
                  % 65521) / 65521.0  # fmt: skip
    else:
        jitter = np.random.default_rng(seed).uniform(size=proba.shape)
    return np.argmax(jitter * tied + tied * 2, axis=1).astype(np.int64)


SCORE_METRICS = ("accuracy", "coverage", "precision", "recall", "f1", "f1_micro", "f1_macro",
                 "matthews_corrcoef")  # fmt: skip


def score_predictions(
    gold: np.ndarray, predicted: np.ndarray, metrics: Sequence[str]
) -> dict[str, float]:
    """Snorkel's Scorer on plain arrays (precision, recall and f1 are binary, positive class 1,
    as in scikit-learn); rows where the gold or the prediction is -1 are left out, except for
    coverage."""
    from sklearn import metrics as sk

    gold, predicted = gold.astype(np.int64).ravel(), predicted.astype(np.int64).ravel()
    if len(gold) != len(predicted):
        raise ValueError(f"Y has {len(gold)} labels for {len(predicted)} rows of L")
    unknown = [name for name in metrics if name not in SCORE_METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; known: {', '.join(SCORE_METRICS)}")
    keep = (gold != ABSTAIN) & (predicted != ABSTAIN)
    g, p = gold[keep], predicted[keep]
    computed = {
        "accuracy": lambda: sk.accuracy_score(g, p),
        "precision": lambda: sk.precision_score(g, p, zero_division=0),
        "recall": lambda: sk.recall_score(g, p, zero_division=0),
        "f1": lambda: sk.f1_score(g, p, zero_division=0),
        "f1_micro": lambda: sk.f1_score(g, p, average="micro", zero_division=0),
        "f1_macro": lambda: sk.f1_score(g, p, average="macro", zero_division=0),
        "matthews_corrcoef": lambda: sk.matthews_corrcoef(g, p),
    }
    out = {}
    for name in metrics:
        if name == "coverage":
            out[name] = float((predicted != ABSTAIN).mean()) if len(predicted) else 0.0
        else:
            out[name] = float(computed[name]()) if len(g) else float("nan")
    return out


def majority_vote(L: np.ndarray, cardinality: int, seed: int = 0) -> np.ndarray:
    """The most frequent vote per row (ties at random by `seed`, -1 where nobody voted)."""
    L = _check_matrix(L, cardinality)
    counts = np.stack([(c == L).sum(axis=1) for c in range(cardinality)], axis=1)
    rng = np.random.default_rng(seed)
    top = counts.max(axis=1, keepdims=True)
    tied = counts == top
    choice = np.argmax(rng.uniform(size=counts.shape) * tied + tied, axis=1)
    return np.where(top[:, 0] > 0, choice, ABSTAIN).astype(np.int64)
