"""The test oracle for event cleaning: the line-by-line implementation that was the product
until cleaning was vectorized (`fsdl_data.core.tables.events`), kept unchanged as the reference
the vectorized one must match row for row (reasons, details, first-delivery-wins duplicates).

Every raw line ends in exactly one of the two outputs: nothing is dropped silently.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from fsdl_data.core.tables.schemas import (
    EVENT_TYPES,
    EVENTS,
    PHOTO_EVENT_TYPES,
    QUARANTINE,
    RAW_EVENTS,
    UTC_TS,
    conform,
)

ALLOWED_LATENESS = timedelta(days=2)  # events delivered this late are kept in the arrival day
FUTURE_TOLERANCE = timedelta(hours=1)  # client clocks run a little fast
_REQUIRED = {"event_id": str, "event_type": str, "user_id": int}


@dataclass(frozen=True)
class Cleaned:
    events: pl.DataFrame
    quarantine: pl.DataFrame

    @property
    def reason_counts(self) -> dict[str, int]:
        counts = self.quarantine.group_by("reason").len().sort("reason")
        return dict(zip(counts["reason"], counts["len"], strict=True))


MAX_LINE_BYTES = 1 << 20  # longer lines are quarantined (`line_too_long`), not parsed
MAX_LOG_BYTES = 1 << 30  # a log file that inflates past this is refused (a gzip bomb)
FILE_LINE = 0  # a raw row with line_no 0 stands for a whole file that could not be read


def read_log_lines(source_key: str, gz: bytes) -> pl.DataFrame:
    """A gzipped JSON-lines file as raw rows: bytes kept as they are, bad bytes included. A
    file that is not gzip or inflates past MAX_LOG_BYTES becomes one row, line 0, whose bytes
    say why: it is quarantined downstream, never dropped."""
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        body = inflater.decompress(gz, MAX_LOG_BYTES + 1)
        if len(body) > MAX_LOG_BYTES or inflater.unconsumed_tail:
            raise ValueError(f"inflates past the limit of {MAX_LOG_BYTES:,} bytes (a gzip bomb?)")
        if not inflater.eof:
            raise ValueError("the gzip stream is truncated")
    except zlib.error as e:
        return unreadable_file(source_key, f"not a gzip file, or a damaged one ({e})")
    except ValueError as e:
        return unreadable_file(source_key, str(e))
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return pl.DataFrame(
        {
            "source_key": [source_key] * len(lines),
            "line_no": list(range(1, len(lines) + 1)),
            "raw": lines,
        },
        schema=RAW_EVENTS,
    )


def unreadable_file(source_key: str, reason: str) -> pl.DataFrame:
    """The raw row (line 0) standing for a file that could not be read at all."""
    return pl.DataFrame(
        {"source_key": [source_key], "line_no": [FILE_LINE], "raw": [reason.encode()]},
        schema=RAW_EVENTS,
    )


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 timestamp as a client may send it (`Z` or an offset, `T` or a space,
    any fraction of a second) in UTC; None when it is not one or has no offset (a local
    time we cannot place)."""
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # the one change: it crashed on a moment outside datetime's years
        return None


def _bad(row_src: str, line_no: int, reason: str, detail: str, raw: str) -> dict:
    return {
        "source_key": row_src,
        "line_no": line_no,
        "reason": reason,
        "detail": detail,
        "raw": raw,
    }


_INT64 = 1 << 63


def _validate(rec: object) -> str | None:
    if not isinstance(rec, dict):
        return "line is JSON but not an object"
    for name in ("user_id", "photo_id", "ts"):
        value = rec.get(name)
        if isinstance(value, int) and not -_INT64 <= value < _INT64:
            return f"field {name!r} is out of the 64-bit integer range"
    for field, typ in _REQUIRED.items():
        if field not in rec or rec[field] is None:
            return f"missing required field {field!r}"
        if not isinstance(rec[field], typ) or isinstance(rec[field], bool):
            return f"field {field!r} should be {typ.__name__}, got {type(rec[field]).__name__}"
    if "ts" not in rec or not isinstance(rec["ts"], (str, int)) or isinstance(rec["ts"], bool):
        return "missing or non-string/non-integer 'ts'"
    if rec["event_type"] not in EVENT_TYPES:
        return f"unknown event_type {rec['event_type']!r}"
    pid = rec.get("photo_id")
    if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool)):
        return f"field 'photo_id' should be int, got {type(pid).__name__}"
    if rec["event_type"] in PHOTO_EVENT_TYPES and pid is None:
        return f"{rec['event_type']} event without photo_id"
    return None


