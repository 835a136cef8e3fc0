"""Unit tests of core/labels/active.py: uncertainty scores, the selection and the queue."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fsdl_data.core.labels.active import (
    build_queue,
    handled_photos,
    select_for_labeling,
    uncertainty,
)

CLASSES = ("city", "food", "landscape")


def classifications(rows: list[tuple[int, float, float, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "photo_id": pl.Series([r[0] for r in rows], dtype=pl.Int64),
            **{f"p_{c}": [float(r[i + 1]) for r in rows] for i, c in enumerate(CLASSES)},
            "day": [dt.date(2026, 1, 2)] * len(rows),
            "key": [f"photos/{r[0]}.jpg" for r in rows],
            "classifier_version": ["v1"] * len(rows),
        }
    )


def test_uncertainty_is_one_minus_the_margin_plus_one_on_disagreement() -> None:
    scored = uncertainty(
        classifications([(1, 0.6, 0.3, 0.1), (2, 0.5, 0.5, 0.0), (3, 0.1, 0.1, 0.8)]),
        CLASSES,
        pl.DataFrame({"photo_id": [1, 3], "weak_label": ["food", "landscape"]}),
    )
    rows = {r["photo_id"]: r for r in scored.iter_rows(named=True)}
    assert rows[1]["predicted_class"] == "city" and rows[1]["disagrees"] is True
    assert rows[1]["uncertainty"] == pytest.approx(1 - 0.3 + 1)
    assert rows[2]["uncertainty"] == pytest.approx(1.0) and rows[2]["disagrees"] is False
    assert rows[3]["uncertainty"] == pytest.approx(1 - 0.7) and rows[3]["disagrees"] is False
    assert uncertainty(classifications([]), CLASSES).is_empty()


def test_selection_ranks_the_most_uncertain_within_budget_and_skips_excluded() -> None:
    scored = uncertainty(
        classifications([(1, 0.9, 0.1, 0), (2, 0.5, 0.5, 0), (3, 0.5, 0.5, 0), (4, 0.4, 0.3, 0.3)]),
        CLASSES,
    )
    chosen = select_for_labeling(scored, budget=2, exclude={2})
    assert chosen.select("rank", "photo_id").rows() == [(1, 3), (2, 4)]
    ties = select_for_labeling(scored, budget=2)
    assert ties["photo_id"].to_list() == [2, 3]  # equal uncertainty: lower photo id first
    assert select_for_labeling(scored, budget=0).is_empty()
    with pytest.raises(ValueError, match="strategy"):
        select_for_labeling(scored, budget=1, strategy="entropy")
    with pytest.raises(ValueError, match="budget"):
        select_for_labeling(scored, budget=-1)


def test_random_selection_is_seeded_and_a_photos_draw_ignores_the_others() -> None:
    rows = [(p, 0.5, 0.3, 0.2) for p in range(1, 41)]
    scored = uncertainty(classifications(rows), CLASSES)
    everyone = select_for_labeling(scored, budget=40, strategy="random", seed=3)["photo_id"]
    fewer = select_for_labeling(scored, budget=40, strategy="random", seed=3, exclude={5, 9})
    assert [p for p in everyone.to_list() if p not in (5, 9)] == fewer["photo_id"].to_list()
    other_seed = select_for_labeling(scored, budget=40, strategy="random", seed=4)["photo_id"]
    assert everyone.to_list() != other_seed.to_list()
    assert sorted(everyone.to_list()) == list(range(1, 41))


def test_handled_photos_are_the_annotated_the_skipped_and_the_queued() -> None:
    human = pl.DataFrame(
        {
            "photo_id": [1, 2, 3, None],
            "rejected_reason": [None, "cancelled", "unknown_class", None],
        }
    )
    earlier = pl.DataFrame({"photo_id": [7]})
    assert handled_photos(human, earlier) == {1, 2, 7}


def test_the_queue_leaves_out_covered_and_handled_photos_and_keeps_details() -> None:
    labeled = pl.DataFrame(
        {
            "photo_id": [1, 2, 3, 4],
            "source": ["gold", "human", "weak", None],
            "weak_label": [None, None, "food", None],
        }
    )
    rows = [
        (1, 0.5, 0.5, 0),
        (2, 0.5, 0.5, 0),
        (3, 0.6, 0.4, 0),
        (4, 0.9, 0.1, 0),
        (5, 0.4, 0.4, 0.2),
    ]
    queue = build_queue(classifications(rows), labeled, {5}, CLASSES, budget=5)
    assert queue["photo_id"].to_list() == [3, 4]  # 3: unsure and the weak label disagrees
    assert queue["key"].to_list() == ["photos/3.jpg", "photos/4.jpg"]
    assert set(queue["classifier_version"]) == {"v1"} and queue["rank"].to_list() == [1, 2]
