"""Event cleaning against a naive, obviously-correct reference, on generated and edge-case data."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.tables.events import (
    ALLOWED_LATENESS,
    FUTURE_TOLERANCE,
    Cleaned,
    clean_events,
    clean_in_chunks,
    read_log_lines,
)
from fsdl_data.core.tables.schemas import EVENTS, QUARANTINE, RAW_EVENTS
from fsdl_data.core.tables.sources import log_lines
from fsdl_data.core.world.generator import seed_world
from fsdl_data_tests.core.tables import events_oracle
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


# --- the vectorized cleaning against the line-by-line reference it replaced -------------------
def assert_same_as_reference(raw: pl.DataFrame, day: str, out: Cleaned | None = None) -> Cleaned:
    out = clean_events(raw, day) if out is None else out
    expected = events_oracle.clean_events(raw, day)
    assert_frame_equal(out.events, expected.events)
    assert_frame_equal(out.quarantine, expected.quarantine)
    return out


def per_file_chunks(raw: pl.DataFrame, day: str) -> Cleaned:
    """A day cleaned file by file (the streaming path), the pieces put back together."""
    files = raw.sort("source_key", "line_no").partition_by("source_key", maintain_order=True)
    pieces = list(clean_in_chunks(files, day))
    if not pieces:
        return clean_events(raw.head(0), day)
    return Cleaned(
        events=pl.concat([piece.events for piece in pieces]),
        quarantine=pl.concat([piece.quarantine for piece in pieces]),
    )


@pytest.mark.parametrize(("seed", "defects"), [(7, False), (7, True), (11, True), (23, True)])
def test_same_as_reference_on_generated_days_whole_and_file_by_file(
    tmp_path: Path, seed: int, defects: bool
) -> None:
    from fsdl_data.core.world import generator

    spec = replace(SMALL, seed=seed, defects=defects, events_per_day=4000)
    store = LocalObjectStore(tmp_path / "obj")
    # small log files, so duplicates and replays cross file (chunk) boundaries
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generator, "LINES_PER_LOG_FILE", 700)
        seed_world(spec, 2, store, AppDatabase(f"sqlite:///{tmp_path}/a.db"), tmp_path / "t")
    raw = log_lines(store, "2026-01-02")
    assert raw["source_key"].n_unique() > 3
    whole = assert_same_as_reference(raw, "2026-01-02")
    assert_same_as_reference(raw, "2026-01-02", per_file_chunks(raw, "2026-01-02"))
    if defects:
        assert whole.reason_counts.get("duplicate_event_id", 0) > 0


def test_a_day_cleaned_from_the_lake_row_group_by_row_group(tmp_path: Path) -> None:
    """The streaming path of the `events` asset: `raw_events` written file by file as row
    groups, read back one group at a time and cleaned: the same as the reference."""
    from fsdl_data.core.storage.lake import Lake, parquet_batches
    from fsdl_data.core.tables.events import clean_batches
    from fsdl_data.core.tables.sources import log_files
    from fsdl_data.core.world import generator

    store = LocalObjectStore(tmp_path / "obj")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(generator, "LINES_PER_LOG_FILE", 300)
        spec = replace(SMALL, defects=True, events_per_day=1500)
        seed_world(spec, 2, store, AppDatabase(f"sqlite:///{tmp_path}/a.db"), tmp_path / "t")
    lake = Lake(LocalObjectStore(tmp_path / "lake"))
    data, rows = parquet_batches(log_files(store, "2026-01-02"), RAW_EVENTS)
    lake.write_bytes("raw_events", data, "2026-01-02")
    assert len(list(lake.read_batches("raw_events", "2026-01-02"))) > 3
    pieces = list(clean_batches(lake.read_batches("raw_events", "2026-01-02"), "2026-01-02"))
    streamed = Cleaned(
        events=pl.concat([piece.events for piece in pieces]),
        quarantine=pl.concat([piece.quarantine for piece in pieces]),
    )
    raw = lake.read("raw_events", "2026-01-02")
    assert len(raw) == rows
    assert_same_as_reference(raw, "2026-01-02", streamed)


def test_a_clean_day_is_read_in_bulk_not_line_by_line(tmp_path: Path) -> None:
    """Python reads only the rare line the bulk reading declines: on a day without defects,
    none, whatever the order of fields and the spacing a client writes."""
    from fsdl_data.core.tables.events import _vectorized

    store = LocalObjectStore(tmp_path / "obj")
    seed_world(SMALL, 2, store, AppDatabase(f"sqlite:///{tmp_path}/a.db"), tmp_path / "t")
    raw = log_lines(store, "2026-01-02")
    reordered = raw.with_columns(
        pl.col("raw")
        .cast(pl.String)
        .map_elements(
            lambda text: json.dumps(dict(reversed(list(json.loads(text).items())))),
            return_dtype=pl.String,
        )
        .cast(pl.Binary)
    )
    for frame in (raw, reordered):
        _, handled = _vectorized(frame)
        assert handled.all()
        assert_same_as_reference(frame, "2026-01-02")


def test_duplicates_across_chunks_keep_the_first_delivery() -> None:
    line = b'{"event_id":"a","event_type":"login","user_id":1,"ts":"2026-01-02T01:00:00Z"}'
    other = line.replace(b'"user_id":1', b'"user_id":2')
    files = [
        read_log_lines("events/date=2026-01-02/a.jsonl.gz", gzip.compress(line + b"\n")),
        read_log_lines("events/date=2026-01-02/b.jsonl.gz", gzip.compress(line + b"\n" + other)),
    ]
    pieces = list(clean_in_chunks(files, "2026-01-02"))
    assert [len(piece.events) for piece in pieces] == [1, 0]
    assert pieces[1].quarantine["detail"].to_list() == [
        "exact replay of an earlier line",
        "same event_id, different payload",
    ]
    with pytest.raises(ValueError, match="out of order"):
        list(clean_in_chunks(list(reversed(files)), "2026-01-02"))


_KNOWN = ("event_id", "event_type", "user_id", "photo_id", "ts", "client")
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.integers(min_value=1_700_000_000_000, max_value=1_800_000_000_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["login", "post", "view", "like", "teleport", "Login", ""]),
)
_timestamps = st.builds(
    lambda moment, sep, fraction, zone: moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S") + fraction + zone,
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.sampled_from(["T", " ", "t", "_"]),
    st.sampled_from(["", ".5", ".123", ".123456", ".1234567", ",5"]),
    st.sampled_from(["Z", "z", "+00:00", "-05:00", "+05:30", "+0530", "+05", "+24:00", "", " "]),
)
_any_date = st.builds(  # any year, month and day of month: some name no such day (2100-02-29)
    lambda year, month, day, zone: f"{year:04d}-{month:02d}-{day:02d}T12:00:00{zone}",
    st.integers(1, 9999),
    st.integers(1, 12),
    st.integers(28, 31),
    st.sampled_from(["Z", "-13:00", "+14:00"]),
)
_near_day = st.datetimes(
    min_value=datetime(2025, 12, 29), max_value=datetime(2026, 1, 4), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())
_records = st.dictionaries(
    st.sampled_from([*_KNOWN, "extra", "ts "]),
    st.one_of(_scalars, _timestamps, _near_day, st.lists(st.integers(), max_size=2)),
    max_size=8,
)


@st.composite
def _lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "record", "mutated", "good", "good", "good"]))
    if kind == "bytes":
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    record = draw(_records)
    if kind == "good":  # a valid line, or one a single field away from it
        record = {
            "event_id": draw(st.sampled_from(["a", "b", "c", "é", 'q"uote', "back\\slash"])),
            "event_type": draw(st.sampled_from(["login", "post", "view", "like"])),
            "user_id": draw(st.integers(-5, 5)),
            "photo_id": draw(st.one_of(st.none(), st.integers(0, 9))),
            "ts": draw(
                st.one_of(
                    _near_day,
                    _timestamps,
                    _any_date,
                    st.integers(1_767_000_000_000, 1_767_600_000_000),
                )
            ),
            **({"client": draw(st.text(max_size=3))} if draw(st.booleans()) else {}),
        }
        if draw(st.integers(0, 3)) == 0:
            spoiled = draw(st.sampled_from(_KNOWN))
            record[spoiled] = draw(_scalars)
        if draw(st.integers(0, 3)) == 0 and "photo_id" in record:
            del record["photo_id"]
        keys = draw(  # the schema's order (the compact fast path's form) or any other
            st.one_of(st.just([k for k in _KNOWN if k in record]), st.permutations(list(record)))
        )
        record = {key: record[key] for key in keys}
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\t", " :\r")]))
    text = json.dumps(record, separators=separators, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 4)) == 0:  # a known key twice: Python keeps the last
        text = text.replace("{", '{"event_id": "dup", ', 1)
    data = text.encode()
    if kind == "mutated" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(max_size=3)).replace(b"\n", b"") + data[at + 1 :]
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_lines(), max_size=12), st.integers(1, 3))
def test_same_as_reference_on_random_lines(lines: list[bytes], files: int) -> None:
    keys = [f"events/date=2026-01-02/part-{i}.jsonl.gz" for i in range(files)]
    raw = pl.concat(
        [
            read_log_lines(key, gzip.compress(b"\n".join(lines[i::files]) + b"\n"))
            for i, key in enumerate(keys)
        ]
    )
    assert_same_as_reference(raw, "2026-01-02")
    assert_same_as_reference(raw, "2026-01-02", per_file_chunks(raw, "2026-01-02"))


_edge_texts = st.one_of(  # printable ASCII and DEL, quotes and backslashes included; any text
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7F), max_size=14),
    st.text(max_size=4),
)
_edge_integers = st.one_of(
    st.integers(-5, 5),
    st.integers(-(10**18), 10**18),  # 18 and 19 digits: the in-order path takes 18 at most
    st.integers(-(2**64), 2**64),
    st.integers(1_767_000_000_000, 1_767_600_000_000),
)


@st.composite
def _in_order_lines(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A line in the app's field order, values drawn near the in-order path's edges; and
    whether that path may read it (no escape, no control character, integers of at most 18
    digits)."""
    record = {
        "event_id": draw(_edge_texts),
        "event_type": draw(st.sampled_from(["login", "post", "view", "like", "lik", "views"])),
        "user_id": draw(_edge_integers),
        "photo_id": draw(st.one_of(st.none(), _edge_integers)),
        "ts": draw(st.one_of(_edge_integers, _near_day, _timestamps, _any_date, _edge_texts)),
        "client": draw(st.one_of(st.none(), _edge_texts, st.sampled_from(["ios", "android"]))),
    }
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    data = json.dumps(record, separators=separators, ensure_ascii=False).encode()

    def plain(value: object) -> bool:
        if isinstance(value, str):
            return all(ord(c) >= 0x20 and c not in '"\\' for c in value)
        return value is None or len(str(abs(value))) <= 18

    return data, all(plain(value) for value in record.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_in_order_lines(), min_size=1, max_size=12))
