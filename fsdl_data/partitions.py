"""The calendar every daily asset shares: from the first day of the data to its last (or open,
as in production). Settings says where it comes from."""

from datetime import timedelta

import dagster as dg

from fsdl_data.config import Settings

_calendar = Settings.from_env()
daily = dg.DailyPartitionsDefinition(
    start_date=_calendar.start_date.isoformat(),
    end_date=(_calendar.end_date + timedelta(days=1)).isoformat() if _calendar.end_date else None,
    timezone="UTC",
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
