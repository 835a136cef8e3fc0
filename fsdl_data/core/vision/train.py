"""Training the photo classifier on the labeled set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import torch
from torch import nn

from fsdl_data.core.versioning.hashing import frame_digest
from fsdl_data.core.versions import code_version, version_of
from fsdl_data.core.vision.augment import Augmentation
from fsdl_data.core.vision.data import to_batch
from fsdl_data.core.vision.model import Classifier, PhotoNet
from fsdl_data.core.vision.style import vividness_batch


@dataclass(frozen=True)
class TrainConfig:
    """Training costs `steps` minibatch updates whatever the number of labels, so a night's
    training does not grow with the labeled set; more labels mean fewer passes over each."""

    steps: int = 300
    batch_size: int = 32
    lr: float = 3e-3
    val_share: float = 0.2
    seed: int = 0
    augmentation: Augmentation = field(default_factory=Augmentation)


@dataclass(frozen=True)
class TrainReport:
    n_train: int
    n_val: int
    val_accuracy: float | None
    style_mae: float | None


def model_version(label_digest: str, config: TrainConfig, parent: str | None = None) -> str:
    """The training code's source hash (so edited training code never reuses old weights),
    the config's repr (every hyperparameter, the augmentation policy and the seed) and the
    labels; a warm-started model's version also names the version it started from."""
    parts = (code_version("classifier"), repr(config), label_digest)
    return version_of(*parts, f"from {parent}") if parent else version_of(*parts)


@dataclass(frozen=True)
class TrainingPlan:
    """What a night's classifier is trained on and how: the labeled photos joined to their
    pixels (in photo order, so the version does not depend on read order), the config (fewer
    steps when warm-started), and the version those make."""

    rows: pl.DataFrame  # photo_id, label, trusted, source, ..., thumbnail
    config: TrainConfig
    version: str
    parent: str | None  # the version it starts from, or None: from scratch

    @property
    def label_sources(self) -> dict[str, int]:
        return dict(self.rows.group_by("source").len().sort("source").iter_rows())


def plan_training(
    labels: pl.DataFrame,
    photo_pixels: pl.DataFrame,
    parent: str | None,
    steps: int,
    warm_steps: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> TrainingPlan:
    """Labels joined to the photos' thumbnails (a label whose photo has no pixels is not
    trainable and drops out here), `warm_steps` updates when continuing from `parent`, else
    `steps`, and the version of that training (labels, config, parent, training code)."""
    rows = labels.join(photo_pixels.select("photo_id", "thumbnail"), on="photo_id").sort("photo_id")
    config = TrainConfig(
        steps=warm_steps if parent else steps, batch_size=batch_size, lr=lr, seed=seed
    )
    digest = frame_digest(rows.select("photo_id", "label", "trusted"))
    return TrainingPlan(rows, config, model_version(digest, config, parent), parent)


def _split(
    n: int, eligible: torch.Tensor, share: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation) indices; validation drawn from the eligible rows only."""
    order = torch.randperm(n, generator=generator)
    candidates = order[eligible[order]]
    n_val = int(len(candidates) * share) if len(candidates) >= 10 else 0
    is_val = torch.zeros(n, dtype=torch.bool)
    is_val[candidates[:n_val]] = True
    return order[~is_val[order]], candidates[:n_val]


def _batches(rows: torch.Tensor, size: int, steps: int, generator: torch.Generator):
    """`steps` minibatches, reshuffling `rows` at every pass."""
    done = 0
    while done < steps:
        perm = rows[torch.randperm(len(rows), generator=generator)]
        for start in range(0, len(perm), size):
            batch = perm[start : start + size]
            if len(batch) < 2:
                continue
            yield batch
            done += 1
            if done == steps:
                return


def train_classifier(
    images: Sequence[np.ndarray] | np.ndarray,
    labels: Sequence[str],
    classes: tuple[str, ...],
    version: str,
    config: TrainConfig,
    holdout_eligible: Sequence[bool] | None = None,
    start_from: Classifier | None = None,
) -> tuple[Classifier, TrainReport]:
    """Deterministic for a seed: the same labels and config give the same weights.

    The validation share is drawn from the rows `holdout_eligible` marks (default: all), so
    accuracy is measured on trusted labels only when weak labels are in the training set. With
    `start_from`, training continues from that classifier's weights (a warm start: its
    minibatches still draw from every label, so old labels are replayed beside the new ones).
    """
    if len(images) < 2:
        raise ValueError(
            f"need at least 2 labeled photos to train, got {len(images)}: label more photos first"
        )
    if start_from is not None and tuple(start_from.classes) != tuple(classes):
        raise ValueError(f"cannot warm-start: classes {start_from.classes} != {classes}")
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    pixels = np.stack(list(images)) if not isinstance(images, np.ndarray) else images
    x = to_batch(pixels)
    y = torch.tensor([classes.index(label) for label in labels])
    eligible = (
        torch.ones(len(x), dtype=torch.bool)
        if holdout_eligible is None
        else torch.tensor(list(holdout_eligible), dtype=torch.bool)
    )
    train_rows, val = _split(len(x), eligible, config.val_share, generator)
    net = PhotoNet(len(classes))
    if start_from is not None:
        net.load_state_dict(start_from.net.state_dict())
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    cross_entropy, l1 = nn.CrossEntropyLoss(), nn.L1Loss()
    net.train()
    for batch in _batches(train_rows, config.batch_size, config.steps, generator):
        xb = config.augmentation(x[batch], generator)
        logits, style = net(xb)
        loss = cross_entropy(logits, y[batch]) + l1(style, vividness_batch(xb))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    accuracy = mae = None
    if len(val):
        with torch.no_grad():
            logits, style = net(x[val])
        accuracy = float((logits.argmax(1) == y[val]).float().mean())
        mae = float((style - vividness_batch(x[val])).abs().mean())
    report = TrainReport(len(train_rows), len(val), accuracy, mae)
    return Classifier(net, classes, version), report
