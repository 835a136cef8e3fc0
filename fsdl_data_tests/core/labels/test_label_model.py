"""The label model against the truth of seeded synthetic label matrices, majority vote and an
oracle that knows the true parameters (fsdl_data/core/labels/synthetic.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.labels.label_model import ABSTAIN, LabelModel, majority_vote
from fsdl_data.core.labels.synthetic import generate, oracle_proba


def random_shapes(
    rows: int, functions: int
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Thirty random vote-matrix shapes for a test taking `rows` (up to the given), `functions`
    (up to the given), `k` classes (2 to 4) and a `seed`."""
    return lambda test: settings(max_examples=30, deadline=None)(
        given(rows=st.integers(1, rows), functions=st.integers(1, functions),
              k=st.integers(2, 4), seed=st.integers(0, 10_000))(test)
    )  # fmt: skip


def _parameters(m: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    low = 0.55 if k == 2 else 0.4  # with 5 classes, 0.4 is still twice chance
    return rng.uniform(low, 0.9, m), rng.uniform(0.1, 0.6, m)


@pytest.mark.parametrize(
    ("k", "prior", "copies"),
    [(2, [0.3, 0.7], 0), (2, [0.3, 0.7], 3), (5, [0.4, 0.3, 0.1, 0.1, 0.1], 0)],
)
def test_estimates_accuracies_and_class_balance_from_votes_alone(k, prior, copies) -> None:
    accuracies, coverages = _parameters(10 - copies, k, seed=11)
    data = generate(100_000, prior, accuracies, coverages, copies_of_weakest=copies, seed=1)
    model = LabelModel(cardinality=k, seed=0).fit(data.L)
    assert np.abs(model.lf_accuracies() - data.accuracies).max() < 0.03
    assert np.abs(model.class_balance() - np.array(prior)).max() < 0.02


# A grid of Snorkel's setting: class prior 0.5 to 0.95, 3 to 50 functions, binary and 5 classes,
# independent and with near-copies of the weakest. With copies: for m >= 6 the last 3 functions
# are 95% copies; below that, 2 copies are added to the m.
GRID = list(itertools.product((2, 5), (0.5, 0.7, 0.95), (3, 5, 10, 50), (False, True)))


def _noise(first: np.ndarray, second: np.ndarray) -> float:
    """Two standard errors of the accuracy difference of two predictions of the same items
    (the variance of a paired difference is at most the share of items they disagree on)."""
    return 2 * float(np.sqrt(np.mean(first != second) / len(first)))


@pytest.mark.parametrize(("k", "major", "m", "with_copies"), GRID)
def test_never_worse_than_majority_vote_and_close_to_the_oracle(k, major, m, with_copies) -> None:
    prior = [major] + [(1 - major) / (k - 1)] * (k - 1)
    accuracies, coverages = _parameters(m, k, seed=m * 7 + k)
    independent, copies = (m, 0) if not with_copies else ((m - 3, 3) if m >= 6 else (m, 2))
    data = generate(
        20_000, prior, accuracies[:independent], coverages[:independent],
        copies_of_weakest=copies, seed=m + k,
    )  # fmt: skip
    covered = (data.L != ABSTAIN).any(axis=1)
    model = LabelModel(cardinality=k, seed=0).fit(data.L)
    ours = model.predict(data.L)[covered]
    majority = majority_vote(data.L, k, seed=0)[covered]
    oracle = oracle_proba(data).argmax(axis=1)[covered]
    truth = data.y[covered]
    accuracy = {name: float((p == truth).mean()) for name, p in
                (("ours", ours), ("majority", majority), ("oracle", oracle))}  # fmt: skip
    assert accuracy["ours"] >= accuracy["majority"] - 0.005 - _noise(ours, majority), accuracy
    if not with_copies:
        assert accuracy["ours"] >= accuracy["oracle"] - 0.005 - _noise(ours, oracle), accuracy


def test_near_copies_are_found_and_modelled_as_one_group() -> None:
    accuracies, coverages = _parameters(7, 2, seed=3)
    data = generate(50_000, [0.3, 0.7], accuracies, coverages, copies_of_weakest=3, seed=2)
    model = LabelModel(cardinality=2).fit(data.L)
    group = sorted({int(np.argmin(accuracies)), 7, 8, 9})
    assert model.chosen_structure == "groups" and model.groups() == [group]
    found = {(d.first, d.second) for d in model.dependencies()}
    assert found == {(a, b) for a in group for b in group if a < b}
    assert all(d.strength > 0.3 for d in model.dependencies())


def test_independent_functions_are_not_grouped() -> None:
    """High coverage and accuracy make every pair agree often; given the class they are still
    independent, and the dependency test must say so."""
    rng = np.random.default_rng(12)
    data = generate(50_000, [0.4, 0.6], rng.uniform(0.75, 0.85, 6), np.full(6, 0.97), seed=3)
    model = LabelModel(cardinality=2).fit(data.L)
    assert model.groups() == [] and model.dependencies() == []


def test_deterministic_for_a_seed_and_ties_follow_the_seed() -> None:
    data = generate(5_000, [0.5, 0.5], [0.7, 0.7, 0.7], [0.5, 0.5, 0.5], seed=4)
    a = LabelModel(cardinality=2, seed=1).fit(data.L)
    b = LabelModel(cardinality=2, seed=1).fit(data.L)
    assert np.array_equal(a.predict_proba(data.L), b.predict_proba(data.L))
    assert np.array_equal(a.predict(data.L), b.predict(data.L))
    # a symmetric world: both classes and both functions alike, so (0, 1) is an exact tie
    symmetric = np.array([[0, 0], [1, 1], [0, 0], [1, 1], [0, 1], [1, 0]] * 50)
    tie = np.array([[0, 1]] * 200)
    picks = {
        tuple(LabelModel(cardinality=2, seed=s).fit(symmetric).predict(tie)[:20]) for s in range(4)
    }
    assert len(picks) > 1  # the seed decides ties ...
    once = LabelModel(cardinality=2, seed=0).fit(symmetric).predict(tie)
    assert set(np.unique(once)) == {0, 1}  # ... at random, not always the first class


def test_rows_without_votes_get_the_posterior_of_silence_and_nothing_is_nan() -> None:
    """A row where every function abstained gets P(class | all abstained): the class balance
    when coverage does not depend on the class (the compact structure), else what the silence
    says."""
    data = generate(20_000, [0.2, 0.8], [0.8, 0.75, 0.7, 0.65], [0.3, 0.3, 0.3, 0.3], seed=5)
    empty = np.full((3, 4), ABSTAIN)
    compact = LabelModel(cardinality=2, structure="compact").fit(data.L)
    assert np.allclose(compact.predict_proba(empty), compact.class_balance())
    model = LabelModel(cardinality=2).fit(data.L)
    proba = model.predict_proba(empty)
    assert np.allclose(proba, proba[0]) and np.allclose(proba.sum(axis=1), 1.0)
    assert model.predict(empty).tolist() == [1, 1, 1]
    for values in (model.predict_proba(data.L), model.lf_accuracies(), model.class_balance()):
        assert np.isfinite(values).all()


def test_degenerate_inputs() -> None:
    all_abstain = np.full((100, 3), ABSTAIN)
    model = LabelModel(cardinality=3).fit(all_abstain)
    assert np.allclose(model.predict_proba(all_abstain), 1 / 3, atol=0.02)
    one_function = np.array([[0], [1], [ABSTAIN], [1]])
    assert np.isfinite(
        LabelModel(cardinality=2).fit(one_function).predict_proba(one_function)
    ).all()
    with pytest.raises(ValueError, match="no rows"):
        LabelModel(cardinality=2).fit(np.zeros((0, 3), dtype=int))
    with pytest.raises(ValueError, match=r"-1 \(abstain\) or a class in 0\.\.1"):
        LabelModel(cardinality=2).fit(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="2-D"):
        LabelModel(cardinality=2).fit(np.array([0, 1]))
    with pytest.raises(RuntimeError, match="not fitted"):
        LabelModel(cardinality=2).predict(np.array([[0]]))
    with pytest.raises(ValueError, match="fitted on 3"):
        LabelModel(cardinality=2).fit(np.zeros((4, 3), dtype=int)).predict(np.zeros((2, 2), int))


def test_functions_that_vote_for_one_class_only_are_modelled_exactly() -> None:
    """Rules like "the title says pasta -> food": a vote for one class, or silence. Their
    information is in when they vote; both structures describe that."""
    rng = np.random.default_rng(6)
    n, k = 30_000, 3
    y = rng.choice(k, size=n, p=[0.5, 0.3, 0.2])
    columns = []
    for target in range(k):
        for fires_on_target in (0.5, 0.35):
            fires = rng.uniform(size=n) < np.where(y == target, fires_on_target, 0.05)
            columns.append(np.where(fires, target, ABSTAIN))
    L = np.stack(columns, axis=1)
    model = LabelModel(cardinality=k).fit(L)
    covered = (L != ABSTAIN).any(axis=1)
    ours = float((model.predict(L)[covered] == y[covered]).mean())
    majority = float((majority_vote(L, k)[covered] == y[covered]).mean())
    assert ours > majority + 0.01
    assert np.abs(model.class_balance() - [0.5, 0.3, 0.2]).max() < 0.03


@random_shapes(rows=60, functions=6)
def test_any_vote_matrix_gives_probabilities(rows: int, functions: int, k: int, seed: int) -> None:
    L = np.random.default_rng(seed).integers(-1, k, size=(rows, functions))
    model = LabelModel(cardinality=k, seed=seed).fit(L)
    proba = model.predict_proba(L)
    assert proba.shape == (rows, k) and np.isfinite(proba).all()
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((model.predict(L) >= 0) & (model.predict(L) < k)).all()
    assert np.isfinite(model.lf_accuracies()).all()


def test_majority_vote_reference() -> None:
    L = np.array([[0, 0, 1], [ABSTAIN, ABSTAIN, ABSTAIN], [2, ABSTAIN, 2], [1, 1, 0]])
    assert majority_vote(L, 3).tolist() == [0, ABSTAIN, 2, 1]


# --- Snorkel parity on plain arrays ----------------------------------------------------------
def test_class_balance_fixes_the_prior_and_y_dev_estimates_it() -> None:
    data = generate(20_000, [0.3, 0.7], [0.8, 0.75, 0.7, 0.65], [0.5, 0.5, 0.5, 0.5], seed=7)
    fixed = LabelModel(cardinality=2).fit(data.L, class_balance=[0.5, 0.5])
    assert np.allclose(fixed.class_balance(), [0.5, 0.5])
    dev = np.array([0] * 10 + [1] * 30 + [ABSTAIN] * 5)
    from_dev = LabelModel(cardinality=2).fit(data.L, Y_dev=dev)
    assert np.allclose(from_dev.class_balance(), [11 / 42, 31 / 42])
    learned = LabelModel(cardinality=2).fit(data.L)
    assert abs(learned.class_balance()[0] - 0.3) < 0.02
    with pytest.raises(ValueError, match="summing to 1"):
        LabelModel(cardinality=2).fit(data.L, class_balance=[0.5, 0.6])
    with pytest.raises(ValueError, match="Y_dev must hold classes"):
        LabelModel(cardinality=2).fit(data.L, Y_dev=np.array([0, 2]))


def test_n_epochs_caps_the_iterations_and_seed_sets_the_tie_breaks() -> None:
    data = generate(5_000, [0.4, 0.6], [0.8, 0.7, 0.6], [0.5, 0.5, 0.5], seed=8)
    model = LabelModel(cardinality=2).fit(data.L, n_epochs=2, seed=5)
    uncapped = LabelModel(cardinality=2).fit(data.L)
    # `iterations` counts the iterations of every EM run of a fit, at most n_epochs each
    assert model.iterations <= 2 * model.em_runs < uncapped.iterations and model.seed == 5
    with pytest.raises(ValueError, match="n_epochs"):
        LabelModel(cardinality=2).fit(data.L, n_epochs=0)


def test_tie_break_policies_follow_snorkel() -> None:
    symmetric = np.array([[0, 0], [1, 1], [0, 0], [1, 1], [0, 1], [1, 0]] * 50)
    model = LabelModel(cardinality=2, seed=0).fit(symmetric)
    tie = np.array([[0, 1]] * 200 + [[0, 0]])
    abstained = model.predict(tie, tie_break_policy="abstain")
    assert (abstained[:200] == ABSTAIN).all() and abstained[200] == 0
    by_position = model.predict(tie, tie_break_policy="random")
    assert np.array_equal(by_position, model.predict(tie, tie_break_policy="random"))
    assert set(by_position[:200].tolist()) == {0, 1} and by_position[200] == 0
    predicted, proba = model.predict(tie, return_probs=True)
    assert np.allclose(proba, model.predict_proba(tie)) and predicted.shape == (201,)
    with pytest.raises(ValueError, match="tie_break_policy"):
        model.predict(tie, tie_break_policy="first")


def test_score_leaves_out_abstains_like_snorkel() -> None:
    symmetric = np.array([[0, 0], [1, 1], [0, 0], [1, 1], [0, 1], [1, 0]] * 50)
    model = LabelModel(cardinality=2, seed=0).fit(symmetric)
    L = np.array([[0, 0], [1, 1], [0, 1], [1, 1]])
    Y = np.array([0, 0, 1, ABSTAIN])
    scores = model.score(L, Y, metrics=["accuracy", "coverage", "f1"])
    # row 2 is a tie (abstained), row 3 has no gold: accuracy over rows 0 and 1
    assert scores == {"accuracy": 0.5, "coverage": 0.75, "f1": 0.0}
    with pytest.raises(ValueError, match="unknown metrics"):
        model.score(L, Y, metrics=["auc"])


def test_save_and_load_round_trip(tmp_path) -> None:
    data = generate(10_000, [0.3, 0.7], [0.8, 0.75, 0.7, 0.65], [0.5, 0.4, 0.3, 0.6], seed=9)
    model = LabelModel(cardinality=2, seed=3).fit(data.L)
    model.save(tmp_path / "model.json")
    loaded = LabelModel.load(tmp_path / "model.json")
    assert np.array_equal(loaded.predict_proba(data.L), model.predict_proba(data.L))
    assert np.array_equal(loaded.predict(data.L), model.predict(data.L))
    assert np.array_equal(loaded.get_weights(), model.get_weights())
    assert np.allclose(model.get_weights(), model.lf_accuracies())
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a label model"):
        LabelModel.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="cannot read"):
        LabelModel.load(tmp_path / "missing.json")


