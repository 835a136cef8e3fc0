"""What was served is what training saw: the log of served values and its replay.

The feature server hands each answered request to a `ServedLog`: the columns it served
(core.features.serving's `FeatureColumn`s: ids, stored JSON texts, Feast statuses, ISO times),
encoded as one line (`log_record`: a few joined strings per feature, never one per value) into
a bounded in-memory buffer; nothing is decoded or written on the request path. A thread moves
the buffer down a pipe to a separate writer process, which decodes a whole flush with polars
(no Python step per request or per value) into one row per served value (request
time, entity, entity id, feature, value, status, event time, known-at) and writes them to the lake's store as
Parquet files under `served_log/date=<request day>/`: one file per flush, written whole under
its final name, never appended to, so readers never see half a file. (Rows name entity and id
in columns of their own, so `fsdl-data forget` finds and erases a subject's served values.)
Closing drains everything (nothing lost on a clean shutdown); when the writer falls behind and
the buffer is full, requests are dropped from the log, counted, and the count is written beside
the day's files (`*.dropped.json`, read by `read_dropped`): never silently.

A daily replay (`replay`) takes a sample of the logged values and recomputes each by
point-in-time retrieval from the offline feature versions at the logged request time
(core.features.parity's offline_values, TTL per feature); any difference names entity and
feature.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import multiprocessing
import os
import struct
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.features.online import MISSING, OK
from fsdl_data.core.features.parity import offline_values
from fsdl_data.core.features.serving import FEAST_STATUS, Answer
from fsdl_data.core.storage.lake import to_parquet_bytes

SERVED_PREFIX = "served_log"
WRITER_NICENESS = 10  # where SCHED_IDLE is not offered: added to the writer's niceness
TS = pl.Datetime("us", "UTC")
SERVED_SCHEMA: dict[str, pl.DataType] = {
    "request_time": TS,
    "entity": pl.String(),
    "entity_id": pl.String(),
    "feature": pl.String(),
    "value": pl.String(),
    "status": pl.String(),
    "event_time": TS,
    "known_at": TS,
}
try:  # the server's codec when installed (fsdl_data[serving])
    from orjson import dumps as _dumps
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


OUR_STATUS = {feast: ours for ours, feast in FEAST_STATUS.items()}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A frame down the pipe: kind, moment (µs since the epoch), a length (or count), then that many
# bytes of record for a served request.
_FRAME = struct.Struct("<BqI")
SERVED, DROPPED, FLUSH = 0, 1, 2  # frame kinds: a served request, a drop count, a flush marker
_ISO = "%Y-%m-%dT%H:%M:%S%.fZ"  # the times a response carries (core.features.serving._iso)


def _micros(moment: datetime) -> int:
    since = moment - _EPOCH
    return (since.days * 86_400 + since.seconds) * 1_000_000 + since.microseconds


# A log record is text in three levels of separators: control characters that no JSON text (as
# stored: json.dumps), ISO time, status or id (core.features.serving.key_ids) holds raw.
_LINE, _FIELD, _ITEM = "\x1d", "\x1e", "\x1f"  # per served feature; its fields; a field's items
_FIELDS = ("request_time", "entity", "feature", "entity_id", "value", "status", "event_time",
           "known_at")  # fmt: skip
_SPLIT = list(_FIELDS[3:])  # one item per value


def log_record(served: Answer) -> bytes:
    """One answered request as the log keeps it until written: per served feature one line of
    fields (_FIELDS: its moment in µs, entity, name, then its ids, values as the stored JSON
    texts, Feast statuses, event times and known-at, each joined item by item), lines joined:
    a few joins per feature, never a step per value, and no encoder's escaping."""
    at = str(_micros(served.at))
    return _LINE.join(
        _FIELD.join((at, c.entity, c.feature, _ITEM.join(c.ids), _ITEM.join(c.values),
                     _ITEM.join(c.statuses), _ITEM.join(c.event_times), _ITEM.join(c.known_at)))
        for c in served.columns if c.ids
    ).encode()  # fmt: skip


