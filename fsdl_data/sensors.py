"""Sensors on new objects: photos and event logs, as they land in the object store (S3 or local).

Thin wiring: `core.ingestion.cursor` decides what is new; here we list, look up what is already
ingested, and request runs. A day is requested when it has new objects (for logs: once its
`_SUCCESS` marker is there), unless its latest ingest already recorded exactly these objects
(`objects_digest` in the materialization's metadata): so the first tick on an existing bucket,
or one after a lost cursor, re-runs nothing. Nor is a day requested while a run for it waits in
the queue: that run lists the day when it starts, so a burst of objects costs one run, not one
per tick. Run keys are made from the day's keys and
fingerprints (ETag on S3), so the same objects never start two runs.
"""

from __future__ import annotations

import json

import dagster as dg

from fsdl_data.config import Settings
from fsdl_data.core.calendar import DAY_FOLDER, day_folder, folder_day
from fsdl_data.core.ingestion import cursor as core
from fsdl_data.core.ingestion.nightly import outside_calendar_advice
from fsdl_data.core.labels.human import IMPORT_PREFIX, changed_exports_by_day
from fsdl_data.jobs import import_labels_job, ingest_events_job, ingest_photos_job
from fsdl_data.partitions import daily_partitions
from fsdl_data.resources import ObjectStoreResource

INGEST_TAG = "fsdl/ingest"  # the day, digest and ingest state a run was requested for
MAX_ATTEMPTS = 3  # runs per (day, objects) before the sensor stops asking and says so
FAILED = (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
WAITING = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)


def latest_ingest(instance: dg.DagsterInstance, asset: str, day: str) -> tuple[str | None, int]:
    """(objects digest, storage id) of the latest materialization of `asset`[day]; (None, 0)
    when it was never materialized."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[day]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None, 0
    value = records[0].asset_materialization.metadata.get("objects_digest")
    return getattr(value, "value", None), records[0].storage_id


def run_waiting(instance: dg.DagsterInstance, job_name: str, day: str) -> bool:
    """Whether a run of `job_name` for `day` is queued and not yet started: it lists the day's
    objects when it starts, so it will ingest whatever landed since it was requested, and a
    second request now would only re-read the same objects after it."""
    filters = dg.RunsFilter(
        job_name=job_name, statuses=list(WAITING), tags={"dagster/partition": day}
    )
    return bool(instance.get_runs(filters=filters, limit=1))


def next_attempt(instance: dg.DagsterInstance, base: str) -> str | None:
    """The run key for an ingest: `base` while a run for it is queued, running or succeeded
    (so the daemon skips it), a new attempt's key once every run for it failed (a fault: the
    S3 server went away, the worker was killed), None after MAX_ATTEMPTS failures."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={INGEST_TAG: base}))
    failed = [r for r in runs if r.status in FAILED]
    if len(failed) < len(runs) or not runs:
        return base
    if len(failed) >= MAX_ATTEMPTS:
        return None
    return f"{base}-attempt{len(failed) + 1}"


