"""Thumbnails whose class their pixels show, for tests of label issues: each class a colour and
a band drawn at random per seed (so no test can lean on one layout), with per-photo noise."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from fsdl_data.core.vision.pixels import IMAGE_SIZE, thumbnail_bytes


def class_looks(rng: np.random.Generator, k: int) -> list[tuple[np.ndarray, int]]:
    """Per class: a colour and the row where its band starts."""
    return [(rng.uniform(0, 255, size=3), int(rng.integers(0, IMAGE_SIZE - 16))) for _ in range(k)]


def thumbnails(rng: np.random.Generator, classes: np.ndarray, looks) -> np.ndarray:
    out = np.empty((len(classes), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    for i, c in enumerate(classes):
        colour, band = looks[c]
        image = rng.normal(127, 30, size=(IMAGE_SIZE, IMAGE_SIZE, 3))
        image[band : band + 16] = colour + rng.normal(0, 25, size=(16, IMAGE_SIZE, 3))
        out[i] = image.clip(0, 255)
    return out


def labeled_days(
    rng: np.random.Generator, classes: tuple[str, ...], days: list[dt.date], per_day: int
) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """(labeled_set rows tagged with their `day`, photo_pixels rows, true class per photo), every
    label right, sources at random."""
    n = per_day * len(days)
    true = rng.integers(0, len(classes), size=n)
    pixels = thumbnails(rng, true, class_looks(rng, len(classes)))
    labeled = pl.DataFrame(
        {
            "photo_id": np.arange(1, n + 1),
            "label": [classes[c] for c in true],
            "source": rng.choice(["gold", "human", "weak"], size=n, p=[0.1, 0.3, 0.6]).tolist(),
            "day": [days[i // per_day] for i in range(n)],
        }
    )
    photo_pixels = pl.DataFrame(
        {"photo_id": np.arange(1, n + 1), "thumbnail": [thumbnail_bytes(p) for p in pixels]}
    )
    return labeled, photo_pixels, true


def with_wrong_labels(
    labeled: pl.DataFrame, photo_ids: list[int], true: np.ndarray, classes: tuple[str, ...]
) -> pl.DataFrame:
    """`labeled` with each of `photo_ids` given the next class after its true one."""
    wrong = {p: classes[(true[p - 1] + 1) % len(classes)] for p in photo_ids}
    return labeled.with_columns(
        label=pl.col("photo_id").replace_strict(wrong, default=pl.col("label"))
    )
