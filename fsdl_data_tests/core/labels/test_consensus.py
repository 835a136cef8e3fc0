"""Annotator-aware consensus: against crowd-kit's Dawid-Skene on the world's annotations, and on
small tables whose answers are known."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.labels.consensus import annotator_consensus
from fsdl_data.core.labels.human import majority_labels, parse_label_studio
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.world.generator import seed_world
from fsdl_data_tests.helpers import SMALL

CLASSES = ("a", "b", "c")


def annotations(
    rows: list[tuple[int, str, str]], gold: dict[int, str] | None = None
) -> pl.DataFrame:
    records = [
        {"photo_id": p, "annotator": who, "label": label, "ground_truth": False}
        for p, who, label in rows
    ]
    records += [
        {"photo_id": p, "annotator": "expert", "label": label, "ground_truth": True}
        for p, label in (gold or {}).items()
    ]
    return pl.DataFrame(records)


def synthetic(n: int, accuracies: dict[str, float], seed: int = 0):
    """Every item labeled by every annotator; errors uniform over the other classes."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(len(CLASSES), size=n, p=[0.5, 0.3, 0.2])
    rows = []
    for i, y in enumerate(truth):
        for who, accuracy in accuracies.items():
            label = y if rng.uniform() < accuracy else (y + rng.integers(1, 3)) % 3
            rows.append((i, who, CLASSES[label]))
    return rows, {i: CLASSES[y] for i, y in enumerate(truth)}


def test_weighs_annotators_by_how_good_they_are() -> None:
    accuracies = {"good": 0.95, "fair": 0.75, "poor": 0.55, "poorer": 0.5}
    rows, truth = synthetic(3000, accuracies)
    result = annotator_consensus(annotations(rows), CLASSES)
    estimated = dict(result.annotators.select("annotator", "estimated_accuracy").iter_rows())
    for who, accuracy in accuracies.items():
        assert estimated[who] == pytest.approx(accuracy, abs=0.03)
    labels = dict(result.photos.select("photo_id", "label").iter_rows())
    ours = np.mean([labels[i] == truth[i] for i in truth])
    votes = annotations(rows).with_columns(rejected_reason=pl.lit(None, pl.String))
    majority = dict(majority_labels(votes).select("photo_id", "label").iter_rows())
    assert ours > np.mean([majority[i] == truth[i] for i in truth]) + 0.02
    assert result.photos["confidence"].is_between(0.3, 1.0).all()


def test_gold_fixes_its_photo_and_measures_annotators() -> None:
    rows = [
        (1, "ann", "a"), (1, "bob", "b"), (1, "cyd", "b"),
        (2, "ann", "c"), (2, "bob", "c"), (2, "cyd", "a"),
        (3, "ann", "b"), (3, "bob", "b"),
    ]  # fmt: skip
    result = annotator_consensus(annotations(rows, gold={1: "a", 2: "c"}), CLASSES)
    photos = {r["photo_id"]: r for r in result.photos.iter_rows(named=True)}
    assert photos[1]["label"] == "a" and photos[1]["confidence"] == 1.0  # gold beats two votes
    assert photos[1]["gold_label"] == "a" and photos[3]["gold_label"] is None
    assert photos[1]["annotators"] == ["ann", "bob", "cyd"] and photos[1]["annotations"] == 3
    assert photos[1]["agreement"] == pytest.approx(1 / 3)
    people = {r["annotator"]: r for r in result.annotators.iter_rows(named=True)}
    # by hand: ann got 1 and 2 right; bob got 2; cyd got neither
    assert (people["ann"]["gold_annotations"], people["ann"]["gold_correct"]) == (2, 2)
    assert (people["bob"]["gold_correct"], people["cyd"]["gold_correct"]) == (1, 0)
    assert people["cyd"]["gold_accuracy"] == 0.0 and people["ann"]["gold_accuracy"] == 1.0
    assert "expert" not in people  # the expert is the reference, not an annotator


def test_excluded_annotators_do_not_vote_but_are_listed() -> None:
    rows = [(1, "ann", "a"), (1, "spam", "b"), (2, "spam", "c")]
    result = annotator_consensus(annotations(rows), CLASSES, excluded={"spam": "gold accuracy 0.2"})
    assert result.photos["photo_id"].to_list() == [1]  # photo 2 had only the excluded annotator
    assert result.photos["label"].to_list() == ["a"] and result.photos["annotators"][
        0
    ].to_list() == ["ann"]
    spam = result.annotators.filter(pl.col("annotator") == "spam").row(0, named=True)
    assert spam["excluded"] and spam["excluded_reason"] == "gold accuracy 0.2"


@pytest.fixture(scope="module")
def world_annotations(tmp_path_factory: pytest.TempPathFactory):
    root: Path = tmp_path_factory.mktemp("consensus-world")
    spec = replace(SMALL, photos_per_day=800, events_per_day=300, seed_label_fraction=0.1)
    store = LocalObjectStore(root / "objects")
    seed_world(spec, 3, store, AppDatabase(f"sqlite:///{root / 'app.db'}"), root / "truth")
    ids = set(range(1, 3 * 800 + 1))
    labels = pl.concat(
        [parse_label_studio(store.get(k), ids, CONTENT_CLASSES)
         for k in (o.key for o in store.list("labels/")) if k.endswith("tasks.json")]
    )  # fmt: skip
    truth = pl.concat([pl.read_parquet(p) for p in (root / "truth" / "photos").glob("*.parquet")])
    return labels.filter(pl.col("rejected_reason").is_null()), truth.select("photo_id", "content")


def test_agrees_with_crowd_kit_dawid_skene_or_is_more_accurate(world_annotations) -> None:
    from crowdkit.aggregation import DawidSkene

    accepted, truth = world_annotations
    ours = annotator_consensus(accepted, CONTENT_CLASSES).photos
    votes = accepted.filter(~pl.col("ground_truth"))
    theirs = DawidSkene(n_iter=100).fit_predict(
        votes.select(
            pl.col("photo_id").alias("task"), pl.col("annotator").alias("worker"), "label"
        ).to_pandas()
    )
    theirs = pl.DataFrame(
        {"photo_id": theirs.index.to_numpy(), "crowd_kit": theirs.to_numpy().astype(str)}
    )
    both = ours.join(theirs, on="photo_id").join(truth, on="photo_id")
    ours_right = float((both["label"] == both["content"]).mean())
    theirs_right = float((both["crowd_kit"] == both["content"]).mean())
    assert len(both) > 200
    assert float((both["label"] == both["crowd_kit"]).mean()) > 0.9
    assert ours_right >= theirs_right - 0.002, (ours_right, theirs_right)


def test_estimated_accuracy_tracks_gold_accuracy_on_the_world(world_annotations) -> None:
    accepted, _ = world_annotations
    people = annotator_consensus(accepted, CONTENT_CLASSES).annotators
    assert people["gold_annotations"].min() >= 5
    ranked_by_estimate = people.sort("estimated_accuracy")["annotator"].to_list()
    assert ranked_by_estimate[0] == "ann-eli" and ranked_by_estimate[-1] == "ann-amy"
    close = people.filter((pl.col("estimated_accuracy") - pl.col("gold_accuracy")).abs() < 0.2)
    assert len(close) >= 4