def _object_sensor(
    name: str,
    root: str,
    job: dg.UnresolvedAssetJobDefinition,
    asset: str,
    marker: str | None,
    calendar: dg.PartitionsDefinition,
    interval_s: int,
) -> dg.SensorDefinition:
    what = f"objects under {root}/{DAY_FOLDER}D/" + (f" (once {marker} is there)" if marker else "")

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Requests `{job.name}` for day D when new {what} land. The cursor keeps, "
        "per day folder, the newest LastModified seen and the objects seen in a 15-minute "
        f"look-back window; a tick lists the newest {core.HOT_DAYS} days and new ones, then "
        f"sweeps older days round-robin, at most {core.MAX_KEYS_PER_TICK:,} keys.",
    )
    def sensor(
        context: dg.SensorEvaluationContext, objects: ObjectStoreResource
    ) -> dg.SensorResult:
        store = objects.open()
        folders = store.folders(f"{root}/")
        days = [day for day in map(folder_day, folders) if day]
        scan = core.scan(
            days,
            core.Cursor.from_json(context.cursor),
            lambda day: core.day_listing(store, day_folder(root, day)),
        )
        valid = set(calendar.get_partition_keys())
        ingested = {}

        def ingested_digest(day: str) -> str | None:
            ingested[day] = latest_ingest(context.instance, asset, day)
            return ingested[day][0]

        requests, outside, gave_up, waiting = [], [], [], []
        for request in core.days_to_request(scan, ingested_digest, marker):
            if request.day not in valid:
                outside.append(request.day)
                continue
            if run_waiting(context.instance, job.name, request.day):
                waiting.append(request.day)  # still different when next listed: requested then
                continue
            # The same objects on the same ingest state: the same key, so never two runs; an
            # ingest overwritten since (a new storage id) gets a new key.
            base = f"{name}-{request.day}-{request.digest[:16]}-{ingested[request.day][1]}"
            run_key = next_attempt(context.instance, base)
            if run_key is None:
                gave_up.append(request.day)
                continue
            requests.append(
                dg.RunRequest(run_key=run_key, partition_key=request.day, tags={INGEST_TAG: base})
            )
        if gave_up:
            context.log.error(
                f"ingest failed {MAX_ATTEMPTS} times for days {gave_up}: see those runs, fix the "
                "cause, then re-execute them (or change the objects) to ingest again"
            )
        if outside:  # not marked seen: once the calendar includes them, they are new
            for day in outside:
                scan.cursor.days.pop(day, None)
            context.log.warning(outside_calendar_advice(outside, sorted(valid)))
        context.log.info(
            f"listed {scan.listed_keys} keys in {scan.listed_days} day folders; "
            f"{sum(map(len, scan.new.values()))} new objects; {len(requests)} runs requested"
            + (f"; days {waiting} left to their queued runs" if waiting else "")
        )
        return dg.SensorResult(run_requests=requests, cursor=scan.cursor.to_json())

    return sensor


def _label_exports_sensor(
    job: dg.UnresolvedAssetJobDefinition, calendar: dg.PartitionsDefinition, interval_s: int
) -> dg.SensorDefinition:
    @dg.sensor(
        name="new_label_exports",
        job=job,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Requests `import_labels` for each day a new or changed Label Studio export "
        f"under {IMPORT_PREFIX} names (its tasks' `data.day`, which labeling_queue writes), so "
        "annotations dropped there reach the labeled set without anyone rematerializing by hand.",
    )
    def new_label_exports(
        context: dg.SensorEvaluationContext, objects: ObjectStoreResource
    ) -> dg.SensorResult:
        store = objects.open()
        listing = {info.key: info.fingerprint for info in store.list(IMPORT_PREFIX)}
        seen = json.loads(context.cursor) if context.cursor else {}
        digests, unplaced = changed_exports_by_day(seen, listing, store.get)
        valid = set(calendar.get_partition_keys())
        requests = []
        for day, digest in digests.items():
            if day not in valid:
                context.log.warning(f"exports name {day}, which is not a day partition: ignored")
                continue
            run_key = f"new_label_exports-{day}-{digest[:16]}"
            requests.append(dg.RunRequest(run_key=run_key, partition_key=day))
        if unplaced:
            context.log.warning(
                f"exports that name no day (no `data.day` in their tasks): {unplaced}; "
                "rematerialize human_labels for their photos' days"
            )
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(listing, sort_keys=True))

    return new_label_exports


def object_sensors(calendar: dg.PartitionsDefinition, interval_s: int) -> list[dg.SensorDefinition]:
    """The sensors on new photos, event logs and label exports, for days of `calendar`,
    ticking every `interval_s` seconds."""
    return [
        _object_sensor("new_photo_objects", "photos", ingest_photos_job, "raw_photos", None,
                       calendar, interval_s),
        _object_sensor("new_log_objects", "events", ingest_events_job, "raw_events", "_SUCCESS",
                       calendar, interval_s),
        _label_exports_sensor(import_labels_job, calendar, interval_s),
    ]  # fmt: skip


def sensor_for(settings: Settings, name: str) -> dg.SensorDefinition:
    """The sensor called `name` as `settings` configure it (for ticks in tests and benchmarks)."""
    sensors = object_sensors(daily_partitions(settings), settings.sensor_interval_s)
    found = {sensor.name: sensor for sensor in sensors}
    if name not in found:
        raise LookupError(f"no sensor {name!r}: choose one of {', '.join(sorted(found))}")
    return found[name]
