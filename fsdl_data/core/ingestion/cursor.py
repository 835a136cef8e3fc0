"""What is new in an object store, given a cursor: the logic of the object sensors.

Objects live under day folders (`photos/date=D/…`, `events/date=D/…`). For each day folder the
cursor keeps a watermark (the newest LastModified seen there) and, for the look-back window
before it, the token (fingerprint and LastModified) of every object seen. An object is new when
it was modified inside the window or after it and its token is not among those seen:

- equal timestamps are safe: nothing is ordered by time alone, membership decides;
- a re-modified key has a new token (new ETag or LastModified), so it is new again;
- a deleted key simply stops being listed: it neither blocks nor triggers anything;
- an object written with a clock a little behind (within the window) is still caught;
- a day folder is judged against its own cursor, so a late marker or late objects in an old day
  are caught when that day is listed, whatever happened in newer days (the bug of a single
  "newest day seen" cursor, and of key-ordered cursors matched against LastModified order).

A tick lists the newest `hot_days` day folders and every folder it has no cursor for, then
sweeps the others round-robin until it has listed `max_keys` keys, so its work is bounded
however large the bucket; a change in an old day is found within one sweep. What to request is
decided by content, not by the cursor: a listed day is requested when the digest of its objects
differs from the one its latest ingest recorded (`days_to_request`; the digest is
fsdl_data.core.storage.objects.listing_digest, the one digest of a listing).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.storage.objects import Listed, ObjectStore, listing_digest

LOOKBACK = timedelta(minutes=15)  # clock skew and upload latency tolerated
HOT_DAYS = 3  # the newest day folders, listed on every tick
MAX_KEYS_PER_TICK = 10_000  # keys a tick's sweep of older days lists at most
CURSOR_VERSION = 2


@dataclass(frozen=True)
class DayCursor:
    watermark: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)  # key -> token, modified in the window


@dataclass(frozen=True)
class Cursor:
    days: dict[str, DayCursor] = field(default_factory=dict)
    sweep_after: str | None = None  # the last day folder the sweep listed

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": CURSOR_VERSION,
                "sweep_after": self.sweep_after,
                "days": {day: _compact(c) for day, c in sorted(self.days.items())},
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> Cursor:
        """The cursor a sensor stored; anything else (none yet, or an older format such as the
        day string of the old sensor) starts afresh, which is safe: days already ingested
        are recognised by their content digest, not by the cursor."""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("version") != CURSOR_VERSION:
            return cls()
        days = {
            day: DayCursor(
                datetime.fromisoformat(c["watermark"]) if c["watermark"] else None,
                {c["prefix"] + suffix: token for suffix, token in c["seen"].items()},
            )
            for day, c in data["days"].items()
        }
        return cls(days, data.get("sweep_after"))


def _compact(cursor: DayCursor) -> dict[str, object]:
    """A day's cursor as stored: keys without the prefix they share (the day folder)."""
    folders = {key.rsplit("/", 1)[0] + "/" for key in cursor.seen if "/" in key}
    prefix = folders.pop() if len(folders) == 1 and all("/" in k for k in cursor.seen) else ""
    return {
        "watermark": cursor.watermark.isoformat() if cursor.watermark else None,
        "prefix": prefix,
        "seen": {key[len(prefix) :]: token for key, token in cursor.seen.items()},
    }


def new_objects(
    cursor: DayCursor, listing: Iterable[Listed], lookback: timedelta = LOOKBACK
) -> tuple[list[Listed], DayCursor]:
    """The objects of one day folder's complete listing that the cursor has not seen, and the
    cursor after them."""
    listed = list(listing)
    floor = cursor.watermark - lookback if cursor.watermark else None
    new = [
        o
        for o in listed
        if (floor is None or o.last_modified >= floor) and cursor.seen.get(o.key) != o.token
    ]
    times = [o.last_modified for o in listed]
    if cursor.watermark:
        times.append(cursor.watermark)
    watermark = max(times) if times else None
    if watermark is None:
        return new, cursor
    window = watermark - lookback
    seen = {o.key: o.token for o in listed if o.last_modified >= window}
    return new, DayCursor(watermark, seen)


@dataclass(frozen=True)
class Scan:
    """One tick's work: each listed day's full listing and its new objects, the next cursor,
    and what the tick cost."""

    listings: dict[str, list[Listed]]
    new: dict[str, list[Listed]]
    cursor: Cursor
    listed_keys: int
    listed_days: int


