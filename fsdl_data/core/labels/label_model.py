"""A label model: the true class of each item from many noisy, partly redundant votes.

`L` is an (n, m) integer array: L[i, j] is labeling function j's vote on item i, a class in
0..k-1, or -1 where it abstains (Snorkel's convention).

The model is Dawid-Skene's, fitted by EM on L alone, and the class balance is one of its
parameters, not an assumption. Two structures are fitted and the one with the better BIC kept:
- "full": every labeling function has a confusion matrix P(vote | class) whose columns include
  "abstain", so a function that only ever votes one class, or abstains more on some classes, is
  described exactly (rules like "the title mentions pasta -> food" are of this kind);
- "compact": a function that only ever votes for one class keeps its exact description (how often
  it fires on each class); any other gets two numbers, a coverage and an accuracy, its errors
  spread evenly over the other classes. With few items, few functions or a rare class the full
  structure is barely identified, and this one is what the data can support.

Votes are assumed independent given the class; where two functions depend on each other beyond
that (a near-copy, a rule on the same words), the model
measures the excess agreement between them and discounts each member of a dependent group, so
a group counts about as much as one independent function.

Fitting works on the distinct rows of L (weighted by their counts), so it costs the number of
distinct vote patterns, not of items.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ABSTAIN = -1
COPY_FLOOR = 0.5  # identical-vote share (over items either votes on) below which no copy is seen
GROUP_STRENGTH = 0.8  # dependency from which functions count as copies of each other


STRUCTURES = ("full", "compact")
TIE_BREAK_POLICIES = ("abstain", "random", "true-random")
TIE_TOLERANCE = 1e-5  # probabilities closer than this are a tie (Snorkel's tolerance)
FORMAT = "fsdl-label-model-1"


@dataclass(frozen=True)
class _Fit:
    structure: str
    bic: float
    prior: np.ndarray
    confusion: np.ndarray
    weights: np.ndarray
    dependency: np.ndarray


@dataclass(frozen=True)
class Dependency:
    """Two labeling functions that agree more than their accuracies explain."""

    first: int
    second: int
    strength: float  # 0: independent given the class; 1: the same function twice


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
    if n == 0:
        return L, np.zeros(0, dtype=np.int64), np.zeros(0)
    if m * np.log2(cardinality + 1) < 62:  # a row fits in one integer: sort integers, not rows
        powers = (cardinality + 1) ** np.arange(m, dtype=np.int64)
        codes = (L + 1) @ powers
        _, first, inverse, counts = np.unique(
            codes, return_index=True, return_inverse=True, return_counts=True
        )
        return L[first], inverse.reshape(-1), counts.astype(np.float64)
    patterns, inverse, counts = np.unique(L, axis=0, return_inverse=True, return_counts=True)
    return patterns, inverse.reshape(-1), counts.astype(np.float64)


def _copy_groups(dependency: np.ndarray) -> list[np.ndarray]:
    """Groups of functions that are all pairwise at least GROUP_STRENGTH dependent (complete
    linkage: A like B and A like C does not make B like C)."""
    m = len(dependency)
    groups: list[set[int]] = [{j} for j in range(m)]
    pairs = sorted(zip(*np.nonzero(np.triu(dependency >= GROUP_STRENGTH, 1)), strict=True),
                   key=lambda p: -dependency[p])  # fmt: skip
    for i, j in pairs:
        a = next(g for g in groups if i in g)
        b = next(g for g in groups if j in g)
        if a is not b and all(dependency[x, y] >= GROUP_STRENGTH for x in a for y in b):
            a |= b
            groups.remove(b)
    return [np.array(sorted(g)) for g in groups if len(g) > 1]


def _discounts(dependency: np.ndarray, coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights for fitting and for predicting (see LabelModel._fit_structure)."""
    groups = _copy_groups(dependency)
    in_group = np.zeros(len(coverage), dtype=bool)
    for members in groups:
        in_group[members] = True
    soft = dependency.copy()
    for members in groups:
        soft[np.ix_(members, members)] = 0.0  # a group's own members are handled as a group
    weights = 1.0 / (1.0 + soft.sum(axis=1))
    fit, predict = weights.copy(), weights.copy()
    for members in groups:
        lead = members[np.argmax(coverage[members])]
        fit[members] = 0.0
        fit[lead] = weights[lead]
        predict[members] = weights[lead] / len(members)
    return fit, predict


