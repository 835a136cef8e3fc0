"""The new-day sensor fires on new objects in S3 (over HTTP) and in a local folder."""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
import pytest

from fsdl_data.config import Settings
from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.core.world.generator import append_days
from fsdl_data.resources import build_resources
from fsdl_data.sensors import new_day_sensor
from fsdl_data_tests.helpers import SMALL, seed, stores


def _tick(settings: Settings, cursor: str | None) -> dg.SensorResult:
    resources = {"objects": build_resources(settings)["objects"]}
    with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
        return new_day_sensor(context)


def _check_sensor(settings: Settings) -> None:
    seed(settings, replace(SMALL, photos_per_day=10, events_per_day=300), days=2)
    first = _tick(settings, None)
    assert [r.partition_key for r in first.run_requests] == ["2026-01-01", "2026-01-02"]
    assert first.cursor == "2026-01-02"
    assert _tick(settings, first.cursor).run_requests == []  # nothing new: nothing requested
    store, db, _ = stores(settings)
    append_days(store, db, settings.truth_dir, 1)
    db.dispose()
    later = _tick(settings, first.cursor)
    assert [(r.partition_key, r.run_key) for r in later.run_requests] == [
        ("2026-01-03", "ingest-2026-01-03")
    ]
    assert later.cursor == "2026-01-03"


def test_sensor_on_a_local_folder(embedded_settings: Settings) -> None:
    _check_sensor(embedded_settings)


@pytest.mark.s3
@pytest.mark.postgres
def test_sensor_on_s3(production_settings: Settings) -> None:
    assert open_object_store(production_settings.object_store_url).url.startswith("s3://")
    _check_sensor(production_settings)
