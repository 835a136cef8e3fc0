"""Every injected defect ends in quarantine or a failed check with a clear message, and no
half-written file remains anywhere."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import dagster as dg

from fsdl_data.config import Settings
from fsdl_data.core.storage.objects import TMP_PREFIX
from fsdl_data_tests.helpers import (
    SMALL,
    check_results,
    materialize_day,
    materialized,
    seed,
    stores,
)

LOG_DEFECT_REASON = {
    "malformed_json": "malformed_json",
    "wrong_type": "schema_violation",
    "missing_field": "schema_violation",
    "duplicate_event": "duplicate_event_id",
    "conflicting_duplicate": "duplicate_event_id",
    "non_utf8": "invalid_utf8",
    "too_late": "too_late",
    "future_event": "future_timestamp",
}


def test_every_defect_is_caught(embedded_settings: Settings) -> None:
    reports = seed(embedded_settings, replace(SMALL, defects=True), days=2)
    _, _, lake = stores(embedded_settings)
    for report in reports:
        injected = json.loads(
            (embedded_settings.truth_dir / "defects" / f"{report.day}.json").read_text()
        )
        result = materialize_day(embedded_settings, report.day)
        checks = check_results(result)
        failed = {n for n, e in checks.items() if not e.passed}
        assert failed == {
            "raw_photos_decodable",
            "photo_metadata_users_exist",
            "events_quarantine_rate",
        }
        # a blocking ERROR stops the run: bad photo metadata is never built upon
        assert not result.success
        assert checks["photo_metadata_users_exist"].severity == dg.AssetCheckSeverity.ERROR
        assert checks["raw_photos_decodable"].severity == dg.AssetCheckSeverity.WARN
        assert "could not be decoded" in checks["raw_photos_decodable"].description

        photos = lake.read("raw_photos", report.day)
        bad_keys = set(photos.filter(photos["decode_error"].is_not_null())["key"])
        assert bad_keys == set(injected["corrupt_image"] + injected["zero_byte_image"])

        orphan_photo = int(injected["orphan_photo"][0])
        meta = lake.read("photo_metadata", report.day)
        orphan_user = meta.filter(meta["photo_id"] == orphan_photo)["user_id"][0]
        assert str(orphan_user) in checks["photo_metadata_users_exist"].description

        quarantine = lake.read("events_quarantine", report.day)
        for kind, reason in LOG_DEFECT_REASON.items():
            for event_id in injected[kind]:
                rows = quarantine.filter(
                    quarantine["raw"].str.contains(f'"{event_id}"', literal=True)
                    & (quarantine["reason"] == reason)
                )
                assert len(rows) >= 1, (kind, event_id)
        assert "events" in materialized(result)
        assert len(lake.read("events", report.day)) + len(quarantine) == report.events


def test_no_half_written_files(embedded_settings: Settings) -> None:
    seed(embedded_settings, replace(SMALL, defects=True), days=1)
    materialize_day(embedded_settings, "2026-01-01")
    leftovers = [
        p for p in Path(embedded_settings.home).rglob("*") if p.name.startswith(TMP_PREFIX)
    ]
    assert leftovers == []
