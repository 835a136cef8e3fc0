"""Labeling building blocks as assets: weak labels from a label model, Label Studio tasks out
and annotations back in."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl

from fsdl_data.components._tables import read_table, written
from fsdl_data.core.labels import labeled_set as labeled
from fsdl_data.core.labels.human import (
    HUMAN_LABELS,
    deduplicate,
    parse_label_studio,
    photos_named,
    rejection_counts,
)
from fsdl_data.core.labels.studio import image_urls, labeling_config, queue_tasks
from fsdl_data.core.storage.objects import open_object_store

URL_EXPIRY_S = 7 * 24 * 3600  # presigned image URLs in the tasks, on S3


def weak_labels(
    votes: pl.DataFrame, id_column: str, classes: list[str], seed: int = 0
) -> pl.DataFrame:
    """One row per item (integer ids in `id_column`): the label model's class, its probability
    and the functions that voted, from the votes (one column per labeling function: a class
    index, or -1 to abstain); an item no function voted on gets no label. The same fit as
    fsdl_data's labeled_set, on one table."""
    functions = [c for c in votes.columns if c != id_column]
    items = votes.rename({id_column: "photo_id"})
    labels, _ = labeled.weak_labels(items, items, functions, tuple(classes), seed)
    return labels.rename({"photo_id": id_column})


class WeakLabels(dg.Component, dg.Model, dg.Resolvable):
    """Snorkel's job as an asset: fit the label model on a votes table and write weak labels."""

    asset: str
    votes: str  # Parquet URL: an id column and one column per labeling function
    id_column: str = "id"
    classes: list[str]
    output: str  # Parquet URL
    deps: list[str] = []
    seed: int = 0

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        component = self

        @dg.asset(
            name=component.asset,
            deps=component.deps,
            kinds={"python", "parquet"},
            description=f"Weak labels over {component.classes} from the votes in "
            f"{component.votes} (label model), written to {component.output}.",
        )
        def _weak_labels() -> dg.MaterializeResult:
            votes = read_table(component.votes)
            return written(
                component.output,
                weak_labels(votes, component.id_column, component.classes, component.seed),
            )

        return dg.Definitions(assets=[_weak_labels])


class LabelStudioTasks(dg.Component, dg.Model, dg.Resolvable):
    """Label Studio tasks with pre-annotations from a predictions table (id, image key,
    predicted class, score, model version), and the labeling config beside them."""

    asset: str
    predictions: (
        str  # Parquet URL with columns photo_id, key, predicted_class, score, classifier_version
    )
    classes: list[str]
    objects: str  # where the tasks are published (S3 or file URL)
    images: str | None = None  # the store the image keys are in (default: objects); S3 is presigned
    prefix: str = "labels/queue"
    deps: list[str] = []

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        component = self

        @dg.asset(
            name=component.asset,
            deps=component.deps,
            kinds={"labelstudio"},
            description=f"Label Studio tasks for the rows of {component.predictions}.",
        )
        def _tasks() -> dg.MaterializeResult:
            rows = read_table(component.predictions).with_columns(
                photo_day=pl.lit("", dtype=pl.String)
            )
            if "score" not in rows.columns:  # image_inference_asset's output: its top probability
                probabilities = [c for c in rows.columns if c.startswith("p_")]
                rows = rows.with_columns(score=pl.max_horizontal(probabilities))
            store = open_object_store(component.objects)
            pictures = open_object_store(component.images) if component.images else store
            tasks = queue_tasks(rows, image_urls(pictures, URL_EXPIRY_S))
            store.put(f"{component.prefix}/tasks.json", json.dumps(tasks, indent=1).encode())
            store.put(
                f"{component.prefix}/labeling_config.xml",
                labeling_config(tuple(component.classes)).encode(),
            )
            return dg.MaterializeResult(metadata={"tasks": len(tasks)})

        return dg.Definitions(assets=[_tasks])


class LabelStudioAnnotations(dg.Component, dg.Model, dg.Resolvable):
    """Every Label Studio export under a prefix, read as fsdl_data's human_labels are: one row
    per annotation, ids only for annotators, bad input kept with a reason, duplicates once."""

    asset: str
    objects: str
    prefix: str = "labels/import/"
    classes: list[str]
    output: str  # Parquet URL
    deps: list[str] = []

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        component = self

        @dg.asset(
            name=component.asset,
            deps=component.deps,
            kinds={"labelstudio", "parquet"},
            description=f"Annotations from the Label Studio exports under "
            f"{component.objects}/{component.prefix}.",
        )
        def _annotations() -> dg.MaterializeResult:
            store = open_object_store(component.objects)
            frames = []
            for key in store.keys(component.prefix):
                export = store.get(key)  # no photo catalogue here: the photos it names are known
                frames.append(
                    parse_label_studio(export, photos_named(export), tuple(component.classes), key)
                )
            df = deduplicate(pl.concat(frames)) if frames else pl.DataFrame(schema=HUMAN_LABELS)
            return written(
                component.output,
                df,
                **{f"rejected/{r}": n for r, n in rejection_counts(df).items()},
            )

        return dg.Definitions(assets=[_annotations])
