"""Cleaning raw event-log lines into the `events` table, with a quarantine for the rest.

Every raw line ends in exactly one of the two outputs: nothing is dropped silently. The rules
(reasons, details, the first-delivery-wins duplicate rule) are those of the line-by-line
reference kept in the tests (`fsdl_data_tests/core/tables/events_oracle.py`, plain Python that
shares no code with this module), which this module must match row for row.

Cleaning is vectorized: a line whose shape a regular expression proves simple (a flat JSON
object, no escapes, the known fields each at most once, with the right types) is parsed and typed
in bulk, its timestamp read from its bytes by array arithmetic when it has one of the common
ISO 8601 forms; any other line (bad bytes, malformed JSON, a wrong type, an escape, a nested
value) is read the plain way (`json.loads`, line by line), so the rare bad line costs Python
time and the common good one does not. A day is cleaned in chunks (`EventCleaner`), in
source-key and line order, holding only the event ids seen so far between chunks.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from fsdl_data.core.calendar import day_bounds
from fsdl_data.core.tables.schemas import (
    EVENT_TYPES,
    EVENTS,
    PHOTO_EVENT_TYPES,
    QUARANTINE,
    RAW_EVENTS,
    UTC_TS,
    conform,
    empty,
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


# An integer `ts` (milliseconds since 1970) outside the years a datetime holds (1 to 9999) is a
# `bad_timestamp`, as a text one is: a moment no reader of the table could take.
DATETIME_MS_RANGE = (-62_135_596_800_000, 253_402_300_799_999)
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
    lines = split_lines(body)
    return pl.DataFrame(
        {
            "source_key": pl.Series([source_key], dtype=pl.String).extend_constant(
                source_key, len(lines) - 1
            )
            if len(lines)
            else pl.Series([], dtype=pl.String),
            "line_no": pl.int_range(1, len(lines) + 1, eager=True, dtype=pl.Int64),
            "raw": lines,
        },
        schema=RAW_EVENTS,
    )


def split_lines(body: bytes) -> pl.Series:
    """`body.split(b"\\n")` without a final empty piece, as a Binary series built from the
    newline offsets in bulk (no Python object per line)."""
    if not body:
        return pl.Series("raw", [], dtype=pl.Binary)
    if not body.endswith(b"\n"):
        body += b"\n"
    data = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(data == 10).astype(np.int64) + 1
    offsets = np.concatenate([np.zeros(1, np.int64), ends])
    with_newlines = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(body)]
    )
    return pl.Series("raw", pc.binary_slice(with_newlines, 0, -1), dtype=pl.Binary)


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
    except OverflowError:  # a moment just outside the years datetime can hold, once in UTC
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
    for field_name, typ in _REQUIRED.items():
        if field_name not in rec or rec[field_name] is None:
            return f"missing required field {field_name!r}"
        if not isinstance(rec[field_name], typ) or isinstance(rec[field_name], bool):
            got = type(rec[field_name]).__name__
            return f"field {field_name!r} should be {typ.__name__}, got {got}"
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


_PARSED = {
    "event_id": pl.String, "event_type": pl.String, "user_id": pl.Int64, "photo_id": pl.Int64,
    "ts_str": pl.String, "ts_parsed": UTC_TS, "ts_ms": pl.Int64, "client": pl.String,
    "source_key": pl.String, "line_no": pl.Int64, "raw": pl.String,
}  # fmt: skip


def _read_line(src: str, line_no: int, data: bytes) -> tuple[dict | None, dict | None]:
    """One raw line read the plain way: (a parsed row, None) or (None, a quarantine row)."""
    if line_no == FILE_LINE:
        reason = data.decode("utf-8", "replace")
        return None, _bad(src, line_no, "unreadable_file", reason, "")
    if len(data) > MAX_LINE_BYTES:
        detail = (
            f"{len(data):,} bytes, over the limit of {MAX_LINE_BYTES:,}; kept whole in raw_events"
        )
        preview = data[:200].decode("utf-8", "replace")
        return None, _bad(src, line_no, "line_too_long", detail, preview)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, _bad(src, line_no, "invalid_utf8", str(e), data.decode("utf-8", "replace"))
    try:
        rec = json.loads(text)
    except json.JSONDecodeError as e:
        return None, _bad(src, line_no, "malformed_json", str(e), text)
    problem = _validate(rec)
    if problem:
        return None, _bad(src, line_no, "schema_violation", problem, text)
    ts = rec["ts"]
    return {
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
    }, None


# --- the vectorized reading of simple lines ---------------------------------------------------
_FIELDS = ("event_id", "event_type", "user_id", "photo_id", "ts", "client")
_SPACE = r"[ \t\r]*"  # JSON whitespace inside a line
_STRING = r'"[^"\\\x00-\x1f]*"'  # no escapes, no control characters: its text is its value
_VALUE = rf"(?:{_STRING}|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)"
_PAIR = rf"{_STRING}{_SPACE}:{_SPACE}{_VALUE}{_SPACE}"
# A flat JSON object of simple values: every line that matches is valid JSON for Python too.
_FLAT_OBJECT = rf"^{_SPACE}\{{{_SPACE}(?:{_PAIR}(?:,{_SPACE}{_PAIR})*)?\}}{_SPACE}$"
_INTEGER_TOKEN = r"-?(?:0|[1-9][0-9]{0,17})"  # at most 18 digits: always inside 64 bits
_INTEGER = rf"^{_INTEGER_TOKEN}$"
# The fields in the order of the `events` schema (how the app writes them), each of a type the
# schema accepts: one pass. A line of another order or with other types is read field by field.
_IN_ORDER_TOKENS = {
    "event_id": _STRING,
    "event_type": _STRING,
    "user_id": _INTEGER_TOKEN,
    "photo_id": rf"(?:{_INTEGER_TOKEN}|null)",
    "ts": rf"(?:{_STRING}|{_INTEGER_TOKEN})",
    "client": rf"(?:{_STRING}|null)",
}
_IN_ORDER = (
    rf"^{_SPACE}\{{{_SPACE}"
    + rf",{_SPACE}".join(
        rf'"{name}"{_SPACE}:{_SPACE}(?P<{name}>{token}){_SPACE}'
        for name, token in _IN_ORDER_TOKENS.items()
    )
    + rf"\}}{_SPACE}$"
)
_KNOWN_KEY = rf'"(?:{"|".join(_FIELDS)})"{_SPACE}:'


def _decode_utf8(raw: pl.Series) -> pl.Series:
    """Binary to String, null where the bytes are not UTF-8. One bulk cast when the chunk is
    clean; otherwise halves are tried, so a few bad lines cost a few casts."""
    try:
        return raw.cast(pl.String)
    except pl.exceptions.ComputeError:
        pass
    if len(raw) <= 64:
        values = []
        for data in raw.to_list():
            try:
                values.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                values.append(None)
        return pl.Series(raw.name, values, dtype=pl.String)
    half = len(raw) // 2
    return _decode_utf8(raw.slice(0, half)).append(_decode_utf8(raw.slice(half)))


def _vectorized(chunk: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    """Parsed rows of the chunk's simple lines (schema `_PARSED`; `ts_parsed` null where the
    bulk timestamp reading declined) and the mask of the lines it handled."""
    frame = (
        chunk.select("source_key", "line_no", _decode_utf8(chunk["raw"]).alias("text"))
        .with_row_index("row")
        .filter(
            (pl.col("line_no") != FILE_LINE)
            & (chunk["raw"].bin.size() <= MAX_LINE_BYTES)
            & pl.col("text").is_not_null()
        )
    )
    typed = _flat(frame)
    if not typed["row"].is_sorted():  # the lines in schema order come first
        typed = typed.sort("row")
    typed = typed.with_columns(_iso_timestamps(typed["ts_str"]).alias("ts_parsed"))
    handled = np.zeros(len(chunk), dtype=bool)
    handled[typed["row"].to_numpy()] = True
    return typed.select(list(_PARSED)).cast(_PARSED), handled


def _buffers(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of a String series and each value's start offset into them (n + 1 offsets)."""
    arr = values.fill_null("").to_arrow().cast(pa.large_string())
    _, offsets, data = arr.buffers()
    starts = np.frombuffer(offsets, dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8)
    if not data:
        return np.zeros(0, np.uint8), starts
    return np.frombuffer(data, dtype=np.uint8)[: starts[-1]], starts


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """The typed rows of the lines that are flat JSON objects of simple values in any order and
    spacing (each known field at most once, of a type the schema accepts); any other line
    (bad bytes, malformed JSON, a wrong type, an escape, a nested value) is left out, for the
    plain reading."""
    frame = frame.with_columns(pl.col("text").str.extract_groups(_IN_ORDER).alias("ordered"))
    in_order = pl.col("ordered").struct.field("event_id").is_not_null()
    ordered = frame.filter(in_order).select(
        "row", "source_key", "line_no", "text",
        *[pl.col("ordered").struct.field(name).alias(f"token_{name}") for name in _FIELDS],
    )  # fmt: skip
    others = (
        frame.filter(~in_order)
        .filter(pl.col("text").str.contains(_FLAT_OBJECT))
        .select(
            "row",
            "source_key",
            "line_no",
            "text",
            *[
                pl.col("text")
                .str.extract(rf'"{name}"{_SPACE}:{_SPACE}({_VALUE})', 1)
                .alias(f"token_{name}")
                for name in _FIELDS
            ],
        )
    )
    # a known field named twice: Python keeps the last, leave that to the plain reading
    present = pl.sum_horizontal(pl.col(f"token_{name}").is_not_null() for name in _FIELDS)
    others = others.filter(pl.col("text").str.count_matches(_KNOWN_KEY) == present)
    tokens = pl.concat([ordered, others])

    def is_string(name: str) -> pl.Expr:
        return pl.col(f"token_{name}").str.starts_with('"').fill_null(False)

    def is_integer(name: str) -> pl.Expr:
        return pl.col(f"token_{name}").str.contains(_INTEGER).fill_null(False)

    def content(name: str) -> pl.Expr:
        return pl.col(f"token_{name}").str.slice(1).str.strip_suffix('"')

    photo_null = pl.col("token_photo_id").is_null() | (pl.col("token_photo_id") == "null")
    event_type = content("event_type")
    good = (
        is_string("event_id")
        & is_string("event_type")
        & event_type.is_in(EVENT_TYPES).fill_null(False)
        & is_integer("user_id")
        & (photo_null | is_integer("photo_id"))
        & (~event_type.is_in(tuple(PHOTO_EVENT_TYPES)).fill_null(False) | ~photo_null)
        & (is_string("ts") | is_integer("ts"))
    )
    typed = tokens.filter(good).select(
        "row",
        content("event_id").alias("event_id"),
        event_type.alias("event_type"),
        pl.col("token_user_id").cast(pl.Int64).alias("user_id"),
        pl.when(photo_null).then(None).otherwise(pl.col("token_photo_id")).cast(pl.Int64)
        .alias("photo_id"),
        pl.when(is_string("ts")).then(content("ts")).alias("ts_str"),
        pl.when(is_integer("ts")).then(pl.col("token_ts")).cast(pl.Int64).alias("ts_ms"),
        pl.when(is_string("client")).then(content("client")).alias("client"),
        "source_key", "line_no", pl.col("text").alias("raw"),
    )  # fmt: skip
    return typed


