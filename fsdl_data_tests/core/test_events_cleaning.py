"""Event cleaning against a naive, obviously-correct reference, on generated and edge-case data."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.tables.events import (
    ALLOWED_LATENESS,
    FUTURE_TOLERANCE,
    clean_events,
    read_log_lines,
)
from fsdl_data.core.tables.schemas import EVENTS, QUARANTINE
from fsdl_data.core.tables.sources import log_lines
from fsdl_data.core.world.generator import seed_world
from fsdl_data_tests.helpers import SMALL


def reference_clean(lines: list[bytes], day: str) -> tuple[dict[int, dict], dict[int, str]]:
    """Line by line, the plainest possible reading of the rules. Returns (kept, quarantined reasons)."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    lo, hi = start - ALLOWED_LATENESS, start + timedelta(days=1) + FUTURE_TOLERANCE
    kept: dict[int, dict] = {}
    bad: dict[int, str] = {}
    seen: set[str] = set()
    for n, raw in enumerate(lines, start=1):
        try:
            rec = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad[n] = "invalid_utf8"
            continue
        except json.JSONDecodeError:
            bad[n] = "malformed_json"
            continue
        ok = (
            isinstance(rec, dict)
            and isinstance(rec.get("event_id"), str)
            and isinstance(rec.get("user_id"), int)
            and rec.get("event_type") in ("login", "post", "view", "like")
            and isinstance(rec.get("ts"), (str, int))
            and (rec["event_type"] == "login" or isinstance(rec.get("photo_id"), int))
        )
        if not ok:
            bad[n] = "schema_violation"
            continue
        ts = rec["ts"]
        t = (
            datetime.fromtimestamp(ts / 1000, UTC)
            if isinstance(ts, int)
            else datetime.fromisoformat(ts).astimezone(UTC)
        )
        if t < lo:
            bad[n] = "too_late"
        elif t >= hi:
            bad[n] = "future_timestamp"
        elif rec["event_id"] in seen:
            bad[n] = "duplicate_event_id"
        else:
            seen.add(rec["event_id"])
            kept[n] = {"event_id": rec["event_id"], "ts": t, "user_id": rec["user_id"]}
    return kept, bad


def _lines_frame(lines: list[bytes]) -> pl.DataFrame:
    return read_log_lines(
        "events/date=2026-01-02/part-00000.jsonl.gz", gzip.compress(b"\n".join(lines) + b"\n")
    )


@pytest.mark.parametrize("defects", [False, True])
def test_matches_reference_on_a_generated_day(tmp_path: Path, defects: bool) -> None:
    store = LocalObjectStore(tmp_path / "obj")
    seed_world(
        replace(SMALL, defects=defects),
        2,
        store,
        AppDatabase(f"sqlite:///{tmp_path}/a.db"),
        tmp_path / "t",
    )
    raw = log_lines(store, "2026-01-02")
    out = clean_events(raw, "2026-01-02")
    kept, bad = reference_clean(raw["raw"].to_list(), "2026-01-02")
    assert len(out.events) + len(out.quarantine) == len(raw)  # nothing dropped silently
    assert dict(zip(out.quarantine["line_no"], out.quarantine["reason"], strict=True)) == bad
    assert out.events["line_no"].to_list() == sorted(kept)
    assert out.events["event_id"].to_list() == [kept[n]["event_id"] for n in sorted(kept)]
    assert out.events["ts"].to_list() == [kept[n]["ts"] for n in sorted(kept)]
    assert dict(out.events.schema) == EVENTS and dict(out.quarantine.schema) == QUARANTINE
    if defects:
        assert set(out.reason_counts) >= {"invalid_utf8", "malformed_json", "schema_violation", "too_late",
                                          "future_timestamp", "duplicate_event_id"}  # fmt: skip
    else:
        assert out.quarantine.is_empty()


def test_edge_cases() -> None:
    day = "2026-01-02"
    lines = [
        b'{"event_id":"a","event_type":"login","user_id":1,"photo_id":null,"ts":"2026-01-02T01:00:00+09:00","client":"ios"}',
        b'{"event_id":"b","event_type":"view","user_id":1,"photo_id":5,"ts":1767312000000,"client":"web"}',
        b'{"event_id":"a","event_type":"login","user_id":1,"photo_id":null,"ts":"2026-01-02T01:00:00+09:00","client":"ios"}',
        b'{"event_id":"a","event_type":"like","user_id":1,"photo_id":3,"ts":"2026-01-02T01:00:00+09:00","client":"ios"}',
        b'{"event_id":"c","event_type":"view","user_id":1,"ts":"2026-01-02T05:00:00Z"}',
        b'{"event_id":"d","event_type":"teleport","user_id":1,"ts":"2026-01-02T05:00:00Z"}',
        b'{"event_id":"e","event_type":"login","user_id":true,"ts":"2026-01-02T05:00:00Z"}',
        b'{"event_id":"f","event_type":"login","user_id":1,"ts":"yesterday"}',
        b'[1,2,3]',
        b'',
        b'{"event_id":"g","event_type":"login","user_id":1,"ts":"2026-01-03T00:59:59.999+00:00"}',
        b'{"event_id":"h","event_type":"login","user_id":1,"ts":"2026-01-03T01:00:00+00:00"}',
        b'{"event_id":"i","event_type":"login","user_id":1,"ts":"2025-12-31T00:00:00+00:00"}',
        b'{"event_id":"j","event_type":"login","user_id":1,"ts":"2025-12-30T23:59:59+00:00"}',
    ]  # fmt: skip
    out = clean_events(_lines_frame(lines), day)
    reasons = dict(zip(out.quarantine["line_no"], out.quarantine["reason"], strict=True))
    assert reasons == {
        3: "duplicate_event_id", 4: "duplicate_event_id", 5: "schema_violation", 6: "schema_violation",
        7: "schema_violation", 8: "bad_timestamp", 9: "schema_violation", 10: "malformed_json",
        12: "future_timestamp", 14: "too_late",
    }  # fmt: skip
    details = dict(zip(out.quarantine["line_no"], out.quarantine["detail"], strict=True))
    assert (
        details[3] == "exact replay of an earlier line"
        and details[4] == "same event_id, different payload"
    )
    assert out.events["event_id"].to_list() == ["a", "b", "g", "i"]
    # +09:00 local time is normalised to UTC
    assert out.events["ts"][0] == datetime(2026, 1, 1, 16, tzinfo=UTC)


def test_empty_input() -> None:
    out = clean_events(_lines_frame([]).head(0), "2026-01-02")
    assert out.events.is_empty() and out.quarantine.is_empty()
    assert dict(out.events.schema) == EVENTS
