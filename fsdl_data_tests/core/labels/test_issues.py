"""Confident learning on plain arrays: with probabilities that know the truth it finds exactly
the corrupted labels; it never flags an item the classifier agrees with; it ranks the least
self-confident first; bad input is a one-line error."""

from __future__ import annotations

import numpy as np
import pytest

from fsdl_data.core.labels.issues import confident_joint, find_label_issues


def corrupted(
    rng: np.random.Generator, lean: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true, given, probabilities) of a random problem: random classes, prior and noise; the
    probabilities lean to the true class by an item-varying amount drawn from `lean`."""
    k = int(rng.integers(2, 7))
    n = int(rng.integers(200, 1500))
    true = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 2.0)))
    given = true.copy()
    flip = rng.uniform(size=n) < rng.uniform(0.02, 0.25)
    given[flip] = (true[flip] + rng.integers(1, k, size=flip.sum())) % k
    noise = rng.dirichlet(np.ones(k), size=n)
    lean = rng.uniform(*lean, size=n)[:, None]
    probabilities = (1 - lean) * noise + lean * np.eye(k)[true]
    return true, given, probabilities


@pytest.mark.parametrize("seed", range(16))
def test_finds_exactly_the_corrupted_labels_when_the_classifier_knows(seed: int) -> None:
    """Certain probabilities (one-hot on the truth): each true class's probability reaches its
    class threshold, so every corrupted label is counted and flagged. (Nearly certain ones do
    not suffice: a class that no corrupted label claims has a threshold near its items' mean,
    and a true item below it is not counted, in cleanlab's method as in ours.)"""
    rng = np.random.default_rng(seed)
    true, given, probabilities = corrupted(rng, lean=(1.0, 1.0))
    issues = find_label_issues(given, probabilities)
    assert set(issues.index.tolist()) == set(np.flatnonzero(true != given).tolist())
    assert (issues.suggested == true[issues.index]).all()
    joint = confident_joint(given, probabilities)
    assert np.allclose(joint.sum(axis=1), np.bincount(given, minlength=probabilities.shape[1]))


@pytest.mark.parametrize("seed", range(16))
def test_flags_only_wrong_labels_when_the_classifier_leans_right(seed: int) -> None:
    """Probabilities whose likeliest class is always the true one, by varying margins: every
    flagged label is wrong and the suggestion is the truth, least self-confident first."""
    rng = np.random.default_rng(seed)
    true, given, probabilities = corrupted(rng, lean=(0.5, 0.95))
    issues = find_label_issues(given, probabilities)
    assert len(issues) > 0
    assert (true[issues.index] != given[issues.index]).all()
    assert (issues.suggested == true[issues.index]).all()
    assert (np.diff(issues.score) >= 0).all()
    assert np.allclose(issues.score, probabilities[issues.index, given[issues.index]])


def test_never_flags_an_item_the_classifier_agrees_with() -> None:
    rng = np.random.default_rng(7)
    k, n = 4, 800
    probabilities = rng.dirichlet(np.full(k, 0.5), size=n)
    given = rng.integers(0, k, size=n)  # labels unrelated to the classifier
    issues = find_label_issues(given, probabilities)
    assert len(issues) > 0
    assert (probabilities[issues.index].argmax(axis=1) != given[issues.index]).all()


def test_bad_input_is_one_line() -> None:
    with pytest.raises(ValueError, match="3 labels for 2 rows"):
        find_label_issues(np.array([0, 1, 1]), np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match=r"class indices 0\.\.1"):
        find_label_issues(np.array([0, 2]), np.full((2, 2), 0.5))
    assert len(find_label_issues(np.zeros(0, int), np.zeros((0, 3)))) == 0