_WIDTH = 32  # the longest timestamp text read in bulk: 2026-01-02T03:04:05.123456+05:30 is 32
_ZERO, _MINUS = ord("0"), ord("-")
_DATE_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)  # in YYYY-MM-DDTHH:MM:SS
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_PAST_DATETIME_US = 253_402_300_800_000_000  # 10000-01-01T00:00:00Z, past a datetime's years


def _iso_timestamps(ts: pl.Series) -> pl.Series:
    """The common ISO 8601 forms (`YYYY-MM-DD`, `T` or space, `HH:MM:SS`, an optional fraction
    of 1 to 6 digits, then `Z`, `z` or `+HH:MM`/`-HH:MM`) in UTC, read in bulk from the bytes,
    texts of one length at a time; null where the text is of another form, names no such moment
    (2026-02-30, 24:00), has a year before 1000, or lies past the years a datetime holds: the
    plain `parse_timestamp` then decides."""
    data, offsets = _buffers(ts)
    lengths = np.diff(offsets)
    micros = np.zeros(len(ts), dtype=np.int64)
    ok = np.zeros(len(ts), dtype=bool)
    for length in np.unique(lengths[(lengths >= 20) & (lengths <= _WIDTH)]).tolist():
        rows = np.flatnonzero(lengths == length)
        first = offsets[rows]
        if first[-1] - first[0] == (len(rows) - 1) * length:  # one after the other: a view
            matrix = data[first[0] : first[0] + len(rows) * length].reshape(len(rows), length)
        else:
            matrix = data[first[:, None] + np.arange(length)]
        micros[rows], ok[rows] = _iso_of_length(matrix)
    return (
        pl.Series(ts.name, micros, dtype=pl.Int64)
        .scatter(np.flatnonzero(~ok), None)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    )


