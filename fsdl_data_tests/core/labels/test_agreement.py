"""Agreement and gold accuracy: values computed by hand on small tables, and Krippendorff's alpha
against the `krippendorff` package on generated data."""

import math

import krippendorff
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.labels.agreement import (
    agreement_report,
    gold_accuracy,
    gold_exclusions,
    krippendorff_alpha,
    pairwise_agreement,
    wilson_interval,
)


def test_alpha_and_pairwise_by_hand() -> None:
    # coincidences: o(a,a)=2, o(a,b)=o(b,a)=1, o(b,b)=2; n_a=n_b=3, n=6
    # alpha = 1 - (n-1) * 2 / (2 * 3 * 3) = 1 - 10/18 = 4/9; the lone [c] is not pairable
    units = [["a", "a"], ["a", "b"], ["b", "b"], ["c"]]
    assert krippendorff_alpha(units) == pytest.approx(4 / 9)
    assert pairwise_agreement(units) == pytest.approx(2 / 3)


def test_alpha_edges() -> None:
    assert krippendorff_alpha([["a", "a"], ["b", "b", "b"]]) == pytest.approx(1.0)
    assert krippendorff_alpha([["a", "a"], ["a", "a"]]) is None  # no expected disagreement
    assert krippendorff_alpha([["a"], ["b"]]) is None  # nothing pairable
    assert krippendorff_alpha([["a", "b"], ["b", "a"]]) < 0  # systematic disagreement
    assert pairwise_agreement([["a"]]) is None


def _matrix(units: list[list[int]], coders: int) -> np.ndarray:
    """The package's reliability data: coders x units, NaN where a coder gave no value."""
    data = np.full((coders, len(units)), np.nan)
    for j, unit in enumerate(units):
        data[: len(unit), j] = unit
    return data


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=4), min_size=1, max_size=25))
def test_alpha_matches_the_krippendorff_package(units: list[list[int]]) -> None:
    ours = krippendorff_alpha(units)
    pairable = [u for u in units if len(u) >= 2]
    if ours is None:
        assert not pairable or len({v for u in pairable for v in u}) == 1
        return
    theirs = krippendorff.alpha(_matrix(units, 4), level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_alpha_on_annotations_of_the_kind_the_pipeline_has() -> None:
    table = pl.DataFrame(
        {
            "photo_id": [1, 1, 1, 2, 2, 3, 2, 2, 2],
            "label": ["city", "city", "food", "food", "food", "city", "city", "city", "city"],
            "annotator": ["a", "b", "c", "a", "b", "a", "expert", "bad", "b"],
            "ground_truth": [False] * 6 + [True, False, False],
            "rejected_reason": [None] * 8 + ["cancelled"],
        }
    )
    report = agreement_report(table, excluded={"bad"})  # gold, excluded, rejected: left out
    assert (report.units, report.annotations) == (2, 5)
    assert report.pairwise == pytest.approx((1 + 1) / (3 + 1))
    # units [city, city, food], [food, food]: o(c,c)=1, o(c,f)=o(f,c)=1, o(f,f)=2; n_c=2, n_f=3
    assert report.alpha == pytest.approx(1 - 4 * 2 / (2 * 2 * 3))


def test_wilson_interval_by_hand() -> None:
    low, high = wilson_interval(8, 10)
    # p = 0.8, z = 1.96: centre 0.7167, half-width 0.2265 (by hand)
    assert (low, high) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(0, 0) is None
    assert wilson_interval(5, 5)[1] == pytest.approx(1.0)
    assert not math.isnan(wilson_interval(0, 3)[0])


def test_gold_accuracy_and_who_is_excluded() -> None:
    votes = pl.DataFrame(
        {
            "photo_id": [1, 2, 3, 4, 1, 2, 3, 4, 9],
            "annotator": ["good"] * 4 + ["bad"] * 4 + ["new"],
            "label": ["a", "b", "a", "b", "b", "a", "a", "a", "a"],
        }
    )
    gold = {1: "a", 2: "b", 3: "a", 4: "b"}
    table = gold_accuracy(votes, gold)
    rows = {r["annotator"]: r for r in table.iter_rows(named=True)}
    assert (rows["good"]["gold_correct"], rows["good"]["gold_accuracy"]) == (4, 1.0)
    assert (rows["bad"]["gold_correct"], rows["bad"]["gold_accuracy"]) == (1, 0.25)
    assert rows["new"]["gold_annotations"] == 0 and rows["new"]["gold_accuracy"] is None
    assert gold_exclusions(table, min_accuracy=0.7, min_gold=4) == {
        "bad": "gold accuracy 0.25 < 0.70 on 4 gold photos"
    }
    assert gold_exclusions(table, min_accuracy=0.7, min_gold=5) == {}  # too little gold to judge


def test_gold_qa_over_human_labels_rows() -> None:
    from fsdl_data.core.labels.consensus import exclusions_by_gold

    rows = pl.DataFrame(
        {
            "photo_id": [1, 2, 3, 1, 2, 3, 1, 2, 3],
            "annotator": ["expert"] * 3 + ["good"] * 3 + ["bad"] * 3,
            "label": ["a", "b", "a", "a", "b", "a", "b", "a", "b"],
            "ground_truth": [True] * 3 + [False] * 6,
        }
    )
    assert exclusions_by_gold(rows, min_accuracy=0.5, min_gold=3) == {
        "bad": "gold accuracy 0.00 < 0.50 on 3 gold photos"
    }
    assert exclusions_by_gold(rows, min_accuracy=0.5, min_gold=4) == {}


def test_classifier_against_reference_labels() -> None:
    from fsdl_data.core.modeling.metrics import versus_reference

    predicted = pl.DataFrame({"photo_id": [1, 2, 3, 4], "predicted_class": ["a", "b", "b", "a"]})
    reference = pl.DataFrame({"photo_id": [1, 2, 3, 9], "label": ["a", "a", "b", "b"]})
    found = versus_reference(predicted, reference, ["a", "b"])
    assert (found.items, found.accuracy) == (3, pytest.approx(2 / 3))
    assert found.matrix == [[1, 1], [0, 1]]  # rows: reference a, b; columns: predicted a, b
    assert versus_reference(predicted, reference.head(0), ["a", "b"]).accuracy is None
