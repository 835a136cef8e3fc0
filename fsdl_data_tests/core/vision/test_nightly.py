"""The night's classifier: which labels it trains on, when it warm-starts, and that the same
inputs reuse the stored weights while new labels train a new version."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.nightly import NightlyTraining, train_nightly
from fsdl_data.core.vision.pixels import thumbnail_bytes

CLASSES = ("a", "b")
OPTIONS = NightlyTraining(
    steps=3, warm_start=True, warm_steps=1, full_retrain_every=3, batch_size=4, lr=3e-3,
    seed=0, use_weak_labels=True, weak_min_confidence=0.9,
)  # fmt: skip


def night(rng: np.random.Generator, photo_ids: list[int], day: date) -> tuple[pl.DataFrame, ...]:
    """A labeled set of `photo_ids` labeled on `day` with randomly drawn sources and
    confidences, and pixels for all of them but a random one."""
    n = len(photo_ids)
    sources = rng.choice(["gold", "human", "weak"], n).tolist()
    labeled = pl.DataFrame(
        {
            "photo_id": photo_ids,
            "label": rng.choice(CLASSES, n).tolist(),
            "source": sources,
            "confidence": rng.uniform(0.5, 1.0, n).tolist(),
            "day": [day] * n,
        }
    )
    missing = int(rng.choice(photo_ids))
    pixels = pl.DataFrame(
        {
            "photo_id": [p for p in photo_ids if p != missing],
            "thumbnail": [
                thumbnail_bytes(rng.integers(0, 255, (64, 64, 3)))
                for p in photo_ids
                if p != missing
            ],
        }
    )
    return labeled, pixels


def trainable(labeled: pl.DataFrame, pixels: pl.DataFrame, options: NightlyTraining) -> int:
    """The rows a night should train on, counted by hand."""
    with_pixels = set(pixels["photo_id"].to_list())
    return sum(
        1
        for row in labeled.iter_rows(named=True)
        if row["photo_id"] in with_pixels
        and (
            row["source"] in ("gold", "human")
            or (options.use_weak_labels and row["confidence"] >= options.weak_min_confidence)
        )
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "lake")


@pytest.mark.parametrize("seed", [0, 1])
def test_a_night_trains_once_then_reuses_and_the_next_warm_starts(
    store: LocalObjectStore, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    first_labels, first_pixels = night(rng, list(range(1, 21)), date(2026, 1, 1))
    first = train_nightly(store, first_labels, first_pixels, CLASSES, OPTIONS)
    assert not first.reused and first.card.details["warm_from"] is None
    assert first.labeled_photos == trainable(first_labels, first_pixels, OPTIONS)
    assert sum(first.label_sources.values()) == first.labeled_photos
    assert first.card.labels_through == "2026-01-01"
    assert first.card.details["config"]["steps"] == OPTIONS.steps
    row = first.row().row(0, named=True)
    assert row["version"] == first.card.version and row["reused"] is False
    assert row["model_key"] == registry.weights_key(first.card.version)
    assert row["labeled_photos"] == first.labeled_photos

    again = train_nightly(store, first_labels.reverse(), first_pixels, CLASSES, OPTIONS)
    assert again.reused and again.card.version == first.card.version

    more_labels, more_pixels = night(rng, list(range(21, 31)), date(2026, 1, 2))
    labels = pl.concat([first_labels, more_labels])
    pixels = pl.concat([first_pixels, more_pixels])
    second = train_nightly(store, labels, pixels, CLASSES, OPTIONS)
    assert not second.reused and second.card.version != first.card.version
    assert second.card.details["warm_from"] == first.card.version
    assert second.card.details["warm_depth"] == 1
    assert second.card.report.n_train + second.card.report.n_val == second.labeled_photos

    cold = train_nightly(store, labels, pixels, CLASSES, replace(OPTIONS, warm_start=False))
    assert cold.card.details["warm_from"] is None and cold.card.version != second.card.version


def test_without_weak_labels_only_trusted_rows_train(store: LocalObjectStore) -> None:
    rng = np.random.default_rng(7)
    labeled, pixels = night(rng, list(range(1, 31)), date(2026, 1, 1))
    options = replace(OPTIONS, use_weak_labels=False)
    result = train_nightly(store, labeled, pixels, CLASSES, options)
    assert result.labeled_photos == trainable(labeled, pixels, options)
    assert "weak" not in result.label_sources
