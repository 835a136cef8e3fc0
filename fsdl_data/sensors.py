"""Sensors on new objects: photos and event logs, as they land in the object store (S3 or local).

Thin wiring: `core.ingestion.cursor` decides what is new; here we list, look up what is already
ingested, and request runs. A day is requested when it has new objects (for logs: once its
`_SUCCESS` marker is there), unless its latest ingest already recorded exactly these objects
(`objects_digest` in the materialization's metadata): so the first tick on an existing bucket,
or one after a lost cursor, re-runs nothing. Run keys are made from the day's keys and
fingerprints (ETag on S3), so the same objects never start two runs.
"""

from __future__ import annotations

import os

import dagster as dg

from fsdl_data.core.ingestion import cursor as core
from fsdl_data.jobs import ingest_events_job, ingest_photos_job
from fsdl_data.partitions import daily
from fsdl_data.resources import ObjectStoreResource

INTERVAL_S = int(os.environ.get("FSDL_SENSOR_INTERVAL_S", "30"))
DAY_FOLDER = "date="


def ingested_digest(instance: dg.DagsterInstance, asset: str, day: str) -> str | None:
    """The objects digest the latest materialization of `asset`[day] recorded, if any."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[day]), limit=1
    ).records
    if not records or records[0].asset_materialization is None:
        return None
    value = records[0].asset_materialization.metadata.get("objects_digest")
    return getattr(value, "value", None)


def _object_sensor(
    name: str, root: str, job: dg.UnresolvedAssetJobDefinition, asset: str, marker: str | None
) -> dg.SensorDefinition:
    what = f"objects under {root}/{DAY_FOLDER}D/" + (f" (once {marker} is there)" if marker else "")

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=INTERVAL_S,
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
        days = [f[len(DAY_FOLDER) :] for f in folders if f.startswith(DAY_FOLDER)]
        scan = core.scan(
            days,
            core.Cursor.from_json(context.cursor),
            lambda day: core.day_listing(store, f"{root}/{DAY_FOLDER}{day}/"),
        )
        valid = set(daily.get_partition_keys())
        requests, outside = [], []
        for day, listing in core.days_to_request(scan, marker).items():
            if day not in valid:
                outside.append(day)
                continue
            digest = core.objects_digest(listing)
            if ingested_digest(context.instance, asset, day) == digest:
                continue  # ingested with exactly these objects already
            requests.append(dg.RunRequest(run_key=f"{name}-{day}-{digest[:16]}", partition_key=day))
        if outside:
            context.log.warning(f"day folders outside the partition calendar, ignored: {outside}")
        context.log.info(
            f"listed {scan.listed_keys} keys in {scan.listed_days} day folders; "
            f"{sum(map(len, scan.new.values()))} new objects; {len(requests)} runs requested"
        )
        return dg.SensorResult(run_requests=requests, cursor=scan.cursor.to_json())

    return sensor


new_photo_objects = _object_sensor(
    "new_photo_objects", "photos", ingest_photos_job, "raw_photos", marker=None
)
new_log_objects = _object_sensor(
    "new_log_objects", "events", ingest_events_job, "raw_events", marker="_SUCCESS"
)
object_sensors = [new_photo_objects, new_log_objects]
