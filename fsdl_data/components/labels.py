"""Labeling building blocks as assets: weak labels from a label model, Label Studio tasks out
and annotations back in."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from pydantic import ConfigDict

from fsdl_data.components._tables import TableComponent, read_table
from fsdl_data.core.labels import labeled_set as labeled
from fsdl_data.core.labels.human import (
    MAX_EXPORT_BYTES,
    deduplicate,
    read_label_studio,
    rejection_counts,
)
from fsdl_data.core.labels.studio import QUEUE_PREFIX, publish_queue
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
    labels = labeled.weak_labels(items, items, functions, tuple(classes), seed).table
    return labels.rename({"photo_id": id_column})


class WeakLabels(TableComponent):
    """Snorkel's job as an asset: fit the label model on a votes table and write weak labels."""

    votes: str
    """A Parquet file URL: an id column and one column per labeling function (a class index,
    or -1 to abstain)."""
    id_column: str = "id"
    """The votes' integer id column."""
    classes: list[str]
    """The class names, in the order of the votes' indices."""
    seed: int = 0
    """The label model's seed (ties are broken by it)."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return self.table_definitions(
            {"python", "parquet"},
            f"Weak labels over {self.classes} from the votes in {self.votes} (label model), "
            f"written to {self.output}.",
            lambda: weak_labels(read_table(self.votes), self.id_column, self.classes, self.seed),
        )


def label_studio_tasks(
    predictions: pl.DataFrame,
    classes: list[str],
    objects: str,
    images: str | None = None,
    prefix: str = QUEUE_PREFIX,
    day: str | None = None,
) -> int:
    """Publish Label Studio tasks for the rows of `predictions` (photo_id, key,
    predicted_class, classifier_version and score, or classify_images' p_<class> columns) with
    the classifier's choice as a pre-annotation, as fsdl_data's labeling_queue publishes them
    (core.labels.studio.publish_queue): <objects>/<prefix>/date=<day>/tasks.json (Label
    Studio's import format; `day` defaults to today, UTC) and labeling_config.xml beside it.
    Image URLs point into `images` (default `objects`), presigned where the store can (S3).
    Returns how many tasks."""
    rows = predictions.with_columns(photo_day=pl.lit("", dtype=pl.String))
    if "score" not in rows.columns:  # classify_images' output: its top probability
        probabilities = [c for c in rows.columns if c.startswith("p_")]
        rows = rows.with_columns(score=pl.max_horizontal(probabilities))
    store = open_object_store(objects)
    pictures = open_object_store(images) if images else None
    day = day or datetime.now(UTC).date().isoformat()
    publish_queue(store, rows, tuple(classes), day, pictures, URL_EXPIRY_S, prefix)
    return len(rows)


class LabelStudioTasks(dg.Component, dg.Model, dg.Resolvable):
    """Label Studio tasks with pre-annotations from a predictions table (id, image key,
    predicted class, score, model version), and the labeling config beside them."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    asset: str
    """The asset's name."""
    predictions: str
    """A Parquet file URL with photo_id, key, predicted_class, classifier_version and a score
    (ImageInference's output has them)."""
    classes: list[str]
    """The labeling config's choices."""
    objects: str
    """Where the tasks are published: an S3 or file URL."""
    images: str | None = None
    """The store the image keys are in (default: objects); S3 URLs are presigned for 7 days."""
    prefix: str = QUEUE_PREFIX
    """The key prefix of the day folders (date=D/) holding tasks.json and labeling_config.xml."""
    day: str | None = None
    """The day folder to publish under (default: the day it runs, UTC)."""
    deps: list[str] = []
    """Assets to run before this one (e.g. the inference)."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        component = self

        @dg.asset(
            name=component.asset,
            deps=component.deps,
            kinds={"labelstudio"},
            description=f"Label Studio tasks for the rows of {component.predictions}.",
        )
        def _tasks() -> dg.MaterializeResult:
            count = label_studio_tasks(
                read_table(component.predictions),
                component.classes,
                component.objects,
                component.images,
                component.prefix,
                component.day,
            )
            return dg.MaterializeResult(metadata={"tasks": count})

        return dg.Definitions(assets=[_tasks])


def read_label_studio_exports(
    objects: str,
    classes: list[str],
    prefix: str = "labels/import/",
    max_bytes: int = MAX_EXPORT_BYTES,
) -> pl.DataFrame:
    """Every Label Studio JSON export under `prefix` of `objects`, one row per annotation as
    fsdl_data's human_labels: annotator ids only, unusable rows kept with a rejected_reason,
    an annotation exported twice counted once; a file over `max_bytes` is one quarantine row,
    never read (human_labels' cap)."""
    store = open_object_store(objects)
    keys = [o.key for o in store.list(prefix)]
    # no photo catalogue here: the photos each export names are taken as known
    return deduplicate(read_label_studio(store, keys, None, tuple(classes), max_bytes))


class LabelStudioAnnotations(TableComponent):
    """Every Label Studio export under a prefix, read as fsdl_data's human_labels are: one row
    per annotation, ids only for annotators, bad input kept with a reason, duplicates once."""

    objects: str
    """Where the exports are: an S3 or file URL."""
    prefix: str = "labels/import/"
    """The key prefix the exports are dropped under (any file name)."""
    classes: list[str]
    """The classes an annotation may choose; others are rejected as unknown_class."""
    max_bytes: int = MAX_EXPORT_BYTES
    """A bigger export is one quarantine row (too_large), never read into memory."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return self.table_definitions(
            {"labelstudio", "parquet"},
            f"Annotations from the Label Studio exports under {self.objects}/{self.prefix}.",
            lambda: read_label_studio_exports(
                self.objects, self.classes, self.prefix, self.max_bytes
            ),
            lambda df: {f"rejected/{r}": n for r, n in rejection_counts(df).items()},
        )