def test_the_in_order_path_is_the_reference_on_lines_near_its_edges(
    drawn: list[tuple[bytes, bool]],
) -> None:
    """Lines in the app's field order are read by the in-order bulk path exactly as the
    reference reads them; one step outside what that path may read (an escape, a control
    character, a 19-digit integer) is left to the other readings, with the same result."""
    from fsdl_data.core.tables.events import _IN_ORDER

    lines = [line for line, _ in drawn]
    raw = _lines_frame(lines)
    taken = raw["raw"].cast(pl.String).str.extract_groups(_IN_ORDER).struct.field("event_id")
    assert taken.is_not_null().to_list() == [plain for _, plain in drawn]
    assert_same_as_reference(raw, "2026-01-02")
    assert_same_as_reference(raw, "2026-01-02", per_file_chunks(raw, "2026-01-02"))


_COMPACT = '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,'
_TRICKY_COMPACT = [  # one step away from the compact form, schema order, no spaces
    _COMPACT + '"ts":"2026-01-02T01:00:00Z","client":"x","client":7}',
    _COMPACT + '"ts":"2026-01-02T01:00:00Z","client":"a","ts":5}',
    _COMPACT + '"ts":1767312000000,"client":null}x}',
    _COMPACT + '"ts":1767312000000,"client":"}"}',
    _COMPACT + '"ts":1767312000000,"client":"a"b"}',
    _COMPACT + '"ts":1767312000000,"client":"é"}',
    _COMPACT + '"ts":1767312000000,"client":null',
    _COMPACT + '"ts":1767312000000 ,"client":null}',
    _COMPACT + '"ts":"2026-01-02T01:00:00Z","client":nul}',
    '{"event_id":"a","event_type":"view","user_id":01,"photo_id":2,"ts":1767312000000,"client":null}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":"2","ts":1767312000000,"client":null}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":null,"ts":1767312000000,"client":null}',
    '{"event_id":"a","event_type":"login","user_id":1,"photo_id":null,"ts":1767312000000,"client":null}',
    '{"event_id":"a","event_type":"view","user_id":1,"user_id":2,"photo_id":2,"ts":1767312000000,"client":null}',
    '{"event_id":"a","event_id":"b","event_type":"view","user_id":1,"photo_id":2,"ts":1767312000000,"client":null}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"2026-01-02T01:00:00Z","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"2026-01-02 01:00:00.5-01:30","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"2026-01-02T01:00:00.000001z","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"9999-12-31T23:30:00-01:00","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"2024-02-29T01:00:00Z","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"2100-02-29T01:00:00Z","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"2000-02-29T01:00:00Z","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"1900-02-29T01:00:00Z","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":"2026-04-31T01:00:00Z","client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":253402300800000,"client":"x"}',
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":2,"ts":-62135596800001,"client":"x"}',
]  # fmt: skip

