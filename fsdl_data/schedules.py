"""Schedules."""

import dagster as dg

from fsdl_data.core.ingestion.cursor import day_has_data
from fsdl_data.core.ingestion.nightly import day_that_ended, skip_reason
from fsdl_data.jobs import nightly_job
from fsdl_data.resources import ObjectStoreResource


def nightly_completed(instance: dg.DagsterInstance, day: str) -> bool:
    """Whether a `nightly` run for `day` succeeded (from the schedule, the UI or the CLI)."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            job_name=nightly_job.name,
            statuses=[dg.DagsterRunStatus.SUCCESS],
            tags={"dagster/partition": day},
        ),
        limit=1,
    )
    return bool(runs)


def nightly_schedule(calendar: dg.PartitionsDefinition) -> dg.ScheduleDefinition:
    """The nightly schedule for the days of `calendar` (the definitions' own)."""

    @dg.schedule(
        name="nightly",
        cron_schedule="0 2 * * *",
        job=nightly_job,
        execution_timezone="UTC",
        description="At 02:00 UTC, the day that just ended: its partitions, yesterday's labels, a new "
        "snapshot and model. Skipped, with the reason, for a day outside the calendar (a finished "
        "world), one already complete, or one with no data.",
    )
    def nightly(context: dg.ScheduleEvaluationContext, objects: ObjectStoreResource):
        day = day_that_ended(context.scheduled_execution_time)
        store = objects.open()
        reason = skip_reason(
            day,
            calendar.get_partition_keys(),
            lambda d: day_has_data(store, d),
            lambda d: nightly_completed(context.instance, d),
        )
        if reason:
            return dg.SkipReason(reason)
        return dg.RunRequest(run_key=f"nightly-{day}", partition_key=day)

    return nightly
