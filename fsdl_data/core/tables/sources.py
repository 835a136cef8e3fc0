"""Turning what the sources hold (objects, database rows, log files) into lake tables."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import polars as pl

from fsdl_data.core.calendar import day_bounds, day_folder
from fsdl_data.core.ingestion.cursor import day_listing
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.objects import Listed, ObjectNotFound, ObjectStore
from fsdl_data.core.tables.events import read_log_lines, unreadable_file
from fsdl_data.core.tables.schemas import (
    PHOTO_METADATA,
    PHOTO_METADATA_QUARANTINE,
    PHOTO_PIXELS,
    RAW_EVENTS,
    RAW_PHOTOS,
    USERS,
    conform,
    empty,
)
from fsdl_data.core.vision.decode import decode_photo
from fsdl_data.core.vision.pixels import IMAGE_SIZE, pixel_stats, thumbnail_bytes

_PHOTO_ID = re.compile(r"/(\d+)\.[A-Za-z]+$")


MAX_PHOTO_BYTES = 50_000_000  # larger objects are recorded, not read


def _refused(key: str, photo_id: int | None, size: int, reason: str) -> dict[str, Any]:
    return {"key": key, "photo_id": photo_id, "etag": None, "version_id": None, "size": size,
            "sha256": None, "width": None, "height": None, "decode_error": reason}  # fmt: skip


def photo_objects(
    store: ObjectStore, day: str, listing: list[Listed] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two tables from one read and one full decode of every object under photos/date=<day>/
    (or of `listing`, when the caller has listed it): `raw_photos` (identity, content hash,
    decoded size or why not) and `photo_pixels` (a model-sized thumbnail and pixel statistics
    of each decodable photo). A key that is unsafe (`..`, a link out of the store), too large
    or gone by the time it is read, or that names no photo id, gets a row saying so; the rest
    of the day is ingested."""
    if listing is None:
        listing = day_listing(store, day_folder("photos", day))
    rows, pixels = [], []
    for listed in listing:
        m = _PHOTO_ID.search(listed.key)
        photo_id = int(m.group(1)) if m and len(m.group(1)) <= 18 else None
        if listed.size > MAX_PHOTO_BYTES:
            reason = f"object too large: {listed.size:,} bytes (limit {MAX_PHOTO_BYTES:,})"
            rows.append(_refused(listed.key, photo_id, listed.size, reason))
            continue
        try:
            data, info = store.get(listed.key, with_info=True)
        except ValueError as e:  # an unsafe key: refused, the others still ingested
            rows.append(_refused(listed.key, photo_id, listed.size, f"refused key: {e}"))
            continue
        except ObjectNotFound:
            reason = "object deleted while the day was read"
            rows.append(_refused(listed.key, photo_id, listed.size, reason))
            continue
        img, thumb = decode_photo(data, IMAGE_SIZE)
        error = img.error
        if photo_id is None:  # recorded with the reason, never made a photo_pixels row
            name = listed.key.rsplit("/", 1)[-1]
            error = f"key names no photo id (expected <digits>.<ext>): {name!r}"
        rows.append(
            {
                "key": info.key,
                "photo_id": photo_id,
                "etag": info.etag,
                "version_id": info.version_id,
                "size": info.size,
                "sha256": hashlib.sha256(data).hexdigest(),
                "width": img.width,
                "height": img.height,
                "decode_error": error,
            }
        )
        if thumb is not None and photo_id is not None:
            stats = pixel_stats(thumb).as_dict()
            pixels.append(
                {
                    "photo_id": photo_id,
                    "key": info.key,
                    "thumbnail": thumbnail_bytes(thumb),
                    **stats,
                }
            )
    return conform(rows, RAW_PHOTOS), conform(pixels, PHOTO_PIXELS)


