"""The object sensors on S3 (over HTTP) and a local folder: new days, late objects in a day
already ingested, no re-runs of what is ingested, even from a fresh cursor."""

from __future__ import annotations

import shutil
from dataclasses import replace

import dagster as dg
import pytest

from fsdl_data.config import Settings
from fsdl_data.core.calendar import day_folder
from fsdl_data.core.storage.objects import listing_digest, open_object_store
from fsdl_data.core.world.generator import append_days
from fsdl_data.resources import build_resources
from fsdl_data.sensors import sensor_for
from fsdl_data_tests.helpers import SMALL, materialize_day, seed, stores


def _tick(
    settings: Settings,
    sensor: dg.SensorDefinition,
    cursor: str | None,
    instance: dg.DagsterInstance,
) -> dg.SensorResult:
    resources = {"objects": build_resources(settings)["objects"]}
    with dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance) as ctx:
        return sensor(ctx)


def _days(result: dg.SensorResult) -> list[str]:
    return [r.partition_key for r in result.run_requests]


def _check_sensors(settings: Settings) -> None:
    seed(settings, replace(SMALL, photos_per_day=10, events_per_day=300), days=2)
    new_photo_objects = sensor_for(settings, "new_photo_objects")
    new_log_objects = sensor_for(settings, "new_log_objects")
    instance = dg.DagsterInstance.ephemeral()
    photos = _tick(settings, new_photo_objects, None, instance)
    logs = _tick(settings, new_log_objects, None, instance)
    assert _days(photos) == _days(logs) == ["2026-01-01", "2026-01-02"]
    assert len({r.run_key for r in photos.run_requests + logs.run_requests}) == 4
    again = _tick(settings, new_photo_objects, photos.cursor, instance)  # not run yet:
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in photos.run_requests]

    assert materialize_day(settings, "2026-01-01", instance).success
    fresh = _tick(settings, new_photo_objects, None, instance)  # a lost cursor, or a first tick
    assert _days(fresh) == ["2026-01-02"]  # 2026-01-01 is ingested with exactly these objects
    assert _days(_tick(settings, new_log_objects, None, instance)) == ["2026-01-02"]

    store, db, _ = stores(settings)
    append_days(store, db, settings.truth_dir, 1)
    db.dispose()
    store.put("photos/date=2026-01-01/999999.jpg", store.get(next(store.list("photos/date=2026-01-01/")).key))  # fmt: skip
    later = _tick(settings, new_photo_objects, photos.cursor, instance)
    assert _days(later) == ["2026-01-01", "2026-01-02", "2026-01-03"]  # the late object's day too
    assert _days(_tick(settings, new_log_objects, logs.cursor, instance)) == [
        "2026-01-02",
        "2026-01-03",
    ]
    for day in _days(later):
        assert materialize_day(settings, day, instance).success
    assert _tick(settings, new_photo_objects, later.cursor, instance).run_requests == []  # once
    assert _tick(settings, new_log_objects, None, instance).run_requests == []


def test_sensors_on_a_local_folder(embedded_settings: Settings) -> None:
    _check_sensors(embedded_settings)


def test_a_restored_data_folder_reruns_nothing(embedded_settings: Settings, tmp_path) -> None:
    """A data folder copied with its times kept (a backup restored, `cp -a`) lists the same
    fingerprints, so the first tick after the restore requests only what was never ingested."""
    settings = embedded_settings
    seed(settings, replace(SMALL, photos_per_day=6, events_per_day=100), days=2)
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_day(settings, "2026-01-01", instance).success
    restored_home = tmp_path / "restored"
    shutil.copytree(settings.home, restored_home)  # copy2: times kept, new inodes
    restored = replace(
        settings,
        home=restored_home,
        object_store_url=f"file://{restored_home / 'objects'}",
        lake_url=f"file://{restored_home / 'lake'}",
    )
    for root in ("photos", "events"):
        prefix = day_folder(root, "2026-01-01")
        before = listing_digest(open_object_store(settings.object_store_url).list(prefix))
        after = listing_digest(open_object_store(restored.object_store_url).list(prefix))
        assert before == after
    photos, logs = (
        sensor_for(restored, "new_photo_objects"),
        sensor_for(restored, "new_log_objects"),
    )
    assert _days(_tick(restored, photos, None, instance)) == ["2026-01-02"]
    assert _days(_tick(restored, logs, None, instance)) == ["2026-01-02"]


