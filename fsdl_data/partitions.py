"""The calendar every daily asset shares, starting at the world's first day."""

from datetime import timedelta

import dagster as dg

from fsdl_data.config import Settings

daily = dg.DailyPartitionsDefinition(
    start_date=Settings.from_env().start_date.isoformat(), timezone="UTC"
)

# Every daily table must have been refreshed by 06:00 UTC, materialized within the 24 hours before:
# the UI shows an asset as stale (and alerts can fire) when the nightly run did not happen.
DAILY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=24)
)

# Partition D reads partition D-1 of its input (labels and training rows mature a day later).
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(
    start_offset=-1, end_offset=-1, allow_nonexistent_upstream_partitions=True
)