def served_frame(records: Sequence[bytes]) -> pl.DataFrame:
    """Log records (`log_record`) as one row per served value (SERVED_SCHEMA): the value is the
    stored JSON text where it was served (status ok), else null; the times are null where the
    value was missing. Decoded by polars, all records at once: split into one row per served
    feature, into its fields, and exploded into one row per value."""
    text = _LINE.encode().join(record for record in records if record).decode()
    if not text:
        return pl.DataFrame(schema=SERVED_SCHEMA)
    lines = pl.Series("line", text.split(_LINE), dtype=pl.String)
    frame = (
        lines.str.split_exact(_FIELD, len(_FIELDS) - 1)
        .struct.rename_fields(list(_FIELDS)).struct.unnest()
        .with_columns(pl.col(*_SPLIT).str.split(_ITEM))
        .explode(_SPLIT)
    )  # fmt: skip
    status = pl.col("status").replace_strict(OUR_STATUS, return_dtype=pl.String)
    present = status != MISSING

    def when(name: str) -> pl.Expr:
        parsed = pl.col(name).str.to_datetime(_ISO, time_unit="us", time_zone="UTC")
        return pl.when(present).then(parsed).alias(name)

    return frame.select(
        pl.col("request_time").cast(pl.Int64).cast(TS),
        "entity", "entity_id", "feature",
        pl.when((status == OK) & (pl.col("value") != "null")).then(pl.col("value")).alias("value"),
        status.alias("status"), when("event_time"), when("known_at"),
    )  # fmt: skip


def write_served(store: Any, records: Sequence[bytes], dropped: Mapping[str, int]) -> list[str]:
    """Logged requests (`log_record`s), as one row per served value (SERVED_SCHEMA: entity and
    id in columns of their own, so an erasure finds a subject's rows) in one Parquet file per
    request day, and one `.dropped.json` per day that dropped requests from the log; returns
    the keys written."""
    keys = []
    if records:
        frame = served_frame(records).with_columns(
            pl.col("request_time").dt.date().cast(pl.String).alias("__day")
        )
        for (day,), part in frame.partition_by("__day", as_dict=True).items():
            first = part["request_time"].min().strftime("%H%M%S%f")  # type: ignore[union-attr]
            key = f"{day_folder(SERVED_PREFIX, day)}{first}-{uuid.uuid4().hex[:12]}.parquet"
            store.put(key, to_parquet_bytes(part.drop("__day")))
            keys.append(key)
    for day, count in dropped.items():
        key = f"{day_folder(SERVED_PREFIX, day)}{uuid.uuid4().hex[:12]}.dropped.json"
        store.put(key, json.dumps({"dropped_requests": count}).encode())
        keys.append(key)
    return keys


def _yield_cores(idle: bool) -> None:
    """Runs every thread of this process (the writer) only on cores the server and everything
    else leave idle (Linux's SCHED_IDLE), or back at normal priority; threads started later
    inherit it. A flush is a burst of polars work each second: at a mere lower niceness it still
    took a core from the server for milliseconds at every flush, in the tail of the latencies.
    Where SCHED_IDLE is not offered, a higher niceness; a change refused is left as it is."""
    if not hasattr(os, "sched_setscheduler"):
        if idle and hasattr(os, "nice"):
            os.nice(WRITER_NICENESS)
        return
    policy = os.SCHED_IDLE if idle else os.SCHED_OTHER
    for thread in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile, or not permitted
            os.sched_setscheduler(int(thread), policy, os.sched_param(0))


def _writer_process(frames: Any, acks: Any, lake_url: str, options: Any, interval: float) -> None:
    """The writer process: collects frames, writes them every `interval` seconds, on a flush
    marker (then acknowledges it) and at the end of the stream (the server closing its end, or
    dying). Interrupts and terminations go to the server, which drains to here: a signal to the
    whole process group must not kill the writer before the last requests arrive."""
    import signal

    from fsdl_data.core.storage.objects import open_object_store

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _yield_cores(True)
    store = open_object_store(lake_url, options)
    records: list[memoryview] = []
    dropped: dict[str, int] = {}
    last = time.monotonic()
    ended = False
    while not ended:
        marker = None
        if frames.poll(max(0.0, interval - (time.monotonic() - last))):
            try:
                chunk = memoryview(frames.recv_bytes())
            except EOFError:
                ended = True
                chunk = memoryview(b"")
            offset = 0
            while offset < len(chunk):
                kind, moment, length = _FRAME.unpack_from(chunk, offset)
                offset += _FRAME.size
                if kind == SERVED:
                    records.append(chunk[offset : offset + length])
                    offset += length
                elif kind == DROPPED:
                    day = (_EPOCH + timedelta(microseconds=moment)).date().isoformat()
                    dropped[day] = dropped.get(day, 0) + length
                else:
                    marker = length
        if ended:  # the server is stopping and serves no more: write the rest at full speed
            _yield_cores(False)
        if ended or marker is not None or time.monotonic() - last >= interval:
            write_served(store, records, dropped)  # type: ignore[arg-type]
            records, dropped, last = [], {}, time.monotonic()
            if marker is not None:
                acks.send(marker)


