"""Synthetic label matrices (core.labels.synthetic): a seed names one structure and one sample,
so a benchmark or test that reports a matrix can be rerun on exactly that matrix."""

from __future__ import annotations

import numpy as np

from fsdl_data.core.labels.synthetic import expected_calibration_error, random_structure


def test_a_seed_draws_the_same_structure_and_the_same_sample() -> None:
    first, again = random_structure(7), random_structure(7)
    assert first.family == again.family
    votes, truth = first.sample(2_000, 1)
    votes_again, truth_again = again.sample(2_000, 1)
    assert np.array_equal(votes, votes_again) and np.array_equal(truth, truth_again)
    other_votes, _ = first.sample(2_000, 2)
    assert not np.array_equal(votes, other_votes)


def test_calibration_error_is_zero_when_confidence_matches_the_outcome_rate() -> None:
    confident = np.array([[1.0, 0.0]] * 10)
    assert expected_calibration_error(confident, np.ones(10)) == 0.0
    assert expected_calibration_error(confident, np.zeros(10)) == 1.0