def _utc(rows: Iterable[dict[str, Any]], cols: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        r = dict(r)
        for c in cols:
            if r[c] is not None:
                r[c] = r[c].replace(tzinfo=UTC)
        out.append(r)
    return out


_REQUIRED_TEXT = ("title", "location", "object_key")


def _as_time(value: object) -> datetime | None:
    """A stored time as an aware UTC datetime; None when it is not one."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str):
        try:
            return _as_time(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def judge_photo_row(
    row: dict[str, Any], start: datetime, end: datetime
) -> tuple[dict | None, str, str]:
    """One stored photos row against the `photo_metadata` schema: (the typed row, "", "") or
    (None, reason, detail). Reasons: `missing_field`, `wrong_type`, `invalid_utf8`,
    `bad_timestamp`, `outside_window` (a row read for its update time whose own time is not
    in the day)."""
    typed: dict[str, Any] = {}
    for name in ("photo_id", "user_id"):
        value = row.get(name)
        if value is None:
            return None, "missing_field", f"{name} is NULL"
        if not isinstance(value, int) or isinstance(value, bool):
            return None, "wrong_type", f"{name} should be an integer, got {value!r}"
        typed[name] = value
    for name in _REQUIRED_TEXT:
        value = row.get(name)
        if value is None:
            return None, "missing_field", f"{name} is NULL"
        if isinstance(value, bytes | memoryview):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError as e:
                return None, "invalid_utf8", f"{name}: {e}"
        if not isinstance(value, str):
            return None, "wrong_type", f"{name} should be text, got {value!r}"
        typed[name] = value
    for name in ("posted_at", "updated_at"):
        value = row.get(name)
        if value is None:
            return None, "missing_field", f"{name} is NULL"
        moment = _as_time(value)
        if moment is None:
            return None, "bad_timestamp", f"{name} is not a time: {value!r}"
        typed[name] = moment
    if not start <= typed["posted_at"] < end:
        window = f"[{start.isoformat()}, {end.isoformat()})"
        return None, "outside_window", f"posted_at {typed['posted_at']} outside {window}"
    return typed, "", ""


def _shown(row: dict[str, Any]) -> str:
    return repr({k: bytes(v) if isinstance(v, memoryview) else v for k, v in row.items()})


def photo_rows(db: AppDatabase, day: str) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, Any]]:
    """The photos posted on `day` that fit the schema, the rows that do not (each with a
    reason; one bad row never fails the day, none is published with NULLs or dropped), and
    the database state that was read (watermark, count)."""
    start, end = day_bounds(day)
    good, bad = [], []
    for row in db.photo_rows_as_stored(start, end):
        typed, reason, detail = judge_photo_row(row, start, end)
        if typed is not None:
            good.append(typed)
        else:
            photo_id = row.get("photo_id")
            photo_id = (
                photo_id if isinstance(photo_id, int) and not isinstance(photo_id, bool) else None
            )
            bad.append(
                {"photo_id": photo_id, "reason": reason, "detail": detail, "raw": _shown(row)}
            )
    df = conform(good, PHOTO_METADATA) if good else empty(PHOTO_METADATA)
    quarantine = conform(bad, PHOTO_METADATA_QUARANTINE)
    watermark = df["updated_at"].max() if len(df) else None
    state = {
        "watermark": watermark.isoformat() if watermark else None,
        "row_count": len(df),
        "quarantined": len(quarantine),
        "window": f"[{start.isoformat()}, {end.isoformat()})",
    }
    return df, quarantine, state


def users_as_of(db: AppDatabase, day: str) -> pl.DataFrame:
    """Every user who had signed up by the end of `day`."""
    _, end = day_bounds(day)
    rows = _utc(db.users_signed_up_before(end), ("signup_at", "updated_at"))
    return conform(rows, USERS)


def log_lines(store: ObjectStore, day: str, listing: list[Listed] | None = None) -> pl.DataFrame:
    """All raw lines of the day's log files (or of `listing`'s), in file and line order. A file
    that cannot be read (an unsafe key, not gzip, a gzip bomb) becomes one row saying why."""
    if listing is None:
        listing = day_listing(store, day_folder("events", day))
    frames = []
    for listed in listing:
        if not listed.key.endswith(".jsonl.gz"):
            continue
        try:
            frames.append(read_log_lines(listed.key, store.get(listed.key)))
        except ValueError as e:
            frames.append(unreadable_file(listed.key, f"refused key: {e}"))
        except ObjectNotFound:
            frames.append(unreadable_file(listed.key, "deleted while the day was read"))
    return pl.concat(frames) if frames else empty(RAW_EVENTS)