_LOGIN = '"event_type":"login","user_id":1'
_TRICKY = [
    '{"event_id":"\\u00e9",' + _LOGIN + ',"ts":"2026-01-02T01:00:00Z"}',  # an escape
    '{"event_id":"a\\"b",' + _LOGIN + ',"ts":"2026-01-02T01:00:00Z"}',
    '{"event_id":"a","event_id":"b",' + _LOGIN + ',"ts":"2026-01-02T01:00:00Z"}',  # last wins
    '{"event_id":"a",' + _LOGIN + ',"user_id":"1","ts":"2026-01-02T01:00:00Z"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"2026-01-02T01:00:00Z","ts":5}',
    '{"event_id":"a","event_type":"login","user_id":9223372036854775807,"ts":"2026-01-02T01:00:00Z"}',
    '{"event_id":"a","event_type":"login","user_id":9223372036854775808,"ts":"2026-01-02T01:00:00Z"}',
    '{"event_id":"a","event_type":"login","user_id":1.0,"ts":"2026-01-02T01:00:00Z"}',
    '{"event_id":"a","event_type":"login","user_id":1e3,"ts":"2026-01-02T01:00:00Z"}',
    '{"event_id":"a","event_type":"login","user_id":-0,"ts":"2026-01-02T01:00:00Z"}',
    '{"event_id":"a","event_type":"login","user_id":01,"ts":"2026-01-02T01:00:00Z"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":NaN}',
    '{"event_id":"a",' + _LOGIN + ',"ts":1767312000000.0}',
    '{"event_id":"a",' + _LOGIN + ',"ts":true}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"2026-02-30T01:00:00Z"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"2026-01-02T23:59:60Z"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"2026-01-02T24:00:00Z"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":" 2026-01-02T01:00:00Z "}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"2026-01-02T01:00:00.1234567+00:00"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"2026-01-02T01:00:00+0530"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"2026-01-02T01:00:00+05"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"2026-01-02T01:00:00-23:59"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":"0001-01-01T00:00:00+01:00"}',
    '{"event_id":"a",' + _LOGIN + ',"ts":""}',
    '{"event_id":"a",' + _LOGIN + ',"ts":1767312000000,"client":7}',
    '{"event_id":"a",' + _LOGIN + ',"ts":1767312000000,"extra":{"ts":1}}',  # nested
    '\ufeff{"event_id":"a",' + _LOGIN + ',"ts":1767312000000}',  # a byte-order mark
    ' \t{ "event_id" : "a" ,' + _LOGIN + ',"ts":1767312000000 }\r',
    '{"event_id":"a\x01",' + _LOGIN + ',"ts":1767312000000}',  # a control character
    '{"event_id":"a","event_type":"view","user_id":1,"photo_id":null,"ts":1767312000000}',
    '{"event_id":"a","event_type":"view","user_id":1,"ts":1767312000000}',
    '{"event_id":"a","event_type":"Login","user_id":1,"ts":1767312000000}',
    '{"event_id":"a","event_type":"login","user_id":true,"ts":1767312000000}',
    '{"event_id":null,"event_type":"login","user_id":1,"ts":1767312000000}',
    "{}",
    "[]",
    '"a string"',
]


