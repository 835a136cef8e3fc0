"""Cross-fitting (core.labels.crossfit): no item is scored by a model that trained on it, the
probabilities still learn what the features say, folds are stable per item, and bad input is a
one-line error."""

from __future__ import annotations

import numpy as np
import pytest

from fsdl_data.core.labels.crossfit import (
    SoftmaxRegression,
    cross_fitted_probabilities,
    folds_of,
)


@pytest.mark.parametrize("seed", range(4))
def test_no_item_is_scored_by_a_model_that_trained_on_it(seed: int) -> None:
    """Features that identify each item (one indicator each) and labels drawn at random: a model
    that trained on an item has memorized its label, one that did not can only guess. So the
    in-sample fit is right on nearly every item and the cross-fitted one at about chance."""
    rng = np.random.default_rng(seed)
    k, n = int(rng.integers(3, 6)), int(rng.integers(60, 120))
    features = np.eye(n) + rng.normal(scale=0.01, size=(n, n))
    labels = rng.integers(0, k, size=n)
    folds = folds_of(range(n), int(rng.integers(3, 6)), seed)
    in_sample = SoftmaxRegression.fit(features, labels, k, l2=1e-4).predict_proba(features)
    assert (in_sample.argmax(axis=1) == labels).mean() > 0.95
    out = cross_fitted_probabilities(features, labels, k, folds, l2=1e-4)
    assert (out.argmax(axis=1) == labels).mean() < 1 / k + 0.25
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


@pytest.mark.parametrize("seed", range(4))
def test_out_of_sample_probabilities_still_learn_the_classes(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    k, d, n = int(rng.integers(2, 6)), int(rng.integers(3, 12)), int(rng.integers(300, 800))
    true = rng.integers(0, k, size=n)
    means = rng.normal(scale=4.0, size=(k, d))
    features = means[true] + rng.normal(size=(n, d))
    given = true.copy()
    flip = rng.uniform(size=n) < 0.1
    given[flip] = (true[flip] + rng.integers(1, k, size=flip.sum())) % k
    out = cross_fitted_probabilities(features, given, k, folds_of(range(n), 5, seed))
    assert (out.argmax(axis=1) == true).mean() > 0.9  # better than the noisy labels it learned


def test_an_items_fold_does_not_depend_on_the_others() -> None:
    ids = list(range(1000, 1300))
    folds = folds_of(ids, 5, seed=3)
    assert set(folds.tolist()) == set(range(5))
    assert folds_of(ids[::-1][:50], 5, seed=3).tolist() == folds[::-1][:50].tolist()
    assert folds_of(ids, 5, seed=4).tolist() != folds.tolist()  # the seed re-draws them


def test_bad_input_is_a_one_line_error() -> None:
    with pytest.raises(ValueError, match="at least 2 folds"):
        folds_of([1, 2], 1)
    with pytest.raises(ValueError, match="one of each per item"):
        cross_fitted_probabilities(np.zeros((3, 2)), np.zeros(2, int), 2, np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="label more items"):
        cross_fitted_probabilities(np.zeros((3, 2)), np.zeros(3, int), 2, np.zeros(3, int))