@random_shapes(rows=40, functions=5)
def test_lf_summary_matches_a_row_by_row_reference(rows, functions, k, seed) -> None:
    from fsdl_data.core.labels.analysis import lf_summary

    rng = np.random.default_rng(seed)
    L = rng.integers(-1, k, size=(rows, functions))
    Y = rng.integers(-1, k, size=rows)
    summary = lf_summary(L, Y).to_dicts()
    for j, row in enumerate(summary):
        votes = [(i, L[i, j]) for i in range(rows) if L[i, j] != ABSTAIN]
        others = [
            [L[i, o] for o in range(functions) if o != j and L[i, o] != ABSTAIN]
            for i in range(rows)
        ]
        assert row["polarity"] == sorted({int(v) for _, v in votes})
        assert row["coverage"] == pytest.approx(len(votes) / rows)
        assert row["overlaps"] == pytest.approx(sum(1 for i, _ in votes if others[i]) / rows)
        assert row["conflicts"] == pytest.approx(
            sum(1 for i, v in votes if any(o != v for o in others[i])) / rows
        )
        correct = sum(1 for i, v in votes if Y[i] != ABSTAIN and v == Y[i])
        incorrect = sum(1 for i, v in votes if Y[i] != ABSTAIN and v != Y[i])
        assert (row["correct"], row["incorrect"]) == (correct, incorrect)
        expected = correct / (correct + incorrect) if correct + incorrect else None
        assert row["empirical_accuracy"] == (
            pytest.approx(expected) if expected is not None else None
        )
    assert "correct" not in lf_summary(L).columns


def test_the_random_structures_oracle_is_calibrated() -> None:
    """The generator's oracle (fsdl_data.core.labels.synthetic.random_structure) is the exact
    posterior of every family: its confidences match its accuracy on fresh labels."""
    from fsdl_data.core.labels.synthetic import (
        FAMILIES,
        expected_calibration_error,
        random_structure,
    )

    for seed in range(2 * 8):
        structure = random_structure(seed)
        assert structure.family == FAMILIES[seed % len(FAMILIES)]
        L, y = structure.sample(20_000, seed)
        proba = structure.oracle_proba(L)
        right = (proba.argmax(axis=1) == y).astype(float)
        assert expected_calibration_error(proba, right) < 0.02, (seed, structure.family)