def _iso_of_length(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds since 1970 in UTC, whether read) of timestamp texts of one length, a row
    of bytes each: `_iso_timestamps`."""
    n, length = c.shape
    c = np.ascontiguousarray(c.T).T  # column by column in memory: each is read whole below
    digit = (c >= _ZERO) & (c <= ord("9"))
    value = c.astype(np.int64) - _ZERO

    def number(first: int, count: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        for col in range(first, first + count):
            out = out * 10 + value[:, col]
        return out

    ok = digit[:, _DATE_DIGITS].all(axis=1) & (c[:, 0] != _ZERO)
    ok &= (c[:, 4] == _MINUS) & (c[:, 7] == _MINUS) & (c[:, 13] == ord(":"))
    ok &= ((c[:, 10] == ord("T")) | (c[:, 10] == ord(" "))) & (c[:, 16] == ord(":"))
    # the zone: `Z` as the last byte, or `+HH:MM` as the last six
    utc = (c[:, -1] == ord("Z")) | (c[:, -1] == ord("z"))
    sign = c[:, length - 6]
    signed = ~utc & ((sign == ord("+")) | (sign == ord("-")))
    if length >= 25:
        signed &= digit[:, [length - 5, length - 4, length - 2, length - 1]].all(axis=1)
        signed &= c[:, length - 3] == ord(":")
        offset_h = value[:, length - 5] * 10 + value[:, length - 4]
        offset_m = value[:, length - 2] * 10 + value[:, length - 1]
        signed &= (offset_h <= 23) & (offset_m <= 59)
        offset_min = np.where(
            signed, np.where(sign == ord("-"), -1, 1) * (offset_h * 60 + offset_m), 0
        )
    else:
        signed[:] = False
        offset_min = np.zeros(n, dtype=np.int64)
    zone = np.where(utc, length - 1, length - 6)  # where the zone begins
    fraction_digits = zone - 20  # after the dot at 19; none when the zone begins at 19
    fraction = np.zeros(n, dtype=np.int64)
    has_fraction = (fraction_digits >= 1) & (fraction_digits <= 6)
    if length > 20:
        has_fraction &= c[:, 19] == ord(".")
        for k in range(min(6, length - 20)):  # the digits after the dot, as microseconds
            inside = k < fraction_digits
            has_fraction &= ~inside | digit[:, 20 + k]
            fraction += np.where(inside, value[:, 20 + k], 0) * 10 ** (5 - k)
    ok &= (utc | signed) & ((zone == 19) | has_fraction)
    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute, second = number(11, 2), number(14, 2), number(17, 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month - 1, 0, 11)] + (leap & (month == 2))
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    # days since 1970-01-01 of the proleptic Gregorian date (H. Hinnant's days_from_civil)
    y = year - (month <= 2)
    era, yoe = y // 400, y % 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    micros = (((days * 24 + hour) * 60 + minute) * 60 + second) * 1_000_000 + fraction
    micros -= offset_min * 60_000_000
    ok &= micros < _PAST_DATETIME_US
    return np.where(ok, micros, 0), ok


class SeenIds:
    """The event ids of a day seen so far, each as a 128-bit key (two independent 64-bit
    hashes of the id) beside a 64-bit hash of the line that first delivered it: 24 bytes an
    id, whatever its length, and no id text kept. Two ids are taken as one when both hashes
    agree: on a 20M-line day that misjudges a pair with odds of about 1e-24 (the replay test
    across chunks was already a 64-bit hash comparison). Kept as sorted runs merged while
    similar in size (a chunk is looked up in time that grows with the chunk, not the day);
    a run past `FROZEN` keys is merged no more, so a merge never copies more than that."""

    FROZEN = 1 << 22

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(run[0]) for run in self._runs)

    @staticmethod
    def _keys(event_ids: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        return event_ids.hash(seed=0).to_numpy(), event_ids.hash(seed=1).to_numpy()

    def add(self, event_ids: pl.Series, first_hashes: np.ndarray) -> None:
        """Remember ids not seen before (each once) and their first lines' hashes."""
        if not len(event_ids):
            return
        high, low = self._keys(event_ids)
        order = np.argsort(high, kind="stable")
        self._runs.append((high[order], low[order], first_hashes[order]))
        runs = self._runs
        while (
            len(runs) > 1
            and len(runs[-2][0]) < self.FROZEN
            and len(runs[-2][0]) <= 2 * len(runs[-1][0])
        ):
            newer, older = runs.pop(), runs.pop()
            merged = [np.concatenate([o, n]) for o, n in zip(older, newer, strict=True)]
            order = np.argsort(merged[0], kind="stable")
            runs.append(tuple(column[order] for column in merged))  # type: ignore[arg-type]

    def find(self, event_ids: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """(whether seen, the first line's hash where seen) for each of `event_ids`."""
        seen = np.zeros(len(event_ids), dtype=bool)
        first = np.zeros(len(event_ids), dtype=np.uint64)
        if not self._runs or not len(event_ids):
            return seen, first
        high, low = self._keys(event_ids)
        order = np.argsort(high)  # searched in order, the runs are read front to back
        high, low = high[order], low[order]
        for run_high, run_low, run_first in self._runs:
            at = np.minimum(np.searchsorted(run_high, high), len(run_high) - 1)
            hit = (run_high[at] == high) & (run_low[at] == low)
            seen[order[hit]], first[order[hit]] = True, run_first[at[hit]]
            # ids whose first hash is shared by the next key in the run: rare
            shared = np.flatnonzero(
                ~hit & (run_high[np.minimum(at + 1, len(run_high) - 1)] == high)
            )
            for row in shared:
                right = np.searchsorted(run_high, high[row], side="right")
                within = np.flatnonzero(run_low[at[row] : right] == low[row])
                if len(within):
                    seen[order[row]], first[order[row]] = True, run_first[at[row] + within[0]]
        return seen, first


@dataclass
class EventCleaner:
    """Cleans a day's raw lines chunk by chunk. Chunks must come in (source_key, line_no) order
    (a file's lines whole, files in key order): the first delivery of an event id is then the
    first in the day, as in the reference, which sorts the whole day. Between chunks it keeps
    only `SeenIds`: 24 bytes per event id, no id text, so a 20M-line day holds about 480 MB."""

    day: str
    _seen: SeenIds = field(default_factory=SeenIds)
    _last: tuple[str, int] | None = None

    def _earlier(self, event_ids: pl.Series) -> pl.DataFrame:
        """(event_id, first_hash) of the ids among `event_ids` seen in earlier chunks."""
        seen, first = self._seen.find(event_ids)
        return pl.DataFrame(
            {"event_id": event_ids.filter(pl.Series(seen)), "first_hash": first[seen]},
            schema={"event_id": pl.String, "first_hash": pl.UInt64},
        ).unique("event_id", keep="first", maintain_order=True)

    def _remember(self, firsts: pl.DataFrame) -> None:
        self._seen.add(firsts["event_id"], firsts["first_hash"].to_numpy())

    @property
    def window(self) -> tuple[datetime, datetime]:
        start, end = day_bounds(self.day)
        return start - ALLOWED_LATENESS, end + FUTURE_TOLERANCE

    def clean(self, raw: pl.DataFrame) -> Cleaned:
        if not _in_order(raw):
            raw = raw.sort("source_key", "line_no")
        if len(raw):
            first = (raw["source_key"][0], raw["line_no"][0])
            if self._last is not None and first <= self._last:
                raise ValueError(
                    f"raw lines out of order: {first} after {self._last}; "
                    "feed a day's chunks in source_key and line_no order"
                )
            self._last = (raw["source_key"][-1], raw["line_no"][-1])
        parsed, handled = _vectorized(raw)
        good, bad = [], []
        for src, line_no, data in raw.filter(pl.Series(~handled)).iter_rows():
            row, quarantined = _read_line(src, line_no, data)
            if row is not None:
                good.append(row)
            else:
                bad.append(quarantined)
        df = pl.concat([parsed, pl.DataFrame(good, schema=_PARSED)]) if good else parsed
        undecided = df["ts_parsed"].is_null() & df["ts_str"].is_not_null()
        if undecided.any():
            df = df.with_columns(
                pl.when(undecided)
                .then(
                    pl.col("ts_str").map_elements(
                        parse_timestamp, return_dtype=UTC_TS, skip_nulls=True
                    )
                )
                .otherwise(pl.col("ts_parsed"))
                .alias("ts_parsed")
            )
        df = df.with_columns(
            pl.coalesce(
                pl.col("ts_parsed"),
                pl.when(pl.col("ts_ms").is_between(*DATETIME_MS_RANGE)).then(
                    pl.from_epoch(pl.col("ts_ms"), time_unit="ms").dt.replace_time_zone("UTC")
                ),
            )
            .cast(UTC_TS)
            .alias("ts")
        )
        lo, hi = self.window
        df = df.with_columns(
            pl.when(pl.col("ts").is_null())
            .then(pl.lit("bad_timestamp"))
            .when(pl.col("ts") < lo)
            .then(pl.lit("too_late"))
            .when(pl.col("ts") >= hi)
            .then(pl.lit("future_timestamp"))
            .alias("reason")
        )
        if good:  # the lines read the plain way come after the others: put them in place
            df = df.sort("source_key", "line_no")
        df = self._mark_duplicates(df)
        flagged = df.filter(pl.col("reason").is_not_null())
        for row in flagged.iter_rows(named=True):
            if row["reason"] == "duplicate_event_id":
                detail = (
                    "exact replay of an earlier line"
                    if row["replay"]
                    else "same event_id, different payload"
                )
            elif row["reason"] == "bad_timestamp":
                detail = f"cannot parse ts {row['ts_str'] or row['ts_ms']!r}"
            else:
                detail = f"ts {row['ts']} outside [{lo.isoformat()}, {hi.isoformat()})"
            bad.append(_bad(row["source_key"], row["line_no"], row["reason"], detail, row["raw"]))
        events = df.filter(pl.col("reason").is_null()).select(list(EVENTS)).cast(EVENTS)
        quarantine = conform(bad, QUARANTINE).sort("source_key", "line_no")
        return Cleaned(events=events, quarantine=quarantine)

    def _mark_duplicates(self, df: pl.DataFrame) -> pl.DataFrame:
        """The first valid delivery of an event id wins; a later one is `duplicate_event_id`,
        marked `replay` when its line is byte for byte the first one's."""
        valid = pl.col("reason").is_null()
        df = df.with_columns(pl.col("raw").hash().alias("raw_hash"))
        earlier = self._earlier(df.filter(valid)["event_id"])
        df = df.with_columns(
            (
                valid
                & ~pl.col("event_id").is_in(earlier["event_id"].implode())
                & pl.struct("event_id", valid.alias("v")).is_first_distinct()
            ).alias("first")
        )
        firsts = df.filter("first").select(
            "event_id", "raw", pl.col("raw_hash").alias("first_hash")
        )
        duplicates = valid & ~pl.col("first")
        if df.select(duplicates.any()).item():
            earlier = pl.concat([earlier, firsts.select("event_id", "first_hash")])
            df = (
                df.join(
                    firsts.select("event_id", pl.col("raw").alias("first_raw")),
                    on="event_id",
                    how="left",
                )
                .join(earlier, on="event_id", how="left")
                .with_columns(
                    pl.when(pl.col("first_raw").is_not_null())
                    .then(pl.col("first_raw") == pl.col("raw"))
                    .otherwise(pl.col("first_hash") == pl.col("raw_hash"))
                    .alias("replay")
                )
                .sort("source_key", "line_no")
            )
        else:
            df = df.with_columns(pl.lit(None, pl.Boolean).alias("replay"))
        df = df.with_columns(
            pl.when(duplicates)
            .then(pl.lit("duplicate_event_id"))
            .otherwise("reason")
            .alias("reason")
        )
        self._remember(firsts.select("event_id", "first_hash"))
        return df


def _in_order(raw: pl.DataFrame) -> bool:
    """Whether the rows are one file's lines in line order (a chunk as `file_slices` cuts it),
    so that sorting them would change nothing."""
    if len(raw) < 2:
        return True
    keys = raw["source_key"]
    return (
        keys[0] == keys[-1]
        and keys.n_unique() == 1
        and bool((raw["line_no"].diff(null_behavior="drop") > 0).all())
    )


def clean_events(raw: pl.DataFrame, day: str) -> Cleaned:
    """Parse, validate, normalise timestamps to UTC, drop duplicates into quarantine.

    `day` is the arrival partition: events older than ALLOWED_LATENESS before it, or
    later than its end plus FUTURE_TOLERANCE, are quarantined. Cleaned file by file, so the
    cleaning's intermediate columns are those of one file, not of the whole day.
    """
    pieces = list(clean_in_chunks(file_slices(raw), day))
    if len(pieces) <= 1:
        return pieces[0] if pieces else EventCleaner(day).clean(raw)
    return Cleaned(
        events=pl.concat([piece.events for piece in pieces]),
        quarantine=pl.concat([piece.quarantine for piece in pieces]),
    )


def file_slices(raw: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """A day's raw lines as one zero-copy slice per source file, in (source_key, line_no)
    order: the chunks `EventCleaner` takes."""
    raw = raw.sort("source_key", "line_no")
    runs = raw.select(pl.col("source_key").rle_id().alias("run"))["run"]
    ends = np.flatnonzero(np.diff(runs.to_numpy())) + 1 if len(raw) else np.zeros(0, np.int64)
    starts = [0, *ends.tolist()]
    for start, end in zip(starts, [*ends.tolist(), len(raw)], strict=True):
        if end > start:
            yield raw.slice(start, end - start)


def clean_batches(batches: Iterable[pl.DataFrame], day: str) -> Iterator[Cleaned]:
    """`clean_in_chunks` over a day read in ordered batches (a table's row groups), each cut
    into its files first."""
    return clean_in_chunks((piece for batch in batches for piece in file_slices(batch)), day)


def clean_in_chunks(chunks: Iterable[pl.DataFrame], day: str) -> Iterator[Cleaned]:
    """`clean_events` over a day given in ordered chunks, one `Cleaned` per chunk: together
    they are exactly `clean_events` of the whole day, in bounded memory."""
    cleaner = EventCleaner(day)
    for chunk in chunks:
        yield cleaner.clean(chunk)


__all__ = [
    "Cleaned", "EventCleaner", "clean_batches", "clean_events", "clean_in_chunks", "empty", "file_slices",
    "read_log_lines",
]  # fmt: skip
