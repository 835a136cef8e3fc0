"""Confident learning on plain arrays: with probabilities that know the truth it finds exactly
the corrupted labels; it never flags an item the classifier agrees with; it ranks the least
self-confident first; bad input is a one-line error."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.labels.issues import (
    LABEL_ISSUES,
    confident_joint,
    day_label_issues,
    find_label_issues,
    rounded_rows,
)


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


@pytest.mark.parametrize("seed", range(3))
def test_the_days_wrong_labels_are_flagged_from_pixels_with_the_right_suggestion(seed: int) -> None:
    """day_label_issues on the labeled set: cross-fitted over the window, one row per labeled
    photo of the day, the injected wrong labels (whatever their source) flagged and ranked
    first with the true class suggested and a reason naming source and label."""
    from fsdl_data_tests.core.labels.thumbnails import labeled_days, with_wrong_labels

    rng = np.random.default_rng(seed)
    classes = tuple(f"class{j}" for j in range(int(rng.integers(3, 6))))
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]
    labeled, pixels, true = labeled_days(rng, classes, days, per_day=int(rng.integers(60, 90)))
    today = labeled.filter(pl.col("day") == days[-1])["photo_id"].to_list()
    earlier = labeled.filter(pl.col("day") != days[-1])["photo_id"].to_list()
    wrong_today = rng.choice(today, size=int(rng.integers(2, 6)), replace=False).tolist()
    wrong = wrong_today + rng.choice(earlier, size=3, replace=False).tolist()
    noisy = with_wrong_labels(labeled, wrong, true, classes)
    out = day_label_issues(noisy, pixels.filter(pl.col("photo_id") != today[0]), classes, days[-1])
    assert dict(out.schema) == LABEL_ISSUES
    assert sorted(out["photo_id"].to_list()) == sorted(today[1:])  # the day's, with pixels
    flagged = out.filter(pl.col("issue"))
    assert set(wrong_today) - {today[0]} <= set(flagged["photo_id"].to_list())
    assert flagged["issue_rank"].to_list() == list(range(1, len(flagged) + 1))
    assert flagged["label_probability"].is_sorted()  # the least likely label first
    for row in flagged.filter(pl.col("photo_id").is_in(wrong_today)).iter_rows(named=True):
        assert row["suggested_label"] == classes[true[row["photo_id"] - 1]]
        assert row["source"] in row["review_reason"] and repr(row["label"]) in row["review_reason"]
    assert out.filter(~pl.col("issue"))["issue_rank"].null_count() == len(out) - len(flagged)


def test_a_label_outside_the_classes_is_a_one_line_error() -> None:
    labeled = pl.DataFrame({"photo_id": [1], "label": ["cat"], "source": ["human"],
                            "day": [dt.date(2026, 1, 1)]})  # fmt: skip
    pixels = pl.DataFrame({"photo_id": [1], "thumbnail": [bytes(64 * 64 * 3)]})
    with pytest.raises(ValueError, match="not among the classes"):
        day_label_issues(labeled, pixels, ("dog",), dt.date(2026, 1, 1))


@pytest.mark.parametrize("seed", range(4))
def test_rounded_rows_keep_each_rows_total_within_one_of_every_cell(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 7))
    totals = rng.integers(0, 500, size=k)
    counts = rng.dirichlet(np.ones(k), size=k) * totals[:, None]
    whole = rounded_rows(counts)
    assert (whole.sum(axis=1) == totals).all()
    assert (np.abs(whole - counts) < 1).all()
