"""Group `vision`: the photo classifier (trained on the labeled set) and its outputs, on the GPU."""

import dagster as dg
import numpy as np
import polars as pl

from fsdl_data.assets._outputs import picture, table
from fsdl_data.core import plots
from fsdl_data.core.labels.labeled_set import training_labels
from fsdl_data.core.modeling.metrics import versus_reference
from fsdl_data.core.tables.schemas import CONTENT_CLASSES, PHOTO_CLASSIFICATIONS, empty
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.infer import classify_pixels
from fsdl_data.core.vision.model import pick_device
from fsdl_data.core.vision.pixels import thumbnails_from_bytes
from fsdl_data.core.vision.train import plan_training, train_classifier
from fsdl_data.executors import GPU_OP_TAGS, GPU_POOL
from fsdl_data.partitions import daily
from fsdl_data.resources import PARTITION_COLUMN, ObjectStoreResource, TorchResource

OWNERS = ["team:vision"]


class ClassifierTraining(dg.Config):
    steps: int = 300  # minibatch updates: a night's training costs the same however many labels
    # Warm start: continue from the newest classifier trained on earlier labels, for warm_steps
    # updates over all labels (old ones replayed); every full_retrain_every-th model is trained
    # from scratch, so drift cannot accumulate. Measured: bench/nightly_day.py.
    warm_start: bool = True
    warm_steps: int = 100
    full_retrain_every: int = 30  # about monthly: a scratch night costs a full training
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0
    use_weak_labels: bool = True  # measured: see bench/label_model.py and README
    weak_min_confidence: float = 0.95


class InferenceConfig(dg.Config):
    batch_size: int = 64  # the fastest on CPU here (32-128 alike; 256 falls out of cache)


@dg.asset(
    group_name="vision",
    owners=OWNERS,
    kinds={"pytorch"},
    op_tags=GPU_OP_TAGS,
    pool=GPU_POOL,
    ins={
        "labeled_set": dg.AssetIn(metadata={PARTITION_COLUMN: "day"}),
        "photo_pixels": dg.AssetIn(),
    },
    description="A small CNN (content classes + a self-supervised style head) trained on the labeled "
    "set so far: gold and human labels, and weak labels above a confidence threshold. Its version "
    "is a hash of the labels, code and config; weights and card are kept in the registry "
    "(models/photo_classifier/) and reused when nothing changed.",
)
def photo_classifier(
    config: ClassifierTraining,
    lake: ObjectStoreResource,
    torch: TorchResource,
    labeled_set: pl.DataFrame,
    photo_pixels: pl.DataFrame,
) -> dg.Output:
    threads = torch.use_threads()
    labels = training_labels(
        labeled_set, use_weak=config.use_weak_labels, weak_min_confidence=config.weak_min_confidence
    )
    labels_through = str(labeled_set["day"].max()) if len(labeled_set) else None
    store = lake.open()
    parent = registry.warm_start_parent(
        store, labels_through, config.full_retrain_every if config.warm_start else 0
    )
    plan = plan_training(
        labels, photo_pixels, parent.version if parent else None, steps=config.steps,
        warm_steps=config.warm_steps, batch_size=config.batch_size, lr=config.lr,
        seed=config.seed,
    )  # fmt: skip
    rows, version, train_config = plan.rows, plan.version, plan.config
    sources = plan.label_sources
    card, reused = registry.train_or_reuse(
        store,
        version,
        labels_through,
        lambda: train_classifier(
            thumbnails_from_bytes(rows["thumbnail"].to_list()),
            rows["label"].to_list(),
            CONTENT_CLASSES,
            version,
            train_config,
            holdout_eligible=rows["trusted"].to_list(),
            start_from=registry.load_classifier(store, parent.version) if parent else None,
        ),
        details={
            "config": config.model_dump(),
            "label_sources": sources,
            "warm_from": parent.version if parent else None,
            "warm_depth": registry.warm_depth(parent) + 1 if parent else 0,
        },
    )
    report = card.report
    row = pl.DataFrame(
        {
            "version": [version],
            "model_key": [registry.weights_key(version)],
            "labels_through": [card.labels_through],
            "labeled_photos": [len(rows)],
            "n_train": [report.n_train],
            "n_val": [report.n_val],
            "val_accuracy": [report.val_accuracy],
            "style_mae": [report.style_mae],
            "reused": [reused],
        }
    )
    return dg.Output(
        row,
        data_version=dg.DataVersion(version),
        metadata={
            "version": version,
            "val_accuracy": report.val_accuracy
            if report.val_accuracy is not None
            else float("nan"),
            "labeled_photos": len(rows),
            "reused": reused,
            "warm_from": card.details.get("warm_from") or "(trained from scratch)",
            "warm_depth": card.details.get("warm_depth", 0),
            "torch_threads": threads,
            **{f"label_source/{s}": n for s, n in sources.items()},
        },
    )


@dg.asset(
    partitions_def=daily,
    group_name="vision",
    owners=OWNERS,
    kinds={"pytorch", "parquet"},
    op_tags=GPU_OP_TAGS,
    pool=GPU_POOL,
    description="Batched inference over the day's decodable photos: content-class probabilities, the "
    "predicted class and a style score, each row carrying the classifier version. Reads the "
    "model-sized pixels decoded at ingestion (photo_pixels); CUDA is used when present. Its page "
    "shows the class distribution and the confusion matrix against the day's human labels.",
)
def photo_classifications(
    config: InferenceConfig,
    lake: ObjectStoreResource,
    torch: TorchResource,
    photo_pixels: pl.DataFrame,
    photo_classifier: pl.DataFrame,
    human_consensus: pl.DataFrame,
) -> dg.Output:
    device = pick_device()
    threads = torch.use_threads()
    classifier = registry.load_classifier(lake.open(), photo_classifier["version"][0], device)
    pixels = photo_pixels.sort("photo_id")
    if pixels.is_empty():
        return table(empty(PHOTO_CLASSIFICATIONS), device=device, torch_threads=threads)
    df = classify_pixels(
        classifier,
        pixels["photo_id"].to_list(),
        pixels["key"].to_list(),
        thumbnails_from_bytes(pixels["thumbnail"].to_list()),
        config.batch_size,
        device,
    )
    counts = df.group_by("predicted_class").len().sort("predicted_class")
    versus_humans = versus_reference(df, human_consensus, list(CONTENT_CLASSES))
    return table(
        df,
        class_distribution=picture(
            plots.counts(
                counts["predicted_class"].to_list(), counts["len"].to_list(), "predicted classes"
            )
        ),
        confusion_vs_human=picture(
            plots.confusion(
                versus_humans.matrix,
                list(CONTENT_CLASSES),
                f"vs human labels ({versus_humans.items} photos)",
            )
        ),
        accuracy_vs_human=versus_humans.accuracy
        if versus_humans.accuracy is not None
        else float("nan"),
        device=device,
        torch_threads=threads,
        classifier_version=classifier.version,
        mean_style_score=float(np.mean(df["style_score"].to_numpy())),
        **{f"predicted/{c}": n for c, n in counts.iter_rows()},
    )