class ServedLog:
    """The request path's side of the served log: `append` encodes one answered request
    (`log_record`) into a bounded buffer (`capacity` bytes) and returns; a thread feeds the
    writer process. When the buffer is full the request is dropped from the log and counted
    (`dropped`, reported to the lake and on standard error). `close` drains the buffer and
    waits for the writer."""

    def __init__(self, lake_url: str, options: Mapping[str, Any] | None = None,
                 interval: float = 1.0, capacity: int = 64 << 20) -> None:  # fmt: skip
        self.lake_url, self.options = lake_url, dict(options or {})
        self.interval, self.capacity = interval, capacity
        self.dropped = 0  # requests dropped from the log since start
        self.pending = 0  # bytes buffered, not yet handed to the writer
        self._buffer: collections.deque[bytes] = collections.deque()
        self._served = 0  # requests buffered
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._unreported: dict[str, int] = {}  # day -> drops not yet sent to the writer
        self._flushes = 0

    def start(self) -> ServedLog:
        context = multiprocessing.get_context("spawn")  # no fork of a process running threads
        reader, self._frames = context.Pipe(duplex=False)
        self._acks, ack_writer = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_writer_process, name="served-log-writer", daemon=True,
            args=(reader, ack_writer, self.lake_url, self.options, self.interval),
        )  # fmt: skip
        self._process.start()
        reader.close()
        ack_writer.close()
        self._thread = threading.Thread(target=self._feed, name="served-log", daemon=True)
        self._thread.start()
        return self

    def append(self, served: Answer) -> None:
        """Logs one answered request."""
        record = log_record(served)
        size = _FRAME.size + len(record)
        with self._lock:
            if self.pending + size > self.capacity:
                self.dropped += 1
                day = served.at.astimezone(UTC).date().isoformat()
                self._unreported[day] = self._unreported.get(day, 0) + 1
                if self.dropped == 1:
                    print("served log: the writer is behind and its buffer is full; dropping "
                          "requests from the log (counted in served_log/*.dropped.json)",
                          file=sys.stderr, flush=True)  # fmt: skip
                return
            self.pending += size
            self._served += 1
            self._buffer.append(_FRAME.pack(SERVED, 0, len(record)))
            self._buffer.append(record)

    def _take(self) -> tuple[bytes, int]:
        """Everything buffered as one chunk of frames, and how many requests it holds."""
        with self._lock:
            frames = list(self._buffer)
            self._buffer.clear()
            self.pending = 0
            served, self._served = self._served, 0
            unreported, self._unreported = self._unreported, {}
        for day, count in unreported.items():
            moment = _micros(datetime.fromisoformat(day).replace(tzinfo=UTC))
            frames.append(_FRAME.pack(DROPPED, moment, count))
        return b"".join(frames), served

    def _feed(self) -> None:
        broken = False
        while True:
            self._wake.wait(0.05)
            self._wake.clear()
            stopping = self._stop
            chunk, served = self._take()
            if chunk and not broken:
                try:
                    self._frames.send_bytes(chunk)  # the GIL is released while it writes
                except OSError:
                    broken = True
                    print("served log: the writer process is gone; served requests are no "
                          "longer logged (counted as dropped)", file=sys.stderr, flush=True)  # fmt: skip
            if broken:
                with self._lock:
                    self.dropped += served
            if stopping:
                self._frames.close()
                return

    def flush(self, timeout: float = 60.0) -> None:
        """Waits until everything appended so far is written to the lake."""
        self._flushes += 1
        with self._lock:
            self._buffer.append(_FRAME.pack(FLUSH, 0, self._flushes))
        self._wake.set()
        while self._acks.poll(timeout):
            if self._acks.recv() == self._flushes:
                return
        raise TimeoutError("the served log's writer did not flush in time")

    def close(self, timeout: float = 60.0) -> None:
        """Drains the buffer to the writer and waits for it to write the rest (idempotent)."""
        if self._stop:
            return
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        self._process.join(timeout)
        if self.dropped:
            print(f"served log: {self.dropped} requests dropped from the log", file=sys.stderr)