def clean_events(raw: pl.DataFrame, day: str) -> Cleaned:
    """Parse, validate, normalise timestamps to UTC, drop duplicates into quarantine.

    `day` is the arrival partition: events older than ALLOWED_LATENESS before it, or
    later than its end plus FUTURE_TOLERANCE, are quarantined.
    """
    good: list[dict] = []
    bad: list[dict] = []
    for src, line_no, data in raw.select("source_key", "line_no", "raw").iter_rows():
        if line_no == FILE_LINE:
            reason = data.decode("utf-8", "replace")
            bad.append(_bad(src, line_no, "unreadable_file", reason, ""))
            continue
        if len(data) > MAX_LINE_BYTES:
            detail = f"{len(data):,} bytes, over the limit of {MAX_LINE_BYTES:,}; kept whole in raw_events"
            preview = data[:200].decode("utf-8", "replace")
            bad.append(_bad(src, line_no, "line_too_long", detail, preview))
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            bad.append(_bad(src, line_no, "invalid_utf8", str(e), data.decode("utf-8", "replace")))
            continue
        try:
            rec = json.loads(text)
        except json.JSONDecodeError as e:
            bad.append(_bad(src, line_no, "malformed_json", str(e), text))
            continue
        problem = _validate(rec)
        if problem:
            bad.append(_bad(src, line_no, "schema_violation", problem, text))
            continue
        ts = rec["ts"]
        good.append(
            {
                "event_id": rec["event_id"],
                "event_type": rec["event_type"],
                "user_id": rec["user_id"],
                "photo_id": rec.get("photo_id"),
                "ts_str": ts if isinstance(ts, str) else None,
                "ts_parsed": parse_timestamp(ts) if isinstance(ts, str) else None,
                "ts_ms": ts if isinstance(ts, int) else None,
                "client": rec.get("client") if isinstance(rec.get("client"), str) else None,
                "source_key": src,
                "line_no": line_no,
                "raw": text,
            }
        )
    df = pl.DataFrame(
        good,
        schema={
            "event_id": pl.String, "event_type": pl.String, "user_id": pl.Int64,
            "photo_id": pl.Int64, "ts_str": pl.String, "ts_parsed": UTC_TS, "ts_ms": pl.Int64,
            "client": pl.String,
            "source_key": pl.String, "line_no": pl.Int64, "raw": pl.String,
        },
    )  # fmt: skip
    df = df.with_columns(
        pl.coalesce(
            pl.col("ts_parsed"),
            # an integer outside the years a datetime holds is a bad timestamp, as a text one
            # is (added when a random line of year 10000 crashed both readings)
            pl.when(pl.col("ts_ms").is_between(-62_135_596_800_000, 253_402_300_799_999)).then(
                pl.from_epoch(pl.col("ts_ms"), time_unit="ms").dt.replace_time_zone("UTC")
            ),
        )
        .cast(UTC_TS)
        .alias("ts")
    )
    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
    lo, hi = start - ALLOWED_LATENESS, start + timedelta(days=1) + FUTURE_TOLERANCE
    df = df.with_columns(
        pl.when(pl.col("ts").is_null())
        .then(pl.lit("bad_timestamp"))
        .when(pl.col("ts") < lo)
        .then(pl.lit("too_late"))
        .when(pl.col("ts") >= hi)
        .then(pl.lit("future_timestamp"))
        .alias("reason")
    ).sort("source_key", "line_no")
    # duplicates: the first delivery wins; later ones say whether they were exact replays
    first = df.filter(pl.col("reason").is_null()).unique(
        "event_id", keep="first", maintain_order=True
    )
    first_raw = dict(zip(first["event_id"], first["raw"], strict=True))
    dup_mask = pl.col("reason").is_null() & ~pl.struct("source_key", "line_no").is_in(
        first.select(pl.struct("source_key", "line_no")).to_series().implode()
    )
    df = df.with_columns(
        pl.when(dup_mask).then(pl.lit("duplicate_event_id")).otherwise("reason").alias("reason")
    )
    for row in df.filter(pl.col("reason").is_not_null()).iter_rows(named=True):
        if row["reason"] == "duplicate_event_id":
            same = first_raw.get(row["event_id"]) == row["raw"]
            detail = (
                "exact replay of an earlier line" if same else "same event_id, different payload"
            )
        elif row["reason"] == "bad_timestamp":
            detail = f"cannot parse ts {row['ts_str'] or row['ts_ms']!r}"
        else:
            detail = f"ts {row['ts']} outside [{lo.isoformat()}, {hi.isoformat()})"
        bad.append(_bad(row["source_key"], row["line_no"], row["reason"], detail, row["raw"]))
    events = df.filter(pl.col("reason").is_null()).select(list(EVENTS)).cast(EVENTS)
    quarantine = conform(bad, QUARANTINE).sort("source_key", "line_no")
    return Cleaned(events=events, quarantine=quarantine)
