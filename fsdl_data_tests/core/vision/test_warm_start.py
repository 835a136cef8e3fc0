"""Warm starts: a new classifier continues from the last one (fewer updates, old labels
replayed), its version names its parent, and every few models one is trained from scratch."""

from __future__ import annotations

import numpy as np
import pytest

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.train import TrainConfig, TrainReport, model_version, train_classifier

CLASSES = ("a", "b", "c")


def images(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Noisy images whose class is their dominant colour channel: learnable, not trivially."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    pixels = rng.integers(0, 140, (n, 64, 64, 3)).astype(np.uint8)
    for i, label in enumerate(labels):
        pixels[i, :, :, label] += 100
    return pixels, [CLASSES[k] for k in labels]


def test_a_warm_start_reaches_in_few_steps_what_scratch_does_not() -> None:
    first_x, first_y = images(300, 0)
    parent, report = train_classifier(first_x, first_y, CLASSES, "v1", TrainConfig(steps=150))
    assert report.val_accuracy is not None and report.val_accuracy > 0.9
    more_x, more_y = images(100, 1)
    x, y = np.concatenate([first_x, more_x]), first_y + more_y
    none = TrainConfig(steps=0)  # no update at all: what each starts from
    _, cold = train_classifier(x, y, CLASSES, "cold", none)
    started, warm = train_classifier(x, y, CLASSES, "warm", none, start_from=parent)
    assert warm.val_accuracy > 0.9 > cold.val_accuracy  # the parent's knowledge carries over
    assert all((a == b).all() for a, b in zip(parent.net.state_dict().values(),
                                              started.net.state_dict().values(), strict=True))  # fmt: skip
    few = TrainConfig(steps=20)
    _, tuned = train_classifier(x, y, CLASSES, "tuned", few, start_from=parent)
    assert tuned.val_accuracy > 0.9  # and a few updates on all labels keep it there
    assert model_version("labels", few, "v1") != model_version("labels", few)
    with pytest.raises(ValueError, match="cannot warm-start"):
        train_classifier(x, ["x"] * len(y), ("x", "y", "z"), "bad", few, start_from=parent)


def test_every_few_models_one_is_trained_from_scratch(tmp_path) -> None:
    store = LocalObjectStore(tmp_path)
    report = TrainReport(1, 0, None, None)
    x, y = images(4, 2)
    model, _ = train_classifier(x, y, CLASSES, "unused", TrainConfig(steps=1))
    depths = []
    for day in range(1, 8):
        through = f"2026-01-0{day}"
        parent = registry.warm_start_parent(store, through, full_retrain_every=3)
        depth = registry.warm_depth(parent) + 1 if parent else 0
        depths.append(depth)
        details = {"warm_from": parent.version if parent else None, "warm_depth": depth}
        registry.train_or_reuse(store, f"v{day}", through, lambda: (model, report), details)
    assert depths == [0, 1, 2, 0, 1, 2, 0]
    assert registry.warm_start_parent(store, "2026-01-09", full_retrain_every=0) is None  # off


def test_the_training_plan_joins_labels_to_pixels_and_names_its_version() -> None:
    """The night's plan: only labels whose photo has pixels, in photo order whatever the read
    order, warm_steps when continuing from a parent, and a version that changes with the
    labels and the parent and not with the order rows were read in."""
    import polars as pl

    from fsdl_data.core.versioning.hashing import frame_digest
    from fsdl_data.core.vision.train import plan_training

    labels = pl.DataFrame(
        {
            "photo_id": [3, 1, 2, 9],
            "label": ["a", "b", "c", "a"],
            "trusted": [True] * 4,
            "source": ["gold", "human", "weak", "human"],
        }
    )
    pixels = pl.DataFrame({"photo_id": [1, 2, 3], "thumbnail": [b"1", b"2", b"3"]})
    settings = {"steps": 300, "warm_steps": 100, "batch_size": 32, "lr": 3e-3, "seed": 0}
    scratch = plan_training(labels, pixels, None, **settings)
    assert scratch.rows["photo_id"].to_list() == [1, 2, 3]  # photo 9 has no pixels
    assert scratch.rows["thumbnail"].to_list() == [b"1", b"2", b"3"]
    assert scratch.config.steps == 300 and scratch.parent is None
    assert scratch.label_sources == {"gold": 1, "human": 1, "weak": 1}
    warm = plan_training(labels, pixels, "parent-v", **settings)
    assert warm.config.steps == 100 and warm.parent == "parent-v"
    assert warm.version != scratch.version
    shuffled = plan_training(labels.reverse(), pixels.reverse(), None, **settings)
    assert shuffled.version == scratch.version
    relabeled = labels.with_columns(pl.when(pl.col("photo_id") == 1).then(pl.lit("c"))
                                    .otherwise("label").alias("label"))  # fmt: skip
    assert plan_training(relabeled, pixels, None, **settings).version != scratch.version
    digest = frame_digest(scratch.rows.select("photo_id", "label", "trusted"))
    assert scratch.version == model_version(digest, scratch.config)
