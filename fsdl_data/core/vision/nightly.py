"""The night's classifier: from the labeled set so far to a registry entry, trained only when
the registry does not hold that version yet.

A warm start continues from the newest classifier trained on earlier labels (fewer updates, old
labels replayed); every `full_retrain_every`-th model in a chain is trained from scratch, so
drift cannot accumulate. The version names the labels, config, parent and training code
(`train.plan_training`), so identical inputs reuse stored weights and edited code never does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from fsdl_data.core.labels.labeled_set import training_labels
from fsdl_data.core.storage.objects import ObjectStore
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.pixels import thumbnails_from_bytes
from fsdl_data.core.vision.train import plan_training, train_classifier


@dataclass(frozen=True)
class NightlyTraining:
    """How a night trains (the defaults live in the asset's config)."""

    steps: int  # minibatch updates from scratch
    warm_start: bool
    warm_steps: int  # updates when continuing from the previous classifier
    full_retrain_every: int
    batch_size: int
    lr: float
    seed: int
    use_weak_labels: bool
    weak_min_confidence: float


@dataclass(frozen=True)
class NightlyClassifier:
    """The night's classifier: its card, whether the registry already held it, and what it was
    trained on."""

    card: registry.ClassifierCard
    reused: bool
    labeled_photos: int
    label_sources: dict[str, int]

    def row(self) -> pl.DataFrame:
        """The photo_classifier table: one row naming the version and how it scored."""
        report = self.card.report
        return pl.DataFrame(
            {
                "version": [self.card.version],
                "model_key": [registry.weights_key(self.card.version)],
                "labels_through": [self.card.labels_through],
                "labeled_photos": [self.labeled_photos],
                "n_train": [report.n_train],
                "n_val": [report.n_val],
                "val_accuracy": [report.val_accuracy],
                "style_mae": [report.style_mae],
                "reused": [self.reused],
            }
        )


def recorded_classifier(
    store: ObjectStore, version: str, labeled_photos: int = 0
) -> pl.DataFrame | None:
    """The photo_classifier table naming a version the registry holds, as a night that reused
    it writes it (None when the registry does not hold it): a rebuild's recorded classifier."""
    card = registry.read_card(store, version)
    if card is None:
        return None
    return NightlyClassifier(card, True, labeled_photos, {}).row()


def train_nightly(
    store: ObjectStore,
    labeled_set: pl.DataFrame,
    photo_pixels: pl.DataFrame,
    classes: tuple[str, ...],
    options: NightlyTraining,
) -> NightlyClassifier:
    """Train (or reuse) the classifier on `labeled_set` (every day so far, tagged in its `day`
    column) joined to `photo_pixels`, and keep it in the registry of `store`."""
    labels = training_labels(
        labeled_set,
        use_weak=options.use_weak_labels,
        weak_min_confidence=options.weak_min_confidence,
    )
    labels_through = str(labeled_set["day"].max()) if len(labeled_set) else None
    parent = registry.warm_start_parent(
        store, labels_through, options.full_retrain_every if options.warm_start else 0
    )
    plan = plan_training(
        labels, photo_pixels, parent.version if parent else None, steps=options.steps,
        warm_steps=options.warm_steps, batch_size=options.batch_size, lr=options.lr,
        seed=options.seed,
    )  # fmt: skip
    rows, sources = plan.rows, plan.label_sources
    card, reused = registry.train_or_reuse(
        store,
        plan.version,
        labels_through,
        lambda: train_classifier(
            thumbnails_from_bytes(rows["thumbnail"].to_list()),
            rows["label"].to_list(),
            classes,
            plan.version,
            plan.config,
            holdout_eligible=rows["trusted"].to_list(),
            start_from=registry.load_classifier(store, parent.version) if parent else None,
        ),
        details={
            "config": asdict(options),
            "label_sources": sources,
            "warm_from": parent.version if parent else None,
            "warm_depth": registry.warm_depth(parent) + 1 if parent else 0,
        },
    )
    return NightlyClassifier(card, reused, len(rows), sources)
