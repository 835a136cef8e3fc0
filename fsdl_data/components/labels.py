"""Labeling building blocks as assets: weak labels from a label model, Label Studio tasks out
and annotations back in."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import polars as pl
from pydantic import Field

from fsdl_data.components._tables import read_table, written
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
    predicted class, score, model version), and the labeling config beside them, published as
    fsdl_data's labeling_queue publishes them (`<prefix>/date=<day>/tasks.json`)."""

    asset: str = Field(description="The asset's name.")
    predictions: str = Field(
        description="Parquet URL with columns photo_id, key, predicted_class, score (or p_<class> "
        "columns) and classifier_version."
    )
    classes: list[str] = Field(description="The classes annotators choose from.")
    objects: str = Field(description="Where the tasks are published (an s3:// or file:// URL).")
    images: str | None = Field(
        default=None,
        description="The store the image keys are in (default: objects); presigned where the "
        "backend can (S3).",
    )
    prefix: str = Field(default=QUEUE_PREFIX, description="The folder the day folders go under.")
    day: str | None = Field(
        default=None, description="The day folder to publish under (default: today, UTC)."
    )
    url_expiry_s: int = Field(
        default=URL_EXPIRY_S, description="Presigned image URLs stop working after this."
    )
    deps: list[str] = Field(default=[], description="Assets this one runs after.")

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
            images = open_object_store(component.images) if component.images else None
            day = component.day or datetime.now(UTC).date().isoformat()
            tasks_key, config_key = publish_queue(
                store, rows, tuple(component.classes), day, images, component.url_expiry_s,
                component.prefix,
            )  # fmt: skip
            return dg.MaterializeResult(
                metadata={
                    "tasks": len(rows),
                    "tasks_file": dg.MetadataValue.path(store.uri(tasks_key)),
                    "labeling_config": dg.MetadataValue.path(store.uri(config_key)),
                }
            )

        return dg.Definitions(assets=[_tasks])


class LabelStudioAnnotations(dg.Component, dg.Model, dg.Resolvable):
    """Every Label Studio export under a prefix, read as fsdl_data's human_labels are: one row
    per annotation, ids only for annotators, bad input kept with a reason (a file over the size
    cap is one quarantine row, never read), duplicates once."""

    asset: str = Field(description="The asset's name.")
    objects: str = Field(description="The store the exports are in (an s3:// or file:// URL).")
    prefix: str = Field(default="labels/import/", description="Where exports are dropped.")
    classes: list[str] = Field(description="The classes annotators chose from.")
    output: str = Field(description="Parquet URL the annotations are written to.")
    max_bytes: int = Field(
        default=MAX_EXPORT_BYTES, description="A bigger export is quarantined, not read."
    )
    deps: list[str] = Field(default=[], description="Assets this one runs after.")

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
            keys = [o.key for o in store.list(component.prefix)]
            # no photo catalogue here: the photos each export names are taken as known
            rows = read_label_studio(
                store, keys, None, tuple(component.classes), component.max_bytes
            )
            df = deduplicate(rows)
            return written(
                component.output,
                df,
                **{f"rejected/{r}": n for r, n in rejection_counts(df).items()},
            )

        return dg.Definitions(assets=[_annotations])
