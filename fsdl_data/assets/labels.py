"""Group `labels`: human labels from Label Studio, and labels the logs give for free."""

from datetime import timedelta

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import table
from fsdl_data.core.features.definitions import day_start
from fsdl_data.core.labels.human import parse_label_studio
from fsdl_data.core.labels.popularity import likes_within_24h
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.storage.objects import ObjectNotFound
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.partitions import PREVIOUS_DAY, daily
from fsdl_data.resources import ObjectStoreResource, table_name

OWNERS = ["team:labeling"]
PREVIOUS_AND_THIS_DAY = dg.TimeWindowPartitionMapping(
    start_offset=-1, end_offset=0, allow_nonexistent_upstream_partitions=True
)


@dg.asset(
    partitions_def=daily,
    group_name="labels",
    owners=OWNERS,
    kinds={"labelstudio", "parquet"},
    description="The human-labeled seed set of that day's photos (Label Studio export), one row per "
    "annotation. Unknown photo ids and classes are kept with a `rejected_reason`, never dropped.",
)
def human_labels(
    context: dg.AssetExecutionContext, objects: ObjectStoreResource, photo_metadata: pl.DataFrame
) -> dg.Output:
    key = f"labels/seed/date={context.partition_key}/tasks.json"
    try:
        export = objects.open().get(key)
    except ObjectNotFound:
        export = b"[]"
        context.log.warning(f"no Label Studio export at {key}: no human labels for this day")
    df = parse_label_studio(export, set(photo_metadata["photo_id"].to_list()), CONTENT_CLASSES)
    rejected = df.filter(pl.col("rejected_reason").is_not_null()).group_by("rejected_reason").len()
    return table(
        df,
        annotations=len(df),
        photos=df["photo_id"].n_unique(),
        **{f"rejected/{r}": n for r, n in rejected.iter_rows()},
    )


@dg.asset(
    partitions_def=daily,
    group_name="labels",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    ins={
        "photo_metadata": dg.AssetIn(partition_mapping=PREVIOUS_DAY),
        "events": dg.AssetIn(partition_mapping=PREVIOUS_AND_THIS_DAY),
    },
    description="Partition D labels the photos posted on D-1 (their 24 hours end during D): likes in the "
    "24 hours after posting, from `events`. A photo whose 24 hours are not over by the end of the "
    "newest events partition present gets no label.",
)
def popularity_labels(
    context: dg.AssetExecutionContext,
    lake: ObjectStoreResource,
    photo_metadata: pl.DataFrame,
    events: pl.DataFrame,
) -> dg.Output:
    present = set(Lake(lake.open()).partitions(table_name(dg.AssetKey("events"))))
    window = context.asset_partition_keys_for_input("events")
    days = [d for d in window if d in present]
    known_until = (
        day_start(max(days)) + timedelta(days=1) if days else day_start(context.partition_key)
    )
    df = likes_within_24h(photo_metadata, events, known_until)
    return table(
        df,
        known_until=known_until.isoformat(),
        labeled=int(df["likes_24h"].is_not_null().sum()),
        photos=len(df),
    )
