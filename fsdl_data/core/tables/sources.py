"""Turning what the sources hold (objects, database rows, log files) into lake tables."""

from __future__ import annotations

import hashlib
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
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
    from_columns,
)
from fsdl_data.core.vision.decode import decode_photo
from fsdl_data.core.vision.pixels import IMAGE_SIZE, pixel_stats_columns, thumbnail_bytes

_PHOTO_ID = re.compile(r"/(\d+)\.[A-Za-z]+$")


MAX_PHOTO_BYTES = 50_000_000  # larger objects are recorded, not read


def _refused(key: str, photo_id: int | None, size: int, reason: str) -> tuple:
    """The raw_photos row (RAW_PHOTOS' column order) of an object that was not read."""
    return key, photo_id, None, None, size, None, None, None, reason


READS_IN_FLIGHT = (
    32  # object GETs at once: enough to hide an S3 round trip, few enough to be polite
)
# thumbnails whose statistics are computed in one pass of array operations: a batch's working
# arrays (about 16 KB of int32 a thumbnail) then stay in a core's cache; at 256 they did not,
# and the statistics cost twice the CPU a photo (0.10 ms against 0.03-0.05 ms, by hand)
STATS_BATCH = 32


def photo_objects(
    store: ObjectStore,
    day: str,
    listing: list[Listed] | None = None,
    *,
    reads_in_flight: int = READS_IN_FLIGHT,
    decoders: int | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two tables from one read and one full decode of every object under photos/date=<day>/
    (or of `listing`, when the caller has listed it): `raw_photos` (identity, content hash,
    decoded size or why not) and `photo_pixels` (a model-sized thumbnail and pixel statistics
    of each decodable photo). A key that is unsafe (`..`, a link out of the store), too large
    or gone by the time it is read, or that names no photo id, gets a row saying so; the rest
    of the day is ingested.

    Objects are read `reads_in_flight` at a time and decoded (and hashed) on `decoders`
    threads (default: one per core; Pillow and hashlib release the GIL while they work). A
    reader waits for its object's decode before it reads the next, so at most
    `reads_in_flight` objects are held in memory whatever the day's size; rows come out in
    listing order. The statistics are computed STATS_BATCH thumbnails at a time and both
    tables are built column by column."""
    if listing is None:
        listing = day_listing(store, day_folder("photos", day))
    decoders = decoders or os.cpu_count() or 1
    made = _PhotoTables()
    with (
        ThreadPoolExecutor(max(1, reads_in_flight), thread_name_prefix="photo-read") as readers,
        ThreadPoolExecutor(decoders, thread_name_prefix="photo-decode") as decoding,
    ):

        def read_and_decode(listed: Listed) -> tuple[tuple, np.ndarray | None]:
            fetched = _fetch_photo(store, listed)
            if isinstance(fetched, str):
                return _refused(listed.key, _photo_id(listed.key), listed.size, fetched), None
            return decoding.submit(_photo_row, listed, *fetched).result()

        pending: deque[Future] = deque()
        try:
            for listed in listing:
                pending.append(readers.submit(read_and_decode, listed))
                while len(pending) > 4 * reads_in_flight:  # results are small, but bounded too
                    made.add(*pending.popleft().result())
            while pending:
                made.add(*pending.popleft().result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    return made.tables()


class _PhotoTables:
    """The two tables' columns as rows arrive: raw_photos rows as tuples, photo_pixels'
    statistics a batch of thumbnails at a time."""

    def __init__(self) -> None:
        self.raw: list[tuple] = []
        self.ids: list[int] = []
        self.keys: list[str] = []
        self.thumbnails: list[bytes] = []
        self.batch: list[np.ndarray] = []
        self.stats: list[dict[str, np.ndarray]] = []

    def add(self, row: tuple, thumb: np.ndarray | None) -> None:
        self.raw.append(row)
        if thumb is None:
            return
        self.keys.append(row[0])
        self.ids.append(row[1])
        self.batch.append(thumb)
        if len(self.batch) >= STATS_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            self.stats.append(pixel_stats_columns(np.stack(self.batch)))
            self.thumbnails.extend(thumbnail_bytes(thumb) for thumb in self.batch)
            self.batch.clear()

    def tables(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        self._flush()
        columns = list(zip(*self.raw, strict=True)) or [()] * len(RAW_PHOTOS)
        raw = from_columns(dict(zip(RAW_PHOTOS, columns, strict=True)), RAW_PHOTOS)
        stats = {name: np.concatenate([part[name] for part in self.stats])
                 for name in (self.stats[0] if self.stats else ())}  # fmt: skip
        pixels = {"photo_id": self.ids, "key": self.keys, "thumbnail": self.thumbnails, **stats}
        return raw, from_columns(pixels, PHOTO_PIXELS)


def _photo_id(key: str) -> int | None:
    match = _PHOTO_ID.search(key)
    return int(match.group(1)) if match and len(match.group(1)) <= 18 else None


def _fetch_photo(store: ObjectStore, listed: Listed) -> tuple[bytes, Listed] | str:
    """The object's bytes and what the store says of it, or why it was not read."""
    if listed.size > MAX_PHOTO_BYTES:
        return f"object too large: {listed.size:,} bytes (limit {MAX_PHOTO_BYTES:,})"
    try:
        return store.get(listed.key, with_info=True)
    except ValueError as e:  # an unsafe key: refused, the others still ingested
        return f"refused key: {e}"
    except ObjectNotFound:
        return "object deleted while the day was read"


def _photo_row(listed: Listed, data: bytes, info: Listed) -> tuple[tuple, np.ndarray | None]:
    """The raw_photos row (RAW_PHOTOS' column order) of one read object and, when it decodes
    and names a photo id, its thumbnail (for photo_pixels)."""
    photo_id = _photo_id(listed.key)
    img, thumb = decode_photo(data, IMAGE_SIZE)
    error = img.error
    if photo_id is None:  # recorded with the reason, never made a photo_pixels row
        name = listed.key.rsplit("/", 1)[-1]
        error = f"key names no photo id (expected <digits>.<ext>): {name!r}"
        thumb = None
    sha256 = hashlib.sha256(data).hexdigest()
    row = (info.key, photo_id, info.etag, info.version_id, info.size, sha256, img.width,
           img.height, error)  # fmt: skip
    return row, thumb


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


def log_files(
    store: ObjectStore, day: str, listing: list[Listed] | None = None
) -> Iterator[pl.DataFrame]:
    """The raw lines of the day's log files (or of `listing`'s), one file at a time, in key and
    line order. A file that cannot be read (an unsafe key, not gzip, a gzip bomb) is one row
    saying why."""
    if listing is None:
        listing = day_listing(store, day_folder("events", day))
    for listed in sorted(listing, key=lambda item: item.key):
        if not listed.key.endswith(".jsonl.gz"):
            continue
        try:
            yield read_log_lines(listed.key, store.get(listed.key))
        except ValueError as e:
            yield unreadable_file(listed.key, f"refused key: {e}")
        except ObjectNotFound:
            yield unreadable_file(listed.key, "deleted while the day was read")


def log_lines(store: ObjectStore, day: str, listing: list[Listed] | None = None) -> pl.DataFrame:
    """All raw lines of the day's log files (`log_files`) in one frame."""
    frames = list(log_files(store, day, listing))
    return pl.concat(frames) if frames else empty(RAW_EVENTS)
