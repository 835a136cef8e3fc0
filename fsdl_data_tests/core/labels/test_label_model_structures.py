"""The label model on dependency structures drawn at random (core.labels.synthetic.
random_structure): per seed, a family and every parameter of it (classes, prior, accuracies and
coverages per class, confusions, copy agreement 50-100%, groups that err together, keyword
rules, one function, 50+ weak ones), so nothing here is a structure the model was tuned on.

Per matrix, on the items some function voted on:
- never below majority vote by more than 0.5 point, beyond sampling noise (two standard errors
  of the paired difference);
- where the functions are independent, within 0.5 point (plus noise) of the oracle that knows
  the true tables and prior;
- expected calibration error at most 0.02 (independent) or 0.05 (dependent), measured against
  the oracle's probability that our top class is right (no label noise in the measure).

A single function's accuracy is not identified by its votes alone (any accuracy explains them),
nor is what its vote means beyond "this class" (the oracle, knowing its true table, may read a
vote for a as b): with one function, "at least majority vote" is asserted, and that its
confidence claims no more than the midpoint of what the votes allow (chance to certain). 50+ weak
functions have ~1,000 parameters: their matrices get 4 times the items, so that the oracle bound
measures the method rather than too few items."""

from __future__ import annotations

import numpy as np
import pytest

from fsdl_data.core.labels.label_model import ABSTAIN, LabelModel, majority_vote
from fsdl_data.core.labels.synthetic import expected_calibration_error, random_structure

MATRICES = 200
ITEMS = 4_000
# Seeds where a property fails today (strict: one that starts passing fails the run), each with
# what was measured. Causes (docs/labels.md): a group of near-copies found but overconfident
# (3: its two-state table does not describe copies at 50-100% agreement exactly); and, among
# independent functions, estimation noise against the oracle that knows the true tables (EM
# reaches the maximum likelihood from the majority vote, the oracle's start and random starts
# alike): 3 functions with 4-5 classes (72, 128), keyword rules (26, 106, 138), 53 weak
# functions (143). The large dependent groups (5, 84, 100, 156) and the spurious keyword pair
# (122) pass since groups got a two-state table and searches are chosen by the one-SE rule.
KNOWN_FAILURES: dict[int, str] = {
    3: "copies, 5 classes, 10 functions: calibration error 0.059 (ours 0.802, majority 0.662, oracle 0.831)",
    26: "keywords, 5 classes, 13 functions: calibration error 0.023 (ours 0.825, majority 0.774, oracle 0.831)",
    72: "independent, 5 classes, 3 functions: ours 0.774, majority 0.697, oracle 0.790",
    106: "keywords, 4 classes, 7 functions: ours 0.706, majority 0.642, oracle 0.730, calibration error 0.046",
    128: "independent, 4 classes, 3 functions: ours 0.818, majority 0.728, oracle 0.841, calibration error 0.038",
    138: "keywords, 4 classes, 7 functions: ours 0.908, majority 0.908, oracle 0.934, calibration error 0.036",
    143: "many_weak, 5 classes, 53 functions: ours 0.925, majority 0.636, oracle 0.934",
}


def _noise(first: np.ndarray, second: np.ndarray) -> float:
    """Two standard errors of the accuracy difference of two predictions of the same items."""
    return 2 * float(np.sqrt(np.mean(first != second) / len(first)))


def _case(seed: int):
    marks = ()
    if seed in KNOWN_FAILURES:
        marks = (pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[seed]),)
    return pytest.param(seed, marks=marks, id=f"seed{seed}")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [_case(seed) for seed in range(MATRICES)])
def test_any_structure(seed: int) -> None:
    structure = random_structure(seed)
    L, y = structure.sample(ITEMS * (4 if structure.family == "many_weak" else 1), seed)
    covered = (L != ABSTAIN).any(axis=1)
    truth = y[covered]
    proba = LabelModel(structure.k, seed=0).fit(L).predict_proba(L)[covered]
    oracle = structure.oracle_proba(L)[covered]
    ours, best = proba.argmax(axis=1), oracle.argmax(axis=1)
    majority = majority_vote(L, structure.k, seed=0)[covered]
    accuracy = {
        "ours": float((ours == truth).mean()),
        "majority": float((majority == truth).mean()),
        "oracle": float((best == truth).mean()),
    }
    where = (structure.family, structure.k, L.shape[1], accuracy)
    assert accuracy["ours"] >= accuracy["majority"] - 0.005 - _noise(ours, majority), where
    if structure.independent and structure.family != "single":
        assert accuracy["ours"] >= accuracy["oracle"] - 0.005 - _noise(ours, best), where
    if structure.family == "single":  # its accuracy is not identified: no claim beyond that
        assert proba.max() <= (1 + 1 / structure.k) / 2 + 1e-9, (*where, proba.max())
    else:
        right = oracle[np.arange(len(ours)), ours]  # the true probability our pick is right
        calibration = expected_calibration_error(proba, right)
        assert calibration <= (0.02 if structure.independent else 0.05), (*where, calibration)


def test_a_few_structures_of_each_family_quickly() -> None:
    """The fast subset of the grid above (one matrix per family, fewer items): never below
    majority vote beyond noise."""
    for seed in range(8):
        if seed in KNOWN_FAILURES:
            continue
        structure = random_structure(seed)
        L, y = structure.sample(2_000, seed)
        covered = (L != ABSTAIN).any(axis=1)
        ours = LabelModel(structure.k).fit(L).predict(L)[covered]
        majority = majority_vote(L, structure.k, seed=0)[covered]
        gain = float((ours == y[covered]).mean() - (majority == y[covered]).mean())
        assert gain >= -0.005 - _noise(ours, majority), (seed, structure.family, gain)


@pytest.mark.parametrize("seed", range(12))
def test_a_loose_copy_group_too_large_to_merge_pair_by_pair(seed: int) -> None:
    """A structure random_structure does not draw: 5-7 copies, at 40-60% agreement, of a
    function barely above chance, beside 4-6 independent ones. The copy group has more distinct
    joint votes than a merge may create (the cell rule), so no search that grows it pair by pair
    holds it whole, and one with a copy left outside took the class from the group (0.31 against
    majority vote's 0.54 on one such matrix). Never below majority vote beyond noise."""
    from fsdl_data.core.labels.synthetic import Structure, _Block, _table

    rng = np.random.default_rng(7_000 + seed)
    k = int(rng.integers(2, 5))

    def table(accuracy: float, coverage: float) -> np.ndarray:
        return _table(rng, k, np.full(k, coverage), np.full(k, accuracy), False)

    blocks = [
        _Block("single", [table(rng.uniform(1 / k + 0.15, 0.9), rng.uniform(0.2, 0.8))])
        for _ in range(int(rng.integers(4, 7)))
    ]
    base = table(1 / k + rng.uniform(0.05, 0.15), rng.uniform(0.5, 0.8))
    copies = int(rng.integers(5, 8))
    blocks.append(_Block("copies", [base] * copies, agreement=rng.uniform(0.4, 0.6)))
    structure = Structure("loose_copies", k, rng.dirichlet(np.full(k, 3.0)), blocks)
    L, y = structure.sample(10_000, seed)
    covered = (L != ABSTAIN).any(axis=1)
    ours = LabelModel(k, seed=0).fit(L).predict(L)[covered]
    majority = majority_vote(L, k, seed=0)[covered]
    accuracy = float((ours == y[covered]).mean())
    baseline = float((majority == y[covered]).mean())
    where = (k, L.shape[1], copies, accuracy, baseline)
    assert accuracy >= baseline - 0.005 - _noise(ours, majority), where
