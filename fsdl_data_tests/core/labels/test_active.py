"""Active learning (core.labels.active): the uncertainty of a classification, the queue within a
budget, what is never queued again; against a naive per-row reference."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.labels import active

CLASSES = ("cat", "dog", "food")


def _classifications(rows: list[tuple[int, list[float]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "photo_id": [p for p, _ in rows],
            **{f"p_{c}": [ps[i] for _, ps in rows] for i, c in enumerate(CLASSES)},
        }
    )


def _naive(photo: int, probabilities: list[float], weak: str | None) -> tuple[str, float]:
    """(predicted class, uncertainty) of one photo, the obvious way."""
    ranked = sorted(range(len(CLASSES)), key=lambda i: -probabilities[i])
    best, second = probabilities[ranked[0]], probabilities[ranked[1]]
    predicted = CLASSES[probabilities.index(max(probabilities))]
    return predicted, (1 - (best - second)) + (
        1.0 if weak is not None and weak != predicted else 0.0
    )


ROWS = st.lists(
    st.tuples(st.integers(1, 10_000), st.lists(st.floats(0, 1), min_size=3, max_size=3)),
    min_size=0, max_size=25, unique_by=lambda row: row[0],
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(ROWS, st.data())
def test_uncertainty_is_one_minus_the_margin_plus_one_on_disagreement(rows, data) -> None:
    weak = {p: data.draw(st.sampled_from((None, *CLASSES))) for p, _ in rows}
    weak_frame = pl.DataFrame(
        {
            "photo_id": [p for p, w in weak.items() if w],
            "weak_label": [w for w in weak.values() if w],
        },
        schema={"photo_id": pl.Int64, "weak_label": pl.String},
    )
    scored = active.uncertainty(_classifications(rows), CLASSES, weak_frame)
    assert dict(scored.schema) == active.SCORED
    by_photo = {row["photo_id"]: row for row in scored.iter_rows(named=True)}
    assert set(by_photo) == {p for p, _ in rows}
    for photo, probabilities in rows:
        predicted, expected = _naive(photo, probabilities, weak[photo])
        assert by_photo[photo]["predicted_class"] == predicted
        assert by_photo[photo]["uncertainty"] == pytest.approx(expected)
        assert by_photo[photo]["disagrees"] == (
            weak[photo] is not None and weak[photo] != predicted
        )


@settings(max_examples=60, deadline=None)
@given(ROWS, st.integers(0, 30), st.sets(st.integers(1, 10_000), max_size=10))
def test_the_queue_takes_the_most_uncertain_unhandled_photos_within_the_budget(
    rows, budget: int, exclude: set[int]
) -> None:
    scored = active.uncertainty(_classifications(rows), CLASSES)
    chosen = active.select_for_labeling(scored, budget, exclude=exclude)
    candidates = sorted(
        ((row["uncertainty"], row["photo_id"]) for row in scored.iter_rows(named=True)
         if row["photo_id"] not in exclude),
        key=lambda pair: (-pair[0], pair[1]),
    )  # fmt: skip
    assert chosen["photo_id"].to_list() == [p for _, p in candidates[:budget]]
    assert chosen["rank"].to_list() == list(range(1, len(chosen) + 1))


def test_random_draws_are_seeded_and_do_not_depend_on_the_other_candidates() -> None:
    scored = active.uncertainty(_classifications([(p, [0.5, 0.3, 0.2]) for p in range(1, 41)]),
                                CLASSES)  # fmt: skip
    first = active.select_for_labeling(scored, 40, "random", seed=3)["photo_id"].to_list()
    assert sorted(first) == list(range(1, 41)) and first != sorted(first)
    assert active.select_for_labeling(scored, 40, "random", seed=3)["photo_id"].to_list() == first
    assert active.select_for_labeling(scored, 40, "random", seed=4)["photo_id"].to_list() != first
    fewer = active.select_for_labeling(scored, 40, "random", seed=3, exclude={first[0]})
    assert fewer["photo_id"].to_list() == first[1:]  # the others keep their order


def test_a_bad_strategy_or_budget_says_what_to_give() -> None:
    scored = active.uncertainty(_classifications([(1, [0.6, 0.3, 0.1])]), CLASSES)
    with pytest.raises(ValueError, match="choose one of uncertainty, random"):
        active.select_for_labeling(scored, 1, "loudest")
    with pytest.raises(ValueError, match="0 or more"):
        active.select_for_labeling(scored, -1)


def test_handled_photos_are_the_annotated_the_skipped_and_the_queued_before() -> None:
    human = pl.DataFrame({"photo_id": [1, 2, 3, None], "rejected_reason": [None, "cancelled",
                                                                          "no_annotator", None]})  # fmt: skip
    earlier = pl.DataFrame({"photo_id": [7]})
    assert active.handled_photos(human, earlier) == {1, 2, 7}  # 3 was rejected: it may return


def test_the_days_queue_never_repeats_covered_or_handled_photos() -> None:
    classifications = _classifications([(1, [0.34, 0.33, 0.33]), (2, [0.9, 0.05, 0.05]),
                                        (3, [0.5, 0.5, 0.0]), (4, [0.4, 0.35, 0.25])]).with_columns(
        day=pl.date(2026, 1, 2), key=pl.format("photos/date=2026-01-02/{}.jpg", "photo_id"),
        classifier_version=pl.lit("v1"),
    )  # fmt: skip
    labeled = pl.DataFrame({"photo_id": [1, 2], "source": ["human", "weak"],
                            "weak_label": [None, "dog"]})  # fmt: skip
    queue = active.build_queue(classifications, labeled, {3}, CLASSES, budget=5)
    assert dict(queue.schema) == active.LABELING_QUEUE
    # 1 is human-labeled, 3 handled; 2 is confident but its weak label disagrees (+1)
    assert queue["photo_id"].to_list() == [2, 4]
    assert queue["disagrees"].to_list() == [True, False]
    assert queue["key"].to_list() == [
        "photos/date=2026-01-02/2.jpg",
        "photos/date=2026-01-02/4.jpg",
    ]


def test_likely_label_errors_come_back_first_with_their_reason_once() -> None:
    """Re-review: the day's top label issues are queued ahead of the new photos, though a human
    labeled them (and whatever the new-photo budget), each with its reason; a photo an earlier
    queue sent back is not sent again; queues from before reviews existed count as none."""
    classifications = _classifications([(p, [0.5, 0.3, 0.2]) for p in range(1, 7)]).with_columns(
        day=pl.date(2026, 1, 2), key=pl.format("photos/date=2026-01-02/{}.jpg", "photo_id"),
        classifier_version=pl.lit("v1"),
    )  # fmt: skip
    labeled = pl.DataFrame({"photo_id": [1, 2, 3], "source": ["human", "gold", "weak"],
                            "weak_label": [None, None, "cat"]})  # fmt: skip
    issues = pl.DataFrame({"photo_id": [2, 1, 3, 4], "issue": [True, True, True, False],
                           "issue_rank": [1, 2, 3, None],
                           "review_reason": ["r2", "r1", "r3", None]})  # fmt: skip
    earlier = pl.DataFrame({"photo_id": [3, 5], "review_reason": ["r3", None]})
    assert active.reviewed_photos(earlier) == {3}
    assert active.reviewed_photos(pl.DataFrame({"photo_id": [3]})) == set()
    review = active.reviews_due(issues, 5, active.reviewed_photos(earlier))
    assert review["photo_id"].to_list() == [2, 1]  # 3 was reviewed before, 4 is no issue
    queue = active.build_queue(classifications, labeled, {1, 5}, CLASSES, 2, review=review)
    assert dict(queue.schema) == active.LABELING_QUEUE
    assert queue["photo_id"].to_list() == [2, 1, 3, 4]  # reviews, then 2 new (1 and 5 handled)
    assert queue["rank"].to_list() == [1, 2, 3, 4]
    assert queue["review_reason"].to_list() == ["r2", "r1", None, None]
    assert active.reviews_due(issues, 1, set())["photo_id"].to_list() == [2]
    with pytest.raises(ValueError, match="0 or more"):
        active.reviews_due(issues, -1, set())
