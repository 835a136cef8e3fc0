"""The human labeling loop's outbound half: each day's labeling queue, published for Label
Studio.

Annotations come back through `human_labels` (exports dropped under labels/import/)."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import table
from fsdl_data.assets.labels._windows import DAILY_LABELS, tagged_days
from fsdl_data.core.labels.active import build_queue, handled_photos
from fsdl_data.core.labels.studio import QUEUE_PREFIX, publish_queue
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.resources import ObjectStoreResource

QUEUE_WINDOW_DAYS = 7  # candidates: photos of the day and the 6 before it


class LabelingQueueConfig(dg.Config):
    budget: int = 50  # photos a day the labeling team can take
    strategy: str = "uncertainty"  # or "random", the baseline
    seed: int = 0  # for `random`
    url_expiry_hours: int = 7 * 24  # presigned image URLs on S3 stop working after this


@dg.asset(
    **DAILY_LABELS,
    kinds={"labelstudio", "parquet"},
    ins={
        "photo_classifications": tagged_days(-(QUEUE_WINDOW_DAYS - 1), 0),
        "labeled_set": tagged_days(-(QUEUE_WINDOW_DAYS - 1), 0),
        "human_labels": tagged_days(-(QUEUE_WINDOW_DAYS - 1), 0),
        # its own earlier days: a photo is queued once, ever
        "labeling_queue": tagged_days(-QUEUE_WINDOW_DAYS, -1),
    },
    description="The photos a human should label next: of the last "
    f"{QUEUE_WINDOW_DAYS} days' photos, those the classifier is least sure of (1 - margin, +1 "
    "where the label model's weak label disagrees), within a daily budget, never one already "
    "labeled by a human or queued before. Published for Label Studio as "
    f"`{QUEUE_PREFIX}/date=D/tasks.json` (its JSON import format, with the classifier's choice as "
    "a pre-annotation: score and model version) beside `labeling_config.xml`. Import both into a "
    "project; drop its JSON export under labels/import/ and human_labels reads it back.",
)
def labeling_queue(
    context: dg.AssetExecutionContext,
    config: LabelingQueueConfig,
    objects: ObjectStoreResource,
    photo_classifications: pl.DataFrame,
    labeled_set: pl.DataFrame,
    human_labels: pl.DataFrame,
    labeling_queue: pl.DataFrame,
) -> dg.Output:
    day = context.partition_key
    already = handled_photos(human_labels, labeling_queue)
    try:
        queue = build_queue(photo_classifications, labeled_set, already, CONTENT_CLASSES,
                            config.budget, config.strategy, config.seed)  # fmt: skip
    except ValueError as error:
        raise dg.Failure(str(error)) from None
    store = objects.open()
    tasks_key, config_key = publish_queue(
        store, queue, CONTENT_CLASSES, day, expires_s=config.url_expiry_hours * 3600
    )
    return table(
        queue,
        queued=len(queue),
        candidates=len(photo_classifications),
        excluded_already_labeled_or_queued=len(already),
        budget=config.budget,
        strategy=config.strategy,
        disagreements=int(queue["disagrees"].sum()),
        mean_uncertainty=float(queue["uncertainty"].mean() or 0.0),
        tasks=dg.MetadataValue.path(store.uri(tasks_key)),
        labeling_config=dg.MetadataValue.path(store.uri(config_key)),
    )
