"""Weak confidences recalibrated on reference labels (core.labels.calibration): weak labels
admitted at >= c are at least c accurate on items no calibration saw, on structures where the
label model's own confidences overstate it, through the labeled set's path too."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.labels.calibration import fit_calibration, recalibrate
from fsdl_data.core.labels.consensus import CONSENSUS
from fsdl_data.core.labels.label_model import ABSTAIN, LabelModel
from fsdl_data.core.labels.labeled_set import label_day, training_labels
from fsdl_data.core.labels.synthetic import random_structure

THRESHOLDS = (0.6, 0.7, 0.8, 0.9, 0.95)


def test_the_steps_are_monotone_and_vouch_for_no_more_than_their_items_show() -> None:
    rng = np.random.default_rng(0)
    confidence = rng.choice([0.5, 0.6, 0.7, 0.8, 0.9, 0.99], 3_000)
    right = rng.uniform(size=3_000) < np.where(confidence > 0.85, 0.95, 0.6)
    calibration = fit_calibration(confidence, right)
    assert np.all(np.diff(calibration.accuracy) >= 0)
    assert calibration.items.sum() == 3_000
    for value, lower, upper in zip(
        calibration.accuracy,
        calibration.lower,
        [*calibration.lower[1:], np.inf],
        strict=True,
    ):
        inside = (confidence >= lower) & (confidence < upper)
        assert value <= right[inside].mean()  # a lower bound on the step's accuracy
    assert calibration(np.array([0.95]))[0] == pytest.approx(0.95, abs=0.02)
    assert calibration(np.array([0.55]))[0] == pytest.approx(0.6, abs=0.04)
    # equal confidences share one step
    assert len(np.unique(calibration(confidence))) <= len(np.unique(confidence))


def test_few_reference_items_vouch_for_little_and_none_leave_the_confidences() -> None:
    confidence = np.array([0.99, 0.995, 0.999])
    few = recalibrate(confidence, [1, 2, 3], np.full(10, 0.99), list(range(10, 20)), np.ones(10))
    assert few.calibrated and few.confidence.max() < 0.8  # 10 of 10 right vouch for ~0.76
    none = recalibrate(confidence, [1, 2, 3], np.empty(0), [], np.empty(0))
    assert not none.calibrated and np.array_equal(none.confidence, confidence)
    assert "no reference" in none.describe()


def test_no_reference_item_calibrates_itself() -> None:
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.5, 1.0, 400)
    right = (rng.uniform(size=400) < confidence).astype(float)
    ids = list(range(400))
    before = recalibrate(confidence, ids, confidence, ids, right).confidence
    for item in (0, 7, 123):
        flipped = right.copy()
        flipped[item] = 1 - flipped[item]
        after = recalibrate(confidence, ids, confidence, ids, flipped).confidence
        assert after[item] == before[item]  # its own label never reaches its own confidence
        assert not np.array_equal(after, before)  # but it does calibrate the others


@pytest.mark.parametrize("seed", [84, 3, 0])  # co-erring, copies, independent
def test_weak_labels_admitted_at_c_are_at_least_c_accurate(seed: int) -> None:
    """A quarter of the covered items are gold; on the rest, the labels admitted at each
    threshold are at least that accurate. On the dependent structures the confidences come from a
    model blind to the dependence (Snorkel's parameters), which overstates them (asserted, so the
    test can fail, whatever our own model's calibration is), and on the independent one the
    recalibration still admits most labels."""
    structure = random_structure(seed)
    L, y = structure.sample(4_000, seed)
    covered = (L != ABSTAIN).any(axis=1)
    blind = "auto" if structure.independent else "compact"
    proba = LabelModel(structure.k, seed=0, structure=blind).fit(L).predict_proba(L)
    right = proba.argmax(axis=1) == y
    gold = covered & (np.random.default_rng(seed).uniform(size=len(y)) < 0.25)
    ids = np.arange(len(y))
    own = proba.max(axis=1)
    calibrated = recalibrate(own, ids, own[gold], ids[gold], right[gold]).confidence
    held_out = covered & ~gold

    def admitted_accuracy(confidence: np.ndarray, threshold: float) -> float:
        admitted = held_out & (confidence >= threshold)
        return float(right[admitted].mean()) if admitted.any() else 1.0

    for threshold in THRESHOLDS:
        assert admitted_accuracy(calibrated, threshold) >= threshold, (seed, threshold)
    if not structure.independent:
        assert any(admitted_accuracy(own, c) < c for c in THRESHOLDS)
    else:
        assert (calibrated[held_out] >= 0.9).mean() > 0.8


def test_label_day_admits_weak_labels_as_accurate_as_the_threshold() -> None:
    """Through label_day: the window's gold and human labels recalibrate the day's weak
    confidences, so training_labels at >= c takes weak labels at least c accurate."""
    structure = random_structure(84)
    L, y = structure.sample(6_000, 84)
    classes = tuple(f"class{c}" for c in range(structure.k))
    names = [f"f{j}" for j in range(L.shape[1])]
    day_of = np.repeat(np.arange(1, 7), 1_000)  # six days of 1,000 photos
    matrix = pl.DataFrame(
        {"photo_id": np.arange(len(y)), **{n: L[:, j] for j, n in enumerate(names)},
         "classifier_version": [None] * len(y),
         "day": [date(2026, 1, int(d)) for d in day_of]},
        schema_overrides={"day": pl.Date, "classifier_version": pl.String},
    )  # fmt: skip
    labeled = np.random.default_rng(0).uniform(size=len(y)) < 0.3
    base = {"confidence": 0.9, "annotations": 3, "annotators": ["x"], "agreement": 1.0}
    reference = pl.DataFrame(
        [
            {**base, "photo_id": i, "label": classes[y[i]],
             "gold_label": classes[y[i]] if i % 10 == 0 else None}
            for i in np.flatnonzero(labeled & (day_of < 6))
        ],
        schema=CONSENSUS,
    )  # fmt: skip
    day = date(2026, 1, 6)
    calibrated = label_day(matrix, reference, day, names, classes, "lf1", calibrate=True)
    own = label_day(matrix, reference, day, names, classes, "lf1", calibrate=False)
    assert "recalibrated on" in calibrated.weak_confidence
    truth = pl.DataFrame({"photo_id": np.arange(len(y)), "truth": [classes[c] for c in y]})

    def admitted_accuracy(result, threshold: float) -> float:
        rows = training_labels(result.table, use_weak=True, weak_min_confidence=threshold)
        rows = rows.filter(pl.col("source") == "weak").join(truth, on="photo_id")
        return float((rows["label"] == rows["truth"]).mean()) if len(rows) else 1.0

    for threshold in THRESHOLDS:
        assert admitted_accuracy(calibrated, threshold) >= threshold, threshold
    assert any(admitted_accuracy(own, c) < c for c in THRESHOLDS)


@pytest.mark.parametrize("k", [2, 4])
def test_a_label_model_whose_votes_never_overlap_claims_no_identified_accuracy(k: int) -> None:
    """One function, or functions that never vote on the same item: no agreement measures an
    accuracy, so the confidence is the midpoint between chance and certainty (never the 0.99
    that EM reaches by taking every vote for the truth); one overlap restores the fit."""
    rng = np.random.default_rng(k)
    y = rng.integers(0, k, 3_000)
    votes = np.where(rng.uniform(size=3_000) < 0.8, y, (y + 1) % k)
    single = np.where(rng.uniform(size=3_000) < 0.5, votes, ABSTAIN)[:, None]
    apart = np.full((3_000, 3), ABSTAIN)
    apart[np.arange(3_000), rng.integers(0, 3, 3_000)] = votes  # one function per item
    for L in (single, apart):
        model = LabelModel(k).fit(L)
        covered = (L != ABSTAIN).any(axis=1)
        confidence = model.predict_proba(L)[covered].max(axis=1)
        assert np.allclose(confidence, (1 + 1 / k) / 2), (L.shape, confidence.max())
        assert np.allclose(model.lf_accuracies(), (1 + 1 / k) / 2)
    together = np.stack([np.where(rng.uniform(size=3_000) < 0.7, np.where(
        rng.uniform(size=3_000) < 0.8, y, (y + 1) % k), ABSTAIN) for _ in range(4)], axis=1)  # fmt: skip
    assert LabelModel(k).fit(together).lf_accuracies() == pytest.approx(np.full(4, 0.8), abs=0.05)