@pytest.mark.parametrize("line", _TRICKY + _TRICKY_COMPACT)
def test_same_as_reference_on_tricky_lines(line: str) -> None:
    good = '{"event_id":"z","event_type":"login","user_id":2,"ts":"2026-01-02T03:00:00Z"}'
    raw = _lines_frame([line.encode(), good.encode()])
    assert_same_as_reference(raw, "2026-01-02")


_common_timestamps = st.builds(  # the forms the bulk reading takes: it must take them all
    lambda moment, sep, digits, zone: (
        moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
        + (f".{moment.microsecond:06d}"[: digits + 1] if digits else "")
        + zone
    ),
    st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)),
    st.sampled_from(["T", " "]),
    st.integers(0, 6),
    st.one_of(
        st.sampled_from(["Z", "z"]),
        st.builds(
            lambda sign, h, m: f"{sign}{h:02d}:{m:02d}",
            st.sampled_from("+-"),
            st.integers(0, 23),
            st.integers(0, 59),
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(_common_timestamps, _timestamps, _any_date, st.text(max_size=34)), max_size=20
    )
)
def test_bulk_timestamps_are_the_plain_reading(texts: list[str]) -> None:
    """The bulk reading gives what `parse_timestamp` gives, or declines (null) and leaves the
    text to it; a timestamp in one of the common forms it never declines."""
    from fsdl_data.core.tables.events import _iso_timestamps, parse_timestamp

    bulk = _iso_timestamps(pl.Series(texts, dtype=pl.String)).to_list()
    for text, got in zip(texts, bulk, strict=True):
        if got is not None:
            assert got == parse_timestamp(text), text


