"""Turning what the sources hold (objects, database rows, log files) into lake tables."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC
from typing import Any

import polars as pl

from fsdl_data.core.calendar import day_bounds
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.objects import ObjectStore
from fsdl_data.core.tables.events import read_log_lines
from fsdl_data.core.tables.schemas import (
    PHOTO_METADATA,
    PHOTO_PIXELS,
    RAW_EVENTS,
    RAW_PHOTOS,
    USERS,
    conform,
    empty,
)
from fsdl_data.core.vision.decode import decode_photo
from fsdl_data.core.vision.model import IMAGE_SIZE
from fsdl_data.core.vision.pixels import pixel_stats, thumbnail_bytes

_PHOTO_ID = re.compile(r"/(\d+)\.[A-Za-z]+$")


def photo_objects(store: ObjectStore, day: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two tables from one read and one full decode of every object under photos/date=<day>/:
    `raw_photos` (identity, content hash, decoded size or error) and `photo_pixels` (a model-sized
    thumbnail and pixel statistics of each decodable photo)."""
    rows, pixels = [], []
    for key in store.keys(f"photos/date={day}/"):
        data, info = store.fetch(key)
        img, thumb = decode_photo(data, IMAGE_SIZE)
        m = _PHOTO_ID.search(info.key)
        photo_id = int(m.group(1)) if m else None
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
                "decode_error": img.error,
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


def photo_rows(db: AppDatabase, day: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The photos posted on `day`, and the database state that was read (watermark, count)."""
    start, end = day_bounds(day)
    rows = _utc(db.photos_posted_between(start, end), ("posted_at", "updated_at"))
    df = conform(rows, PHOTO_METADATA) if rows else empty(PHOTO_METADATA)
    watermark = df["updated_at"].max() if len(df) else None
    state = {
        "watermark": watermark.isoformat() if watermark else None,
        "row_count": len(df),
        "window": f"[{start.isoformat()}, {end.isoformat()})",
    }
    return df, state


def users_as_of(db: AppDatabase, day: str) -> pl.DataFrame:
    """Every user who had signed up by the end of `day`."""
    _, end = day_bounds(day)
    rows = _utc(db.users_signed_up_before(end), ("signup_at", "updated_at"))
    return conform(rows, USERS)


def log_lines(store: ObjectStore, day: str) -> pl.DataFrame:
    """All raw lines of the day's log files, in file and line order."""
    frames = [
        read_log_lines(key, store.get(key))
        for key in store.keys(f"events/date={day}/")
        if key.endswith(".jsonl.gz")
    ]
    return pl.concat(frames) if frames else empty(RAW_EVENTS)


_LANDED = re.compile(r"^events/date=(\d{4}-\d{2}-\d{2})/_SUCCESS$")


def days_landed(store: ObjectStore, after: str | None = None) -> list[str]:
    """Days whose event logs are complete (their `_SUCCESS` marker exists), after `after`.

    Lists only keys past the cursor's day, so a sensor's tick costs the new objects, not the bucket.
    """
    start = f"events/date={after}/~" if after else None  # '~' sorts after every key of that day
    return sorted(
        {
            m.group(1)
            for key in store.keys("events/", start_after=start)
            if (m := _LANDED.match(key))
        }
    )
