"""Group `vision`: the photo classifier (trained on human labels) and its outputs, on the GPU."""

import json
from dataclasses import asdict

import dagster as dg
import numpy as np
import polars as pl

from fsdl_data.assets._outputs import table
from fsdl_data.core.labels.human import majority_labels
from fsdl_data.core.tables.schemas import CONTENT_CLASSES, PHOTO_CLASSIFICATIONS, empty
from fsdl_data.core.versioning.hashing import frame_digest
from fsdl_data.core.vision.decode import decode_rgb
from fsdl_data.core.vision.infer import classify
from fsdl_data.core.vision.model import IMAGE_SIZE, Classifier, pick_device
from fsdl_data.core.vision.train import TrainConfig, TrainReport, model_version, train_classifier
from fsdl_data.executors import GPU_OP_TAGS, GPU_POOL
from fsdl_data.partitions import daily
from fsdl_data.resources import ObjectStoreResource

OWNERS = ["team:vision"]
MODEL_PREFIX = "models/photo_classifier"


class ClassifierTraining(dg.Config):
    epochs: int = 60
    batch_size: int = 32
    lr: float = 3e-3
    seed: int = 0


class InferenceConfig(dg.Config):
    batch_size: int = 64
    num_workers: int = 2


@dg.asset(
    group_name="vision",
    owners=OWNERS,
    kinds={"pytorch"},
    op_tags=GPU_OP_TAGS,
    pool=GPU_POOL,
    description="A small CNN (content classes + a self-supervised style head) trained on every human "
    "label so far, disagreements resolved by majority. Its version is a hash of the labels, code and "
    "config; the weights are saved to the lake and loaded back with weights_only.",
)
def photo_classifier(
    context: dg.AssetExecutionContext,
    config: ClassifierTraining,
    objects: ObjectStoreResource,
    lake: ObjectStoreResource,
    human_labels: pl.DataFrame,
    raw_photos: pl.DataFrame,
) -> dg.Output:
    labels = majority_labels(human_labels)
    usable = labels.join(
        raw_photos.filter(pl.col("decode_error").is_null()).select("photo_id", "key"), on="photo_id"
    )
    cfg = TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, seed=config.seed
    )
    version = model_version(frame_digest(usable.select("photo_id", "label")), cfg)
    key = f"{MODEL_PREFIX}/{version}.pt"
    models = lake.open()
    card_key = f"{MODEL_PREFIX}/{version}.json"
    if models.head(key) is not None and models.head(card_key) is not None:
        # same labels, code and config: the weights already exist (re-runs and backfills are free)
        report = TrainReport(**json.loads(models.get(card_key)))
        context.log.info(f"classifier {version} already trained on these labels: reusing it")
    else:
        store = objects.open()
        images = [decode_rgb(store.get(k), IMAGE_SIZE) for k in usable["key"]]
        classifier, report = train_classifier(
            images, usable["label"].to_list(), CONTENT_CLASSES, version, cfg
        )
        models.put(key, classifier.to_bytes())
        models.put(
            card_key, json.dumps(asdict(report)).encode()
        )  # after the weights: a card means both exist
    row = pl.DataFrame(
        {
            "version": [version],
            "model_key": [key],
            "labeled_photos": [len(usable)],
            "n_train": [report.n_train],
            "n_val": [report.n_val],
            "val_accuracy": [report.val_accuracy],
            "style_mae": [report.style_mae],
            "mean_agreement": [float(labels["agreement"].mean() or 0.0)],
        }
    )
    return dg.Output(
        row,
        data_version=dg.DataVersion(version),
        metadata={
            "version": version,
            "val_accuracy": report.val_accuracy or float("nan"),
            "labeled_photos": len(usable),
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
    "predicted class and a style score, each row carrying the classifier version. Decoding runs in "
    "DataLoader workers, overlapping the forward pass; CUDA is used when present.",
)
def photo_classifications(
    context: dg.AssetExecutionContext,
    config: InferenceConfig,
    objects: ObjectStoreResource,
    lake: ObjectStoreResource,
    raw_photos: pl.DataFrame,
    photo_classifier: pl.DataFrame,
) -> dg.Output:
    device = pick_device()
    classifier = Classifier.from_bytes(lake.open().get(photo_classifier["model_key"][0]), device)
    ok = raw_photos.filter(pl.col("decode_error").is_null()).sort("photo_id")
    if ok.is_empty():
        return table(empty(PHOTO_CLASSIFICATIONS), device=device)
    store = objects.open()
    df = classify(
        classifier,
        ok["photo_id"].to_list(),
        ok["key"].to_list(),
        store.get,
        config.batch_size,
        config.num_workers,
        device,
    )
    counts = df.group_by("predicted_class").len().sort("predicted_class")
    return table(
        df,
        device=device,
        classifier_version=classifier.version,
        skipped_undecodable=len(raw_photos) - len(ok),
        mean_style_score=float(np.mean(df["style_score"].to_numpy())),
        **{f"predicted/{c}": n for c, n in counts.iter_rows()},
    )
