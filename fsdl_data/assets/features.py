"""Group `features`: point-in-time-correct features, computed by core.features.definitions."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import table
from fsdl_data.core.features import definitions as f
from fsdl_data.partitions import DAILY_FRESHNESS, daily

OWNERS = ["team:ml-features"]
TRAILING_WEEK = dg.TimeWindowPartitionMapping(
    start_offset=-(f.USER_FEATURE_WINDOW_DAYS - 1),
    end_offset=0,
    allow_nonexistent_upstream_partitions=True,
)


@dg.asset(
    partitions_def=daily,
    group_name="features",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    freshness_policy=DAILY_FRESHNESS,
    ins={"events": dg.AssetIn(partition_mapping=TRAILING_WEEK), "users": dg.AssetIn()},
    description="Per user, as known at the end of the day (`as_of`): logins and posts that day, views and "
    "likes over the trailing 7 days, from the events that arrived in those 7 days.",
)
def user_features(
    context: dg.AssetExecutionContext, events: pl.DataFrame, users: pl.DataFrame
) -> dg.Output:
    df = f.user_features(events, users, context.partition_key)
    return table(df, active_users=int((df["views_7d"] + df["logins_1d"] > 0).sum()))


@dg.asset(
    partitions_def=daily,
    group_name="features",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    freshness_policy=DAILY_FRESHNESS,
    description="Per photo posted that day: posting hour and weekday (UTC), title length, location.",
)
def photo_features(photo_metadata: pl.DataFrame) -> dg.Output:
    return table(f.photo_features(photo_metadata))
