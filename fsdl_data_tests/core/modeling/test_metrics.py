"""core.modeling.metrics, against plain definitions: ranks share ties, Spearman is Pearson of
ranks, AUC is the share of (positive, negative) pairs ordered right."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.modeling.metrics import (
    auc,
    confusion_matrix,
    rankdata,
    spearman,
    versus_reference,
)


def test_ties_share_their_average_rank() -> None:
    assert rankdata(np.array([10, 20, 10, 30])).tolist() == [1.5, 3.0, 1.5, 4.0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), min_size=1, max_size=30))
def test_auc_is_the_share_of_pairs_ordered_right(rows: list[tuple[int, bool]]) -> None:
    scores = np.array([s for s, _ in rows], dtype=float)
    positive = np.array([p for _, p in rows])
    pairs = [(a, b) for a, b in itertools.product(scores[positive], scores[~positive])]
    expected = (
        np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs]) if pairs else 0.5
    )
    assert abs(auc(scores, positive) - expected) < 1e-12


def test_spearman_of_a_monotone_pair_is_one_and_of_a_constant_zero() -> None:
    a = np.array([1.0, 5.0, 2.0, 9.0])
    assert abs(spearman(a, a**3) - 1.0) < 1e-12
    assert abs(spearman(a, -a) + 1.0) < 1e-12
    assert spearman(a, np.ones(4)) == 0.0


def test_the_confusion_matrix_and_accuracy_count_only_items_with_a_reference() -> None:
    assert confusion_matrix(["a", "b", "a", "x"], ["a", "a", "b", "a"], ["a", "b"]) == [
        [1, 1],
        [1, 0],
    ]
    predicted = pl.DataFrame({"photo_id": [1, 2, 3], "predicted_class": ["a", "b", "b"]})
    reference = pl.DataFrame({"photo_id": [2, 3, 4], "label": ["b", "a", "a"]})
    judged = versus_reference(predicted, reference, ["a", "b"])
    assert (judged.items, judged.accuracy, judged.matrix) == (2, 0.5, [[0, 1], [0, 1]])
    nothing = versus_reference(predicted, reference.filter(pl.col("photo_id") > 3), ["a", "b"])
    assert (nothing.items, nothing.accuracy) == (0, None)
