"""Popularity labels: what the logs give for free, the likes in the 24 hours after posting."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import picture, plots_at, table
from fsdl_data.assets.labels._windows import DAILY_LABELS
from fsdl_data.core import plots
from fsdl_data.core.labels.popularity import label_cutoff, likes_within_24h
from fsdl_data.partitions import PREVIOUS_DAY, days_window
from fsdl_data.resources import TAGGED_BY_DAY

PREVIOUS_AND_THIS_DAY = days_window(-1, 0)


@dg.asset(
    **DAILY_LABELS,
    kinds={"polars", "parquet"},
    ins={
        "photo_metadata": dg.AssetIn(partition_mapping=PREVIOUS_DAY),
        "events": dg.AssetIn(partition_mapping=PREVIOUS_AND_THIS_DAY, metadata=TAGGED_BY_DAY),
    },
    description="Partition D labels the photos posted on D-1 (their 24 hours end during D): likes in the "
    "24 hours after posting, from `events`. A photo whose 24 hours are not over by the end of the "
    "newest events partition present gets no label." + plots_at("likes_and_maturity"),
)
def popularity_labels(
    context: dg.AssetExecutionContext, photo_metadata: pl.DataFrame, events: pl.DataFrame
) -> dg.Output:
    known_until = label_cutoff(events["day"].unique().to_list(), context.partition_key)
    df = likes_within_24h(photo_metadata, events, known_until)
    known = df["likes_24h"].drop_nulls().to_list()
    return table(
        df,
        known_until=known_until.isoformat(),
        labeled=len(known),
        photos=len(df),
        likes_and_maturity=picture(plots.likes_and_maturity(known, len(df) - len(known))),
    )
