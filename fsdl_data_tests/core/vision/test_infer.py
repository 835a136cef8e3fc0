"""Inference on a photo_pixels table, and with the classifier as known before a day: the
version recorded is the one that ran, and a classifier trained on the day's own labels never
votes on that day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import torch

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.infer import classify_as_of, classify_pixels, classify_rows
from fsdl_data.core.vision.model import Classifier, PhotoNet
from fsdl_data.core.vision.pixels import thumbnail_bytes
from fsdl_data.core.vision.train import TrainReport

CLASSES = ("a", "b", "c")


def pixel_rows(rng: np.random.Generator, n: int) -> tuple[pl.DataFrame, np.ndarray]:
    images = rng.integers(0, 255, (n, 64, 64, 3)).astype(np.uint8)
    ids = rng.permutation(np.arange(10, 10 + n)).tolist()
    rows = pl.DataFrame(
        {
            "photo_id": ids,
            "key": [f"photos/{i}.jpg" for i in ids],
            "thumbnail": [thumbnail_bytes(image) for image in images],
        }
    )
    return rows, images


def store_classifier(store: LocalObjectStore, version: str, labels_through: str) -> None:
    torch.manual_seed(len(version))
    classifier = Classifier(PhotoNet(len(CLASSES)), CLASSES, version)
    registry.train_or_reuse(
        store, version, labels_through, lambda: (classifier, TrainReport(1, 0, None, None))
    )


def test_classify_rows_is_classify_pixels_on_the_tables_columns() -> None:
    rng = np.random.default_rng(3)
    rows, images = pixel_rows(rng, int(rng.integers(5, 20)))
    classifier = Classifier(PhotoNet(len(CLASSES)), CLASSES, "v")
    got = classify_rows(classifier, rows, batch_size=4)
    expected = classify_pixels(  # the same batches: a conv's float sums depend on the batch
        classifier, rows["photo_id"].to_list(), rows["key"].to_list(), images, batch_size=4
    )
    assert got.equals(expected)
    assert got["photo_id"].to_list() == rows["photo_id"].to_list()


def test_classify_as_of_uses_the_classifier_known_before_the_day(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "lake")
    rng = np.random.default_rng(5)
    rows, _ = pixel_rows(rng, 6)
    assert classify_as_of(store, "2026-01-03", rows) == (None, None)  # none trained yet
    store_classifier(store, "early", "2026-01-01")
    store_classifier(store, "same-day", "2026-01-03")
    version, outputs = classify_as_of(store, "2026-01-03", rows)
    assert version == "early"
    assert outputs is not None and set(outputs["classifier_version"]) == {"early"}
    assert outputs["photo_id"].to_list() == rows["photo_id"].to_list()
    expected = classify_rows(registry.load_classifier(store, "early"), rows)
    assert outputs.equals(expected)
    assert classify_as_of(store, "2026-01-04", rows)[0] == "same-day"
    assert classify_as_of(store, "2026-01-04", rows.head(0)) == ("same-day", None)
