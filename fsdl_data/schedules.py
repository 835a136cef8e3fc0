"""Schedules."""

import dagster as dg

from fsdl_data.jobs import nightly_job

# At 02:00 UTC, the day that just ended: its partitions, yesterday's labels, a new snapshot and model.
nightly = dg.build_schedule_from_partitioned_job(
    nightly_job, name="nightly", hour_of_day=2, minute_of_hour=0
)
