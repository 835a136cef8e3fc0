"""Group `vision`: the photo classifier (trained on the labeled set) and its outputs, on the GPU."""

import time

import dagster as dg
import numpy as np
import polars as pl

from fsdl_data.assets._outputs import picture, plots_at, table
from fsdl_data.core import plots
from fsdl_data.core.modeling.metrics import versus_reference
from fsdl_data.core.tables.schemas import CONTENT_CLASSES, PHOTO_CLASSIFICATIONS, empty
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.infer import classify_rows
from fsdl_data.core.vision.model import pick_device
from fsdl_data.core.vision.nightly import NightlyTraining, train_nightly
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
    # the label model's confidence, or its accuracy on reference labels where labeled_set runs
    # with `recalibrate_weak` (then 0.8 admits about what 0.95 does without: docs/labels.md)
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
    context: dg.AssetExecutionContext,
    config: ClassifierTraining,
    lake: ObjectStoreResource,
    torch: TorchResource,
    labeled_set: pl.DataFrame,
    photo_pixels: pl.DataFrame,
) -> dg.Output:
    threads = torch.use_threads(context)
    options = NightlyTraining(**config.model_dump())
    started = time.perf_counter()
    night = train_nightly(lake.open(), labeled_set, photo_pixels, CONTENT_CLASSES, options)
    training_s = time.perf_counter() - started
    card = night.card
    accuracy = card.report.val_accuracy
    return dg.Output(
        night.row(),
        data_version=dg.DataVersion(card.version),
        metadata={
            "version": card.version,
            "val_accuracy": accuracy if accuracy is not None else float("nan"),
            "labeled_photos": night.labeled_photos,
            "reused": night.reused,
            "warm_from": card.details.get("warm_from") or "(trained from scratch)",
            "warm_depth": card.details.get("warm_depth", 0),
            **threads.metadata(),
            "training_s": training_s,  # loading the rows, training (unless reused), saving
            **{f"label_source/{s}": n for s, n in night.label_sources.items()},
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
    "model-sized pixels decoded at ingestion (photo_pixels); CUDA is used when present."
    + plots_at("class_distribution", "confusion_vs_human"),
)
def photo_classifications(
    context: dg.AssetExecutionContext,
    config: InferenceConfig,
    lake: ObjectStoreResource,
    torch: TorchResource,
    photo_pixels: pl.DataFrame,
    photo_classifier: pl.DataFrame,
    human_consensus: pl.DataFrame,
) -> dg.Output:
    device = pick_device()
    threads = torch.use_threads(context)
    classifier = registry.load_classifier(lake.open(), photo_classifier["version"][0], device)
    pixels = photo_pixels.sort("photo_id")
    if pixels.is_empty():
        return table(empty(PHOTO_CLASSIFICATIONS), device=device, **threads.metadata())
    started = time.perf_counter()
    df = classify_rows(classifier, pixels, config.batch_size, device)
    inference_s = time.perf_counter() - started  # stored pixels to the table (bench/nightly_day)
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
        **threads.metadata(),
        batch_size=config.batch_size,
        inference_s=inference_s,
        inference_images_per_s=len(df) / inference_s if inference_s > 0 else float("nan"),
        classifier_version=classifier.version,
        mean_style_score=float(np.mean(df["style_score"].to_numpy())),
        **{f"predicted/{c}": n for c, n in counts.iter_rows()},
    )