@given(st.lists(_common_timestamps, min_size=1, max_size=20))
@settings(max_examples=100, deadline=None)
def test_the_common_timestamp_forms_are_read_in_bulk(texts: list[str]) -> None:
    from fsdl_data.core.tables.events import _iso_timestamps, parse_timestamp

    expected = [parse_timestamp(text) for text in texts]
    bulk = _iso_timestamps(pl.Series(texts, dtype=pl.String)).to_list()
    # a moment past year 9999 once in UTC is no datetime: the plain reading says so too
    assert bulk == expected


def test_seen_ids_answer_as_a_dict_of_first_deliveries_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The day's seen ids, kept as hashed sorted runs (small frozen runs here, so both the
    merged and the frozen runs are looked up), say exactly what a dict of ids to first-line
    hashes says, chunk after chunk."""
    from fsdl_data.core.tables.events import SeenIds

    monkeypatch.setattr(SeenIds, "FROZEN", 64)
    rng = np.random.default_rng(7)
    seen, reference = SeenIds(), {}
    for _ in range(60):
        ids = pl.Series([f"e{n}" for n in rng.integers(0, 3000, 40)], dtype=pl.String)
        found, first = seen.find(ids)
        assert found.tolist() == [i in reference for i in ids]
        assert [int(f) for f, i in zip(first, ids, strict=True) if i in reference] == [
            reference[i] for i in ids if i in reference
        ]
        new = ids.filter(pl.Series(~found)).unique(maintain_order=True)
        hashes = rng.integers(0, 1 << 63, len(new)).astype(np.uint64)
        seen.add(new, hashes)
        reference.update(zip(new.to_list(), hashes.tolist(), strict=True))
    assert len(seen) == len(reference) and len(seen._runs) > 3
