"""The test oracle for event cleaning: the rules of `events` / `events_quarantine` written out
line by line in plain Python, sharing no code with the product (`fsdl_data.core.tables.events`,
which is vectorized and must match this row for row: reasons, details, first delivery wins).

Every raw line ends in exactly one of the two outputs: nothing is dropped silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from fsdl_data.core.tables.schemas import EVENTS, QUARANTINE

LATENESS = timedelta(days=2)  # how long before the arrival day an event may have happened
CLOCK_SKEW = timedelta(hours=1)  # how far past the arrival day's end a client clock may run
LINE_LIMIT = 1 << 20  # bytes
TYPES = ("login", "post", "view", "like")
WITH_PHOTO = ("post", "view", "like")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cleaned:
    events: pl.DataFrame
    quarantine: pl.DataFrame


def what_is_wrong(record: object) -> str | None:
    """Why a parsed JSON value is not an event, or None when it is one."""
    if type(record) is not dict:
        return "line is JSON but not an object"
    for name in ("user_id", "photo_id", "ts"):
        value = record.get(name)
        if type(value) is int and not -(2**63) <= value <= 2**63 - 1:
            return f"field {name!r} is out of the 64-bit integer range"
    for name, kind in (("event_id", str), ("event_type", str), ("user_id", int)):
        value = record.get(name)
        if value is None:
            return f"missing required field {name!r}"
        if type(value) is not kind:
            return f"field {name!r} should be {kind.__name__}, got {type(value).__name__}"
    if type(record.get("ts")) not in (str, int):
        return "missing or non-string/non-integer 'ts'"
    if record["event_type"] not in TYPES:
        return f"unknown event_type {record['event_type']!r}"
    photo = record.get("photo_id")
    if photo is not None and type(photo) is not int:
        return f"field 'photo_id' should be int, got {type(photo).__name__}"
    if photo is None and record["event_type"] in WITH_PHOTO:
        return f"{record['event_type']} event without photo_id"
    return None


def moment(ts: str | int) -> datetime | None:
    """When `ts` says the event happened, in UTC: milliseconds since 1970, or an ISO 8601 text
    with a zone (`Z` allowed) as Python's `fromisoformat` reads it; None when it says no moment
    a datetime can hold."""
    try:
        if type(ts) is int:
            return EPOCH + timedelta(milliseconds=ts)
        text = ts.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
        return parsed.astimezone(UTC) if parsed.utcoffset() is not None else None
    except (ValueError, OverflowError):
        return None


def clean_events(raw: pl.DataFrame, day: str) -> Cleaned:
    """The day's raw lines (source_key, line_no, raw bytes) as its events and quarantine."""
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    earliest, end = start - LATENESS, start + timedelta(days=1) + CLOCK_SKEW
    window = f"[{earliest.isoformat()}, {end.isoformat()})"
    events: list[dict] = []
    quarantine: list[dict] = []
    first_text: dict[str, str] = {}  # each kept event id: the text of the line that brought it

    def refuse(source: str, line: int, reason: str, detail: str, text: str) -> None:
        quarantine.append(
            {"source_key": source, "line_no": line, "reason": reason, "detail": detail,
             "raw": text}
        )  # fmt: skip

    for source, line, data in sorted(raw.select("source_key", "line_no", "raw").rows()):
        if line == 0:  # a file that could not be read: its bytes say why
            refuse(source, line, "unreadable_file", data.decode("utf-8", "replace"), "")
            continue
        if len(data) > LINE_LIMIT:
            detail = (
                f"{len(data):,} bytes, over the limit of {LINE_LIMIT:,}; kept whole in raw_events"
            )
            refuse(source, line, "line_too_long", detail, data[:200].decode("utf-8", "replace"))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            refuse(source, line, "invalid_utf8", str(error), data.decode("utf-8", "replace"))
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as error:
            refuse(source, line, "malformed_json", str(error), text)
            continue
        problem = what_is_wrong(record)
        if problem is not None:
            refuse(source, line, "schema_violation", problem, text)
            continue
        ts = record["ts"]
        when = moment(ts)
        if when is None:
            refuse(
                source, line, "bad_timestamp", f"cannot parse ts {None if ts == '' else ts!r}", text
            )
        elif when < earliest:
            refuse(source, line, "too_late", f"ts {when} outside {window}", text)
        elif when >= end:
            refuse(source, line, "future_timestamp", f"ts {when} outside {window}", text)
        elif record["event_id"] in first_text:
            same = first_text[record["event_id"]] == text
            detail = (
                "exact replay of an earlier line" if same else "same event_id, different payload"
            )
            refuse(source, line, "duplicate_event_id", detail, text)
        else:
            first_text[record["event_id"]] = text
            client = record.get("client")
            events.append(
                {"event_id": record["event_id"], "event_type": record["event_type"],
                 "user_id": record["user_id"], "photo_id": record.get("photo_id"), "ts": when,
                 "client": client if type(client) is str else None, "source_key": source,
                 "line_no": line}
            )  # fmt: skip
    return Cleaned(
        events=pl.DataFrame(events, schema=EVENTS, orient="row"),
        quarantine=pl.DataFrame(quarantine, schema=QUARANTINE, orient="row"),
    )