def days_to_list(
    days: list[str], cursor: Cursor, hot_days: int = HOT_DAYS
) -> tuple[list[str], list[str]]:
    """(listed on every tick, swept) day folders: the newest `hot_days` and the ones the cursor
    does not know; then the others, round-robin from after where the last sweep stopped."""
    days = sorted(days)
    always = days[len(days) - hot_days :] if hot_days else []
    always += [d for d in days if d not in cursor.days and d not in always]
    rest = [d for d in days if d not in always]
    if cursor.sweep_after is not None:
        rest = [d for d in rest if d > cursor.sweep_after] + [
            d for d in rest if d <= cursor.sweep_after
        ]
    return always, rest


def scan(
    days: list[str],
    cursor: Cursor,
    list_day: Callable[[str], list[Listed]],
    *,
    lookback: timedelta = LOOKBACK,
    hot_days: int = HOT_DAYS,
    max_keys: int = MAX_KEYS_PER_TICK,
) -> Scan:
    """Lists day folders (see `days_to_list`) and finds what is new in each. The sweep stops
    once it has listed `max_keys` keys; a day is listed whole, so it lists at most `max_keys`
    plus one day's keys."""
    always, sweep = days_to_list(days, cursor, hot_days)
    listings: dict[str, list[Listed]] = {}
    new: dict[str, list[Listed]] = {}
    state = {d: c for d, c in cursor.days.items() if d in set(days)}  # folders gone: forgotten
    sweep_after, swept_keys = cursor.sweep_after, 0

    def visit(day: str) -> int:
        listing = listings[day] = list(list_day(day))
        found, state[day] = new_objects(state.get(day, DayCursor()), listing, lookback)
        if found:
            new[day] = found
        return len(listing)

    for day in always:
        visit(day)
    for day in sweep:
        if swept_keys >= max_keys:
            break
        swept_keys += visit(day)
        sweep_after = day
    listed_keys = sum(len(listing) for listing in listings.values())
    return Scan(listings, new, Cursor(state, sweep_after), listed_keys, len(listings))


@dataclass(frozen=True)
class DayRequest:
    day: str
    digest: str  # of the day's objects now: the run key is made from it
    ingested: str | None  # what the day's latest ingest recorded (None: never ingested)
    new_objects: int  # of them, new to the cursor


def days_to_request(
    found: Scan, ingested: Callable[[str], str | None], marker: str | None = None
) -> list[DayRequest]:
    """Every listed day whose objects differ from what its latest ingest recorded (`ingested`
    gives that digest): new objects, late ones, re-modified or deleted ones, or an ingest
    overwritten by an older, slower run. A day ingested with exactly these objects is not
    requested, so a first tick on an existing bucket (or one after a lost cursor) re-runs
    nothing. With a `marker` (e.g. `_SUCCESS`), only days whose folder holds it."""
    out = []
    for day in sorted(found.listings):
        listing = found.listings[day]
        if not listing:
            continue
        if marker is not None and not any(o.key.rsplit("/", 1)[-1] == marker for o in listing):
            continue
        digest, before = listing_digest(listing), ingested(day)
        if digest != before:
            out.append(DayRequest(day, digest, before, len(found.new.get(day, []))))
    return out


DATA_ROOTS = ("photos", "events")  # a day holds data when either has an object for it


def day_has_data(store: ObjectStore, day: str) -> bool:
    """Whether any object landed for `day` (a photo or an event log): a day without one is
    refused by every ingest path, so no empty partitions are published for it."""
    return any(next(iter(store.list(day_folder(root, day))), None) for root in DATA_ROOTS)


def no_data_message(day: str, store_url: str) -> str:
    """What a refused day says, on every launch path (CLI, UI, schedule, sensor)."""
    folders = " or ".join(day_folder(root, day) for root in DATA_ROOTS)
    return (
        f"no data for {day}: nothing under {folders} in {store_url}; nothing was "
        "materialized (land the day's objects first, e.g. `fsdl-data world append`)"
    )


def day_listing(store: ObjectStore, prefix: str) -> list[Listed]:
    """Every object under a day folder as the sensor and the ingest both see it."""
    return list(store.list(prefix))