def read_served(store: object, day: str) -> pl.DataFrame:
    """Every value logged as served on `day` (request time in that UTC day), one row each
    (SERVED_SCHEMA)."""
    listing = store.list(day_folder(SERVED_PREFIX, day))  # type: ignore[attr-defined]
    keys = sorted(o.key for o in listing if o.key.endswith(".parquet"))
    frames = [pl.read_parquet(io.BytesIO(store.get(k))) for k in keys]  # type: ignore[attr-defined]
    if not frames:
        return pl.DataFrame(schema=SERVED_SCHEMA)
    return pl.concat(frames, how="vertical_relaxed").cast(SERVED_SCHEMA)  # type: ignore[arg-type]


def read_dropped(store: object, day: str) -> int:
    """How many requests of `day` the server dropped from its log (a full buffer)."""
    listing = store.list(day_folder(SERVED_PREFIX, day))  # type: ignore[attr-defined]
    keys = [o.key for o in listing if o.key.endswith(".dropped.json")]
    return sum(json.loads(store.get(k))["dropped_requests"] for k in keys)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ServedMismatch:
    entity: str
    entity_id: str
    feature: str
    request_time: datetime
    served: str | None
    offline: str | None

    def __str__(self) -> str:
        return (f"{self.entity}:{self.entity_id} {self.feature} at "
                f"{self.request_time.isoformat()}: served {self.served} != training {self.offline}")  # fmt: skip


def sample_requests(served: pl.DataFrame, size: int, seed: int) -> pl.DataFrame:
    """Up to `size` logged (request time, entity, id) groups, every feature of each."""
    groups = served.select("request_time", "entity", "entity_id").unique().sort(pl.all())
    if len(groups) > size:
        groups = groups.sample(size, seed=seed).sort(pl.all())
    return served.join(groups, on=["request_time", "entity", "entity_id"], how="semi")


def replay(served: pl.DataFrame, offline: dict[str, pl.DataFrame]) -> list[ServedMismatch]:
    """Each logged value against point-in-time retrieval from `offline` versions (per entity
    kind) at its logged request time."""
    mismatches = []
    for (moment, entity), group in served.group_by(["request_time", "entity"], maintain_order=True):
        ids = sorted(set(group["entity_id"].to_list()))
        expected = offline_values(offline[str(entity)], str(entity), ids, moment)  # type: ignore[arg-type]
        for row in group.iter_rows(named=True):
            value = row["value"] if row["status"] == OK else None
            truth = expected.get((row["entity_id"], row["feature"]))
            if value != truth:
                mismatches.append(ServedMismatch(row["entity"], row["entity_id"], row["feature"],
                                                 row["request_time"], value, truth))  # fmt: skip
    return mismatches


def freshness(served: pl.DataFrame) -> pl.DataFrame:
    """Per feature, how old served values were at serve time: request time - event time and
    request time - known-at, in hours (median and 90th percentile), over served values."""
    ok = served.filter(pl.col("status") == OK).with_columns(
        ((pl.col("request_time") - pl.col("event_time")).dt.total_seconds() / 3600).alias("age_h"),
        ((pl.col("request_time") - pl.col("known_at")).dt.total_seconds() / 3600).alias(
            "since_known_h"
        ),
    )
    return (
        ok.group_by("feature")
        .agg(
            pl.len().alias("served"),
            pl.col("age_h").median().alias("median_age_h"),  # metadata and the plot read these
            pl.col("age_h").quantile(0.9).alias("p90_age_h"),
            pl.col("since_known_h").median().alias("median_since_known_h"),
            pl.col("since_known_h").quantile(0.9).alias("p90_since_known_h"),
        )
        .sort("feature")
    )
