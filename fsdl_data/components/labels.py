"""Labeling building blocks as assets: weak labels from a label model, Label Studio tasks out
and annotations back in."""

from __future__ import annotations

import json

import dagster as dg
import polars as pl
from pydantic import ConfigDict

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

    model_config = ConfigDict(use_attribute_docstrings=True)

    asset: str
    """The asset's name."""
    votes: str
    """A Parquet file URL: an id column and one column per labeling function (a class index,
    or -1 to abstain)."""
    id_column: str = "id"
    """The votes' integer id column."""
    classes: list[str]
    """The class names, in the order of the votes' indices."""
    output: str
    """The Parquet file written, as a URL."""
    deps: list[str] = []
    """Assets to run before this one."""
    seed: int = 0
    """The label model's seed (ties are broken by it)."""

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


def label_studio_tasks(
    predictions: pl.DataFrame,
    classes: list[str],
    objects: str,
    images: str | None = None,
    prefix: str = "labels/queue",
) -> int:
    """Publish Label Studio tasks for the rows of `predictions` (photo_id, key,
    predicted_class, classifier_version and score, or classify_images' p_<class> columns) with
    the classifier's choice as a pre-annotation: <objects>/<prefix>/tasks.json (Label Studio's
    import format) and labeling_config.xml beside it. Image URLs point into `images` (default
    `objects`), presigned on S3. Returns how many tasks."""
    rows = predictions.with_columns(photo_day=pl.lit("", dtype=pl.String))
    if "score" not in rows.columns:  # classify_images' output: its top probability
        probabilities = [c for c in rows.columns if c.startswith("p_")]
        rows = rows.with_columns(score=pl.max_horizontal(probabilities))
    store = open_object_store(objects)
    pictures = open_object_store(images) if images else store
    tasks = queue_tasks(rows, image_urls(pictures, URL_EXPIRY_S))
    store.put(f"{prefix}/tasks.json", json.dumps(tasks, indent=1).encode())
    store.put(f"{prefix}/labeling_config.xml", labeling_config(tuple(classes)).encode())
    return len(tasks)


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
    prefix: str = "labels/queue"
    """The key prefix of tasks.json and labeling_config.xml in objects."""
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
            )
            return dg.MaterializeResult(metadata={"tasks": count})

        return dg.Definitions(assets=[_tasks])


def read_label_studio_exports(
    objects: str, classes: list[str], prefix: str = "labels/import/"
) -> pl.DataFrame:
    """Every Label Studio JSON export under `prefix` of `objects`, one row per annotation as
    fsdl_data's human_labels: annotator ids only, unusable rows kept with a rejected_reason,
    an annotation exported twice counted once."""
    store = open_object_store(objects)
    frames = []
    for key in store.keys(prefix):
        export = store.get(key)  # no photo catalogue here: the photos it names are known
        frames.append(parse_label_studio(export, photos_named(export), tuple(classes), key))
    return deduplicate(pl.concat(frames)) if frames else pl.DataFrame(schema=HUMAN_LABELS)


class LabelStudioAnnotations(dg.Component, dg.Model, dg.Resolvable):
    """Every Label Studio export under a prefix, read as fsdl_data's human_labels are: one row
    per annotation, ids only for annotators, bad input kept with a reason, duplicates once."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    asset: str
    """The asset's name."""
    objects: str
    """Where the exports are: an S3 or file URL."""
    prefix: str = "labels/import/"
    """The key prefix the exports are dropped under (any file name)."""
    classes: list[str]
    """The classes an annotation may choose; others are rejected as unknown_class."""
    output: str
    """The Parquet file written, as a URL."""
    deps: list[str] = []
    """Assets to run before this one."""

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
            df = read_label_studio_exports(component.objects, component.classes, component.prefix)
            return written(
                component.output,
                df,
                **{f"rejected/{r}": n for r, n in rejection_counts(df).items()},
            )

        return dg.Definitions(assets=[_annotations])
