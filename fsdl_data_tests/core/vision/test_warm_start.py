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