def _single_targets(patterns: np.ndarray) -> np.ndarray:
    """Per function: the one class it ever votes for in the data, or -1 (several, or none)."""
    targets = np.full(patterns.shape[1], -1)
    for j in range(patterns.shape[1]):
        voted = np.unique(patterns[:, j][patterns[:, j] != ABSTAIN])
        if len(voted) == 1:
            targets[j] = voted[0]
    return targets


def _mean_log_evidence(log_joint: np.ndarray, counts: np.ndarray) -> float:
    top = log_joint.max(axis=1)
    log_evidence = top + np.log(np.exp(log_joint - top[:, None]).sum(axis=1))
    return float((counts * log_evidence).sum() / counts.sum())


def _log_normalize(log_p: np.ndarray) -> np.ndarray:
    log_p = log_p - log_p.max(axis=1, keepdims=True)
    p = np.exp(log_p)
    return p / p.sum(axis=1, keepdims=True)


class LabelModel:
    """Dawid-Skene label model with estimated class balance and dependency discounting.

    LabelModel(cardinality=k, seed=0).fit(L) estimates, from L alone, every labeling function's
    confusion matrix (hence its accuracy) and the class balance. `seed` fixes how predict() breaks
    exact ties between classes; fitting itself is deterministic.
    """

    def __init__(
        self,
        cardinality: int,
        seed: int = 0,
        *,
        max_iter: int = 300,
        tolerance: float = 1e-7,
        smoothing: float = 0.5,
        dependency_floor: float = 0.7,
        structure: str = "auto",
    ) -> None:
        if cardinality < 2:
            raise ValueError(f"cardinality must be at least 2, got {cardinality}")
        self.cardinality = cardinality
        self.seed = seed
        self.max_iter = max_iter
        self.tolerance = tolerance
        self.smoothing = smoothing
        self.dependency_floor = dependency_floor
        if structure not in ("auto", *STRUCTURES):
            raise ValueError(f"structure must be 'auto' or one of {STRUCTURES}, got {structure!r}")
        self.structure = structure
        self.chosen_structure: str | None = None
        self._structure = "full"
        self._targets: np.ndarray | None = None  # the one class a function votes for, or -1
        self._prior: np.ndarray | None = None
        self._confusion: np.ndarray | None = None  # (m, k, k + 1): P(vote + 1 | class)
        self._weights: np.ndarray | None = None
        self._dependencies: list[Dependency] = []
        self._fixed_prior: np.ndarray | None = None
        self.iterations = 0

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
        caps the EM iterations; `seed` replaces the tie-break seed. `progress_bar` is accepted
        for Snorkel's callers and ignored (a fit takes seconds)."""
        del progress_bar
        L = _check_matrix(L, self.cardinality)
        n, m = L.shape
        if n == 0:
            raise ValueError("L has no rows: nothing to fit")
        if seed is not None:
            self.seed = seed
        if n_epochs is not None:
            if n_epochs < 1:
                raise ValueError(f"n_epochs must be at least 1, got {n_epochs}")
            self.max_iter = n_epochs
        self._fixed_prior = _known_prior(self.cardinality, Y_dev, class_balance)
        patterns, _, counts = _patterns(L, self.cardinality)
        self._targets = _single_targets(patterns)
        indicators = self._indicators(patterns)
        copies = self._copy_matrix(patterns, counts)
        structures = STRUCTURES if self.structure == "auto" else (self.structure,)
        fits = [self._fit_structure(s, patterns, counts, indicators, copies) for s in structures]
        best = min(fits, key=lambda f: f.bic)
        self.chosen_structure = best.structure
        self._prior, self._confusion, self._weights = best.prior, best.confusion, best.weights
        self._dependencies = [
            Dependency(i, j, float(best.dependency[i, j]))
            for i in range(m)
            for j in range(i + 1, m)
            if best.dependency[i, j] > 0
        ]
        return self

    def _fit_structure(
        self,
        structure: str,
        patterns: np.ndarray,
        counts: np.ndarray,
        indicators: np.ndarray,
        copies: np.ndarray,
    ) -> _Fit:
        """Dependent functions are discounted before any fitting: a fit that counts them as
        independent is pulled towards them. A strongly dependent group (near-copies) takes part in
        the fit through one member, its widest-voting, so the fit is the exact likelihood of
        independent functions; every member's confusion matrix is still estimated, and for
        prediction the group shares that member's weight. Weaker dependencies discount each
        function by 1 / (1 + its total dependency). Each round measures the dependencies the
        fit reveals; the next round discounts those too."""
        self._structure = structure
        share = counts / counts.sum()
        m = patterns.shape[1]
        coverage = np.array([share[patterns[:, j] != ABSTAIN].sum() for j in range(m)])
        dependency = copies
        predict_weights = np.ones(m)
        for _ in range(4):
            fit_weights, predict_weights = _discounts(dependency, coverage)
            self._weights = fit_weights
            posterior = self._majority_posterior(patterns, fit_weights)
            self._expectation_maximization(indicators, counts, posterior)
            revealed = np.maximum(copies, self._dependency_matrix(patterns, counts))
            if np.allclose(_discounts(revealed, coverage)[0], fit_weights, atol=0.02):
                break
            dependency = revealed
        # Structures are compared on one likelihood: near-copies (found before fitting, whatever
        # the structure) collapsed to one member each, everything else counted in full.
        self._weights = _discounts(copies, coverage)[0]
        self._weights[self._weights > 0] = 1.0
        objective = self._mean_log_likelihood(indicators, counts)
        self._weights = predict_weights
        k = self.cardinality
        # free parameters: a full matrix has, per class, one per vote value the function casts
        # (abstaining included) less one; the others are fixed at zero by the data
        used = np.array([len(np.unique(patterns[:, j])) for j in range(m)])
        full = k * (used - 1)
        compact = np.where(self._targets >= 0, full, np.minimum(used - 1, 2))
        per_function = full if structure == "full" else compact
        parameters = (k - 1 if self._fixed_prior is None else 0) + int(per_function.sum())
        total = counts.sum()
        assert self._prior is not None and self._confusion is not None
        return _Fit(
            structure=structure,
            bic=-2 * objective * total + parameters * np.log(total),
            prior=self._prior,
            confusion=self._confusion,
            weights=self._weights,
            dependency=dependency,
        )

    def _majority_posterior(self, patterns: np.ndarray, weights: np.ndarray) -> np.ndarray:
        k = self.cardinality
        votes = np.zeros((len(patterns), k))
        for c in range(k):
            votes[:, c] = (patterns == c) @ weights
        votes += 1e-2  # uncovered rows: uniform
        return votes / votes.sum(axis=1, keepdims=True)

    def _indicators(self, patterns: np.ndarray) -> np.ndarray:
        """(P, m * (k + 1)) one-hot votes: column j * (k + 1) + v + 1 is 1 where function j
        voted v (v = -1: abstained). Both EM steps become one matrix product each."""
        k, m = self.cardinality, patterns.shape[1]
        out = np.zeros((len(patterns), m * (k + 1)))
        rows = np.repeat(np.arange(len(patterns)), m)
        out[rows, (np.arange(m) * (k + 1) + patterns + 1).ravel()] = 1.0
        return out

    def _maximize(self, indicators: np.ndarray, counts: np.ndarray, posterior: np.ndarray) -> None:
        k = self.cardinality
        m = indicators.shape[1] // (k + 1)
        mass = posterior * counts[:, None]  # (P, k)
        if self._fixed_prior is not None:
            self._prior = self._fixed_prior.copy()
        else:
            self._prior = (mass.sum(axis=0) + 1.0) / (counts.sum() + k)
        table = (indicators.T @ mass).reshape(m, k + 1, k).transpose(0, 2, 1)  # (m, k, k + 1)
        full = (table + self.smoothing) / (table + self.smoothing).sum(axis=2, keepdims=True)
        if self._structure == "full":
            self._confusion = full
            return
        assert self._targets is not None
        confusion = np.empty((m, k, k + 1))
        half = self.smoothing / 2
        for j in range(m):
            if self._targets[j] >= 0:  # votes one class only: its firing rate on each class
                confusion[j] = full[j]
            else:  # a coverage and an accuracy, errors spread evenly
                total = table[j].sum() + 2 * half
                voted = table[j, :, 1:].sum() + half
                correct = np.trace(table[j, :, 1:]) + half / 2
                coverage, accuracy = voted / total, correct / voted
                confusion[j, :, 0] = 1 - coverage
                confusion[j, :, 1:] = coverage * (1 - accuracy) / (k - 1)
                confusion[j, np.arange(k), np.arange(k) + 1] = coverage * accuracy
        self._confusion = confusion / confusion.sum(axis=2, keepdims=True)

    def _log_likelihoods(self, indicators: np.ndarray) -> np.ndarray:
        """(P, k): log P(class) + weighted sum of log P(vote | class) over functions."""
        assert self._prior is not None and self._confusion is not None
        assert self._weights is not None
        k = self.cardinality
        weighted = np.log(self._confusion) * self._weights[:, None, None]  # (m, k, k + 1)
        per_cell = weighted.transpose(0, 2, 1).reshape(-1, k)  # (m * (k + 1), k)
        return np.log(self._prior) + indicators @ per_cell

    def _expectation_maximization(
        self, indicators: np.ndarray, counts: np.ndarray, posterior: np.ndarray
    ) -> float:
        """Runs EM to convergence from `posterior`; returns the mean log-likelihood per item."""
        previous = objective = -np.inf
        for _ in range(self.max_iter):
            self._maximize(indicators, counts, posterior)
            log_joint = self._log_likelihoods(indicators)
            objective = _mean_log_evidence(log_joint, counts)
            posterior = _log_normalize(log_joint)
            self.iterations += 1
            if abs(objective - previous) < self.tolerance:
                break
            previous = objective
        return objective

    def _copy_matrix(self, patterns: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Pairs that cast the same vote on most items either of them votes on. Two independent
        functions that each vote on at most 60% of items score at most 0.43 here; a copy that
        repeats its original's vote 95% of the time scores about 0.95."""
        m = patterns.shape[1]
        share = counts / counts.sum()
        voted = patterns != ABSTAIN
        out = np.zeros((m, m))
        for i in range(m):
            for j in range(i + 1, m):
                either = share[voted[:, i] | voted[:, j]].sum()
                same = share[voted[:, i] & (patterns[:, i] == patterns[:, j])].sum()
                score = same / either if either > 0 else 0.0
                out[i, j] = out[j, i] = np.clip((score - COPY_FLOOR) / (1 - COPY_FLOOR), 0, 1)
        return out

    def _mean_log_likelihood(self, indicators: np.ndarray, counts: np.ndarray) -> float:
        return _mean_log_evidence(self._log_likelihoods(indicators), counts)

    def _dependency_matrix(self, patterns: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Excess agreement of each pair beyond what independence given the class predicts,
        as a share of the most agreement the pair could show (1 for a copy, 0 if independent)."""
        assert self._prior is not None and self._confusion is not None
        k, m = self.cardinality, patterns.shape[1]
        share = counts / counts.sum()
        covered = np.array([share[patterns[:, j] != ABSTAIN].sum() for j in range(m)])
        dependency = np.zeros((m, m))
        votes = np.arange(1, k + 1)
        for i in range(m):
            for j in range(i + 1, m):
                both = (patterns[:, i] == patterns[:, j]) & (patterns[:, i] != ABSTAIN)
                observed = share[both].sum()
                expected = float(
                    (
                        self._prior[:, None]
                        * self._confusion[i][:, votes]
                        * self._confusion[j][:, votes]
                    ).sum()
                )
                ceiling = min(covered[i], covered[j]) - expected
                if ceiling <= 1e-9:
                    continue
                strength = (observed - expected) / ceiling
                strength = (strength - self.dependency_floor) / (1 - self.dependency_floor)
                dependency[i, j] = dependency[j, i] = float(np.clip(strength, 0.0, 1.0))
        return dependency

    # --- using a fitted model ------------------------------------------------------------
    def _fitted(self) -> None:
        if self._prior is None:
            raise RuntimeError("the label model is not fitted: call fit(L) first")

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """(n, k) class probabilities; rows without votes get the class balance."""
        self._fitted()
        L = _check_matrix(L, self.cardinality)
        assert self._confusion is not None
        if L.shape[1] != self._confusion.shape[0]:
            raise ValueError(
                f"L has {L.shape[1]} labeling functions, the model was fitted on "
                f"{self._confusion.shape[0]}"
            )
        patterns, inverse, _ = _patterns(L, self.cardinality)
        if len(patterns) == 0:
            return np.zeros((0, self.cardinality))
        return _log_normalize(self._log_likelihoods(self._indicators(patterns)))[inverse]

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
        assert self._prior is not None and self._confusion is not None
        assert self._weights is not None and self._targets is not None
        state = {
            "format": FORMAT,
            "cardinality": self.cardinality,
            "seed": self.seed,
            "structure": self.chosen_structure,
            "prior": self._prior.tolist(),
            "confusion": self._confusion.tolist(),
            "weights": self._weights.tolist(),
            "targets": self._targets.tolist(),
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
        model = cls(cardinality=state["cardinality"], seed=state["seed"])
        model.chosen_structure = state["structure"]
        model._structure = state["structure"] or "full"
        model._prior = np.asarray(state["prior"], dtype=np.float64)
        model._confusion = np.asarray(state["confusion"], dtype=np.float64)
        model._weights = np.asarray(state["weights"], dtype=np.float64)
        model._targets = np.asarray(state["targets"], dtype=np.int64)
        model._dependencies = [
            Dependency(int(a), int(b), float(s)) for a, b, s in state["dependencies"]
        ]
        return model

    def class_balance(self) -> np.ndarray:
        """(k,) the estimated share of each class."""
        self._fitted()
        assert self._prior is not None
        return self._prior.copy()

    def lf_accuracies(self) -> np.ndarray:
        """(m,) P(vote is the true class | the function votes), per labeling function."""
        self._fitted()
        assert self._prior is not None and self._confusion is not None
        k = self.cardinality
        correct = (self._prior * self._confusion[:, np.arange(k), np.arange(k) + 1]).sum(axis=1)
        voting = (self._prior * (1 - self._confusion[:, :, 0])).sum(axis=1)
        return correct / voting  # smoothing keeps every function's voting mass above zero

    def lf_weights(self) -> np.ndarray:
        """(m,) how much each function counts after discounting dependencies (1: independent)."""
        self._fitted()
        assert self._weights is not None
        return self._weights.copy()

    def dependencies(self) -> list[Dependency]:
        """Pairs of functions found to depend on each other, strongest first."""
        self._fitted()
        return sorted(self._dependencies, key=lambda d: -d.strength)


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
