"""Sensors: ingest a day as soon as its raw data has landed in the object store (S3 or local)."""

import dagster as dg

from fsdl_data.core.tables.sources import days_landed
from fsdl_data.jobs import ingest_job
from fsdl_data.partitions import daily
from fsdl_data.resources import ObjectStoreResource


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Fires when a day's event logs are complete in the object store (events/date=D/_SUCCESS) "
    "and requests the `ingest` run for that day. The cursor is the newest day seen.",
)
def new_day_sensor(
    context: dg.SensorEvaluationContext, objects: ObjectStoreResource
) -> dg.SensorResult:
    days = days_landed(objects.open(), after=context.cursor)
    valid = set(daily.get_partition_keys())
    requests = [dg.RunRequest(run_key=f"ingest-{d}", partition_key=d) for d in days if d in valid]
    skipped = [d for d in days if d not in valid]
    if skipped:
        context.log.warning(f"days outside the partition calendar, not ingested: {skipped}")
    return dg.SensorResult(run_requests=requests, cursor=max(days) if days else context.cursor)