@pytest.mark.s3
@pytest.mark.postgres
@pytest.mark.parametrize("versioned", [False, True])
def test_sensors_on_s3(
    production_settings: Settings, s3_env: str, s3_bucket: str, versioned: bool
) -> None:
    from fsdl_data_tests.conftest import s3_client

    if versioned:  # every overwrite keeps the old version: listings show the newest only
        s3_client(s3_env).put_bucket_versioning(
            Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    assert open_object_store(production_settings.object_store_url).url.startswith("s3://")
    _check_sensors(production_settings)


def test_a_new_label_export_requests_the_days_it_names(embedded_settings: Settings) -> None:
    """The labeling loop closes itself: an export dropped under labels/import/ runs
    import_labels for the days its tasks name, once per state of the files."""
    import json

    new_label_exports = sensor_for(embedded_settings, "new_label_exports")
    instance = dg.DagsterInstance.ephemeral()
    store = open_object_store(embedded_settings.object_store_url)
    assert _tick(embedded_settings, new_label_exports, None, instance).run_requests == []
    export = [{"id": 1, "data": {"photo_id": 3, "day": "2026-01-02"}, "annotations": []}]
    store.put("labels/import/project-1.json", json.dumps(export).encode())
    first = _tick(embedded_settings, new_label_exports, None, instance)
    assert _days(first) == ["2026-01-02"]
    assert new_label_exports.job_name == "import_labels"
    assert _tick(embedded_settings, new_label_exports, first.cursor, instance).run_requests == []
    export.append({"id": 2, "data": {"photo_id": 9, "day": "2026-01-01"}, "annotations": []})
    store.put("labels/import/project-1.json", json.dumps(export).encode())  # exported again, more
    later = _tick(embedded_settings, new_label_exports, first.cursor, instance)
    assert _days(later) == ["2026-01-01", "2026-01-02"]
    assert later.run_requests[1].run_key != first.run_requests[0].run_key


def test_the_sensor_jobs_build_what_their_blocking_checks_read(embedded_settings: Settings) -> None:
    """A sensor-driven run on a fresh day succeeds on its own: every blocking check in the job
    finds the partitions it reads (events_users_exist needs the day's users)."""
    from fsdl_data.definitions import defs

    seed(embedded_settings, replace(SMALL, photos_per_day=10, events_per_day=300), days=1)
    instance = dg.DagsterInstance.ephemeral()
    for name in ("new_photo_objects", "new_log_objects"):
        sensor = sensor_for(embedded_settings, name)
        job = defs.resolve_job_def(sensor.job_name)
        selection = dg.AssetSelection.assets(*job.asset_layer.executable_asset_keys)
        result = materialize_day(embedded_settings, "2026-01-01", instance, selection=selection)
        assert result.success, sensor.job_name
        assert all(
            e.passed for e in result.get_asset_check_evaluations() if e.severity.value == "ERROR"
        )


def test_a_day_outside_the_calendar_is_not_marked_seen(embedded_settings: Settings) -> None:
    """The tick cannot request it (not a partition yet), so it must stay new for the tick after
    the calendar includes it (a reload), instead of being ignored for good."""
    import json

    store = open_object_store(embedded_settings.object_store_url)
    store.put("photos/date=2025-12-31/1.jpg", b"not yet a partition")
    store.put("photos/date=2026-01-01/1.jpg", b"a partition")
    sensor = sensor_for(embedded_settings, "new_photo_objects")
    result = _tick(embedded_settings, sensor, None, dg.DagsterInstance.ephemeral())
    assert _days(result) == ["2026-01-01"]
    assert set(json.loads(result.cursor)["days"]) == {"2026-01-01"}


def test_a_day_with_a_queued_run_is_left_to_that_run(embedded_settings: Settings) -> None:
    """A queued ingest lists the day when it starts, so new objects that land while it waits
    need no second run; once it is gone without ingesting them, the day is requested again."""
    seed(embedded_settings, replace(SMALL, photos_per_day=10, events_per_day=300), days=1)
    sensor = sensor_for(embedded_settings, "new_photo_objects")
    instance = dg.DagsterInstance.ephemeral()
    first = _tick(embedded_settings, sensor, None, instance)
    assert _days(first) == ["2026-01-01"]
    waiting = dg.DagsterRun(
        job_name="ingest_photos",
        run_id="0" * 8 + "-0000-0000-0000-" + "0" * 12,
        status=dg.DagsterRunStatus.NOT_STARTED,  # created, not yet started
        tags={"dagster/partition": "2026-01-01"},
    )
    instance.add_run(waiting)
    store, db, _ = stores(embedded_settings)
    db.dispose()
    store.put("photos/date=2026-01-01/999999.jpg", store.get(next(store.list("photos/date=2026-01-01/")).key))  # fmt: skip
    assert _tick(embedded_settings, sensor, first.cursor, instance).run_requests == []
    instance.delete_run(waiting.run_id)
    assert _days(_tick(embedded_settings, sensor, first.cursor, instance)) == ["2026-01-01"]
