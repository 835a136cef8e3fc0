"""The bad-input catalogue (README, "Bad input"): each case ends in a clear error or a quarantine
row with a reason, nothing lost, nothing half-written, and the rest of the day still ingested."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from fsdl_data.core.labels.human import parse_label_studio
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.objects import ObjectStore
from fsdl_data.core.tables.events import MAX_LINE_BYTES, clean_events, read_log_lines
from fsdl_data.core.tables.sources import log_lines, photo_objects
from fsdl_data.core.vision.decode import MAX_PIXELS
from fsdl_data_tests.core.tables import events_oracle

DAY = "2026-01-02"


def event(ts: object, **extra: object) -> bytes:
    record = {"event_id": f"e{abs(hash((str(ts), str(extra))))}", "event_type": "login",
              "user_id": 1, "ts": ts, **extra}  # fmt: skip
    return json.dumps(record).encode()


def clean(lines: list[bytes]) -> tuple[pl.DataFrame, pl.DataFrame]:
    raw = read_log_lines(f"events/date={DAY}/part-0.jsonl.gz", gzip.compress(b"\n".join(lines)))
    out = clean_events(raw, DAY)
    assert len(out.events) + len(out.quarantine) == len(raw)  # every line ends somewhere
    assert_same_as_reference(raw, out)
    return out.events, out.quarantine


def assert_same_as_reference(raw: pl.DataFrame, out: object) -> None:
    """The vectorized cleaning gives, row for row, what the line-by-line reference gives."""
    from polars.testing import assert_frame_equal

    expected = events_oracle.clean_events(raw, DAY)
    assert_frame_equal(out.events, expected.events)
    assert_frame_equal(out.quarantine, expected.quarantine)


@pytest.mark.parametrize(
    "ts",
    [
        "2026-01-02T12:00:00Z",
        "2026-01-02T12:00:00z",
        "2026-01-02 12:00:00Z",
        "2026-01-02T12:00:00+00:00",
        "2026-01-02T14:00:00+02:00",
        "2026-01-02T07:00:00-05:00",
        "2026-01-02T12:00:00.5Z",
        "2026-01-02T12:00:00.123Z",
        "2026-01-02T12:00:00.123456+00:00",
        "2026-01-02 12:00:00.123+00:00",
        "20260102T120000Z",
    ],
)
def test_every_iso_8601_form_a_client_sends_parses_to_the_same_utc_time(ts: str) -> None:
    events, quarantine = clean([event(ts)])
    assert quarantine.is_empty(), quarantine["detail"].to_list()
    moment = events["ts"][0]
    assert (moment.hour, moment.minute, moment.second) == (12, 0, 0)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\xff\xfe not utf-8", "invalid_utf8"),
        (b'{"event_id": "x", "event_type"', "malformed_json"),
        (event("2026-01-02 12:00:00"), "bad_timestamp"),  # no offset: a local time we cannot place
        (event("yesterday"), "bad_timestamp"),
        (event("2026-01-02T12:00:00Z", user_id="1"), "schema_violation"),  # wrong type
        (
            json.dumps({"event_id": "m", "event_type": "login", "ts": 1}).encode(),
            "schema_violation",
        ),
        (event(10**30), "schema_violation"),  # an integer no column can hold
        (event("2099-01-01T00:00:00Z"), "future_timestamp"),
        (event("2020-01-01T00:00:00Z"), "too_late"),
        (event("2026-01-02T12:00:00Z", title="x" * (10 << 20)), "line_too_long"),  # a 10 MB field
    ],
)
def test_bad_lines_are_quarantined_with_a_reason(line: bytes, reason: str) -> None:
    events, quarantine = clean([line, event("2026-01-02T12:00:00Z", client="ok")])
    assert quarantine["reason"].to_list() == [reason]
    assert quarantine["detail"][0]  # and says why
    assert len(events) == 1  # the good line next to it is kept


def test_a_new_field_is_ignored_and_duplicates_and_conflicts_are_told_apart() -> None:
    first = event("2026-01-02T12:00:00Z", brand_new_field=[1, 2])
    conflicting = first.replace(b'"login"', b'"login", "client": "other"')
    events, quarantine = clean([first, first, conflicting])
    assert len(events) == 1
    assert quarantine["reason"].to_list() == ["duplicate_event_id"] * 2
    assert quarantine["detail"].to_list() == [
        "exact replay of an earlier line",
        "same event_id, different payload",
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not gzip at all", "not a gzip file"),
        (gzip.compress(b"x" * 1000)[:-12], "truncated"),
    ],
)
def test_an_unreadable_log_file_is_one_quarantine_row(data: bytes, reason: str) -> None:
    raw = read_log_lines(f"events/date={DAY}/bad.jsonl.gz", data)
    out = clean_events(raw, DAY)
    assert_same_as_reference(raw, out)
    assert out.quarantine["reason"].to_list() == ["unreadable_file"]
    assert reason.lower() in out.quarantine["detail"][0].lower()


def test_a_gzip_bomb_is_refused_without_inflating_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from fsdl_data.core.tables import events as module

    monkeypatch.setattr(module, "MAX_LOG_BYTES", 1 << 20)  # the same check, at a testable size
    bomb = gzip.compress(b"\0" * (8 << 20))  # 8 MB of zeros in a few KB
    out = clean_events(read_log_lines(f"events/date={DAY}/bomb.jsonl.gz", bomb), DAY)
    assert out.quarantine["reason"].to_list() == ["unreadable_file"]
    assert "gzip bomb" in out.quarantine["detail"][0]
    assert MAX_LINE_BYTES < 10 << 20


def jpeg(size: int = 16) -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(size)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def bomb_png() -> bytes:
    """A PNG that claims 8000 x 8000 pixels (64 M) in a few hundred kilobytes."""
    buffer = io.BytesIO()
    Image.new("L", (8000, 8000)).save(buffer, "PNG")
    return buffer.getvalue()


def test_bad_images_each_get_a_reason_and_the_rest_of_the_day_is_ingested(
    object_store: ObjectStore,
) -> None:
    prefix = f"photos/date={DAY}/"
    object_store.put(prefix + "1.jpg", jpeg())
    object_store.put(prefix + "2.jpg", b"\xff\xd8\xff garbage, not a jpeg")
    object_store.put(prefix + "3.jpg", b"")
    object_store.put(prefix + "4.jpg", jpeg()[:200])  # truncated
    object_store.put(prefix + "5.png", bomb_png())
    raw, pixels = photo_objects(object_store, DAY)
    errors = dict(zip(raw["key"].str.split("/").list.last(), raw["decode_error"], strict=True))
    assert errors["1.jpg"] is None and pixels["photo_id"].to_list() == [1]
    assert errors["3.jpg"] == "empty object (0 bytes)"
    assert errors["2.jpg"] and errors["4.jpg"]
    assert "too many pixels" in errors["5.png"] and MAX_PIXELS < 8000 * 8000


def test_a_huge_object_is_recorded_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsdl_data.core.tables import sources

    store = LocalObjectStore(tmp_path)
    store.put(f"photos/date={DAY}/1.jpg", jpeg(64))
    monkeypatch.setattr(sources, "MAX_PHOTO_BYTES", 100)
    raw, _ = photo_objects(store, DAY)
    assert raw["decode_error"][0].startswith("object too large")


def test_a_link_out_of_the_local_store_is_refused_per_key(tmp_path: Path) -> None:
    secret = tmp_path / "outside.jpg"
    secret.write_bytes(jpeg())
    store = LocalObjectStore(tmp_path / "objects")
    store.put(f"photos/date={DAY}/1.jpg", jpeg())
    os.symlink(secret, tmp_path / "objects" / "photos" / f"date={DAY}" / "2.jpg")
    os.symlink(tmp_path, tmp_path / "objects" / "photos" / f"date={DAY}" / "up")  # a folder link
    raw, pixels = photo_objects(store, DAY)
    errors = dict(zip(raw["key"], raw["decode_error"], strict=True))
    assert errors[f"photos/date={DAY}/1.jpg"] is None and len(pixels) == 1
    assert "leads out of the store" in errors[f"photos/date={DAY}/2.jpg"]
    assert not any("/up/" in k for k in errors)  # linked folders are never walked
    with pytest.raises(ValueError, match="leads out of the store"):
        store.get(f"photos/date={DAY}/2.jpg")


@pytest.mark.s3
def test_unsafe_s3_keys_are_refused_per_key(s3_env: str, s3_bucket: str) -> None:
    from fsdl_data.core.storage.backends.s3 import S3ObjectStore
    from fsdl_data_tests.conftest import s3_client

    client = s3_client(s3_env)
    store = S3ObjectStore(client, s3_bucket)
    store.put(f"photos/date={DAY}/1.jpg", jpeg())
    for key in (f"photos/date={DAY}/../../escape.jpg", f"photos/date={DAY}//abs.jpg"):
        client.put_object(Bucket=s3_bucket, Key=key, Body=jpeg())
    raw, pixels = photo_objects(store, DAY)
    refused = raw.filter(pl.col("decode_error").str.starts_with("refused key"))
    assert len(refused) == 2 and len(pixels) == 1  # the good photo is still ingested
    gz = gzip.compress(event("2026-01-02T12:00:00Z"))
    client.put_object(Bucket=s3_bucket, Key=f"events/date={DAY}/../x.jsonl.gz", Body=gz)
    client.put_object(Bucket=s3_bucket, Key=f"events/date={DAY}/ok.jsonl.gz", Body=gz)
    raw = log_lines(store, DAY)
    out = clean_events(raw, DAY)
    assert_same_as_reference(raw, out)
    assert out.quarantine["reason"].to_list() == ["unreadable_file"] and len(out.events) == 1


@pytest.mark.parametrize(
    ("export", "reason"),
    [
        (b"{not json", "malformed_export"),
        (b'{"tasks": []}', "malformed_export"),
        (b"[1]", "malformed_task"),
        (b'[{"data": "photo 1"}]', "malformed_task"),
        (b'[{"data": {"photo_id": 1}, "annotations": {"id": 1}}]', "malformed_task"),
        (b'[{"data": {"photo_id": 1}, "annotations": ["yes"]}]', "malformed_annotation"),
        (
            b'[{"data": {"photo_id": 1}, "annotations": [{"result": "cat"}]}]',
            "malformed_annotation",
        ),
        (
            b'[{"data": {"photo_id": 1}, "annotations": [{"result": [{"type": "choices"}]}]}]',
            "malformed_annotation",
        ),
        (
            b'[{"data": {"photo_id": 1}, "annotations": [{"result": [{"type": "choices", '
            b'"value": {"choices": [7]}}]}]}]',
            "not_exactly_one_choice",
        ),
        (
            b'[{"id": "x", "data": {"photo_id": "p1"}, "annotations": [{"id": [], "created_at": 5, '
            b'"result": [{"type": "choices", "value": {"choices": ["cat"]}}]}]}]',
            "unknown_photo_id",
        ),
    ],
)
def test_malformed_label_studio_files_give_a_reason_not_an_exception(
    export: bytes, reason: str
) -> None:
    good = (b'{"id": 9, "data": {"photo_id": 2}, "annotations": [{"id": 1, "completed_by": 3, '
            b'"result": [{"type": "choices", "value": {"choices": ["cat"]}}]}]}')  # fmt: skip
    rows = parse_label_studio(export, {1, 2}, ("cat", "dog"))
    assert rows["rejected_reason"].to_list() == [reason]
    if export.startswith(b"["):
        both = parse_label_studio(export[:-1] + b", " + good + b"]", {1, 2}, ("cat", "dog"))
        assert both["rejected_reason"].to_list() == [reason, None]  # the good task is kept


def drifted_app_db(path: Path) -> tuple[object, list[tuple]]:
    """An app database whose photos table has drifted from the schema (no NOT NULL, no types),
    holding one good row and one row per way a row can break the schema."""
    import sqlite3

    from fsdl_data.core.storage.appdb import AppDatabase

    db_path = path / "drifted.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TABLE photos (photo_id, user_id, title, location, posted_at, object_key, "
            "updated_at)"
        )
        ok = ("2026-01-02 10:00:00.000000", "2026-01-02 10:00:05.000000")
        rows = [
            (1, 7, "a good row", "Lisbon", ok[0], "photos/1.jpg", ok[1]),
            (2, None, "no user", "Lisbon", ok[0], "photos/2.jpg", ok[1]),
            (3, 7, None, "Lisbon", ok[0], "photos/3.jpg", ok[1]),
            (4, 7, b"\xff\xfe not utf-8", "Lisbon", ok[0], "photos/4.jpg", ok[1]),
            (5, 7, "no posting time", "Lisbon", None, "photos/5.jpg", ok[1]),
            (6, 7, "a time that is not one", "Lisbon", "yesterday", "photos/6.jpg", ok[1]),
            (7, "seven", "a text user id", "Lisbon", ok[0], "photos/7.jpg", ok[1]),
            (None, 7, "no photo id", "Lisbon", ok[0], "photos/8.jpg", ok[1]),
            (9, 7, "another day", "Lisbon", "2026-01-05 10:00:00.000000", "photos/9.jpg", ok[1]),
        ]
        conn.executemany("INSERT INTO photos VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return AppDatabase(f"sqlite:///{db_path}"), rows


def test_app_database_rows_that_break_the_schema_are_quarantined_with_a_reason(
    tmp_path: Path,
) -> None:
    from fsdl_data.core.tables.sources import photo_rows

    db, _ = drifted_app_db(tmp_path)
    published, quarantine, state = photo_rows(db, DAY)  # one bad row never fails the day
    assert published["photo_id"].to_list() == [1]
    assert published.null_count().sum_horizontal().item() == 0  # never published with NULLs
    reasons = {row["raw"].split(",")[0]: row["reason"] for row in quarantine.iter_rows(named=True)}
    assert reasons == {
        "{'photo_id': 2": "missing_field",
        "{'photo_id': 3": "missing_field",
        "{'photo_id': 4": "invalid_utf8",
        "{'photo_id': 5": "missing_field",  # read with its update day, not dropped
        "{'photo_id': 6": "bad_timestamp",
        "{'photo_id': 7": "wrong_type",
        "{'photo_id': None": "missing_field",
    }
    assert all(quarantine["detail"])
    assert state["row_count"] == 1 and state["quarantined"] == 7
    later, later_quarantine, _ = photo_rows(db, "2026-01-05")
    assert later["photo_id"].to_list() == [9] and later_quarantine.is_empty()


def test_a_photo_key_naming_no_photo_id_is_a_row_with_a_reason(object_store: ObjectStore) -> None:
    prefix = f"photos/date={DAY}/"
    object_store.put(prefix + "1.jpg", jpeg())
    object_store.put(prefix + "cover.jpg", jpeg())
    object_store.put(prefix + "99999999999999999999999.jpg", jpeg())  # no 64-bit id
    raw, pixels = photo_objects(object_store, DAY)
    errors = dict(zip(raw["key"].str.split("/").list.last(), raw["decode_error"], strict=True))
    assert errors["1.jpg"] is None and pixels["photo_id"].to_list() == [1]
    assert errors["cover.jpg"].startswith("key names no photo id")
    assert errors["99999999999999999999999.jpg"].startswith("key names no photo id")
