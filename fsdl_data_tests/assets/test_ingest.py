"""A small 2-day world materialized end to end: on the embedded default and on S3 + Postgres."""

from __future__ import annotations

import polars as pl
import pytest

from fsdl_data.config import Settings
from fsdl_data.core.explore import run_sql
from fsdl_data_tests.assets.test_definitions import ASSETS
from fsdl_data_tests.helpers import (
    SMALL,
    check_results,
    materialize_day,
    materialized,
    seed,
    step_failures,
    stores,
)


def _ingest_and_verify(settings: Settings) -> None:
    reports = seed(settings, days=2)
    _, db, lake = stores(settings)
    for report in reports:
        result = materialize_day(settings, report.day)
        assert result.success, (report.day, step_failures(result))
        assert materialized(result) == ASSETS
        checks = check_results(result)
        assert len(checks) == 21
        failed = {n: e.description for n, e in checks.items() if not e.passed}
        assert failed == {}, failed

        events = lake.read("events", report.day)
        assert len(events) + len(lake.read("events_quarantine", report.day)) == report.events
        assert events["ts"].dtype == pl.Datetime("us", "UTC")
        assert len(lake.read("photo_metadata", report.day)) == SMALL.photos_per_day
        assert (
            lake.read("raw_photos", report.day)["decode_error"].null_count() == SMALL.photos_per_day
        )

        mats = {
            e.asset_key.to_user_string(): e.materialization
            for e in result.get_asset_materialization_events()
        }
        meta = mats["events"].metadata
        assert meta["dagster/row_count"].value == len(events)
        assert "event_id" in meta["preview"].value
        assert [c.name for c in meta["dagster/column_schema"].schema.columns][:2] == [
            "event_id",
            "event_type",
        ]
        pm = mats["photo_metadata"].metadata
        assert pm["watermark"].value.startswith(report.day)
    out = run_sql(lake, "SELECT count(DISTINCT date) AS days, count(*) AS n FROM photo_metadata")
    assert out.rows() == [(2, 2 * SMALL.photos_per_day)]
    db.dispose()


def test_embedded_default(embedded_settings: Settings) -> None:
    assert embedded_settings.object_store_url.startswith("file://")
    assert embedded_settings.app_db_url.startswith("sqlite:///")
    _ingest_and_verify(embedded_settings)


@pytest.mark.s3
@pytest.mark.postgres
def test_s3_and_postgres(production_settings: Settings) -> None:
    assert production_settings.lake_url.startswith("s3://")
    _ingest_and_verify(production_settings)


def test_rematerializing_a_day_is_idempotent(embedded_settings: Settings) -> None:
    seed(embedded_settings, days=1)
    _, _, lake = stores(embedded_settings)
    materialize_day(embedded_settings, "2026-01-01")
    first = lake.read("events", "2026-01-01")
    again = materialize_day(embedded_settings, "2026-01-01")
    assert again.success and lake.read("events", "2026-01-01").equals(first)
    versions = {
        e.asset_key.to_user_string(): e.materialization.tags.get("dagster/data_version")
        for e in again.get_asset_materialization_events()
    }
    assert versions["raw_events"] and versions["photo_metadata"]


def test_a_day_without_data_is_refused_by_the_assets_and_publishes_nothing(
    embedded_settings: Settings,
) -> None:
    """Not only the CLI: a job launched any way (UI, schedule, materialize()) on a day with no
    objects fails its sources with why, once, and publishes no partition at all."""
    from fsdl_data_tests.assets.test_faults import failure_messages, lake_files

    seed(embedded_settings, SMALL, days=1)
    result = materialize_day(embedded_settings, "2026-01-03", selection=None)  # the whole graph
    assert not result.success
    assert "no data for 2026-01-03: nothing under photos/date=2026-01-03/" in failure_messages(
        result
    )
    assert not [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    assert materialized(result) == set()
    assert not [f for f in lake_files(embedded_settings) if "2026-01-03" in f]
