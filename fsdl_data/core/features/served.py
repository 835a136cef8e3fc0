"""What was served is what training saw: the log of served values and its replay.

The feature server appends every served value (request time, entity, feature, value, status,
event time, known-at) to a `ServedLog`, which writes them in the background to the lake's store
as Parquet files under `served_log/date=<request day>/`: one file per flush, written whole
under its final name, never appended to, so readers never see half a file. A daily replay
(`replay`) takes a sample of the logged values and recomputes each by point-in-time retrieval
from the offline feature versions at the logged request time (core.features.parity's
offline_values, TTL per feature); any difference names entity and feature.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import polars as pl

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.features.online import OK
from fsdl_data.core.features.parity import offline_values
from fsdl_data.core.features.serving import ServedRow
from fsdl_data.core.storage.lake import to_parquet_bytes

SERVED_PREFIX = "served_log"
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


def served_frame(rows: Sequence[ServedRow]) -> pl.DataFrame:
    """Column by column (much cheaper than row by row: the flush runs beside the server)."""
    if not rows:
        return pl.DataFrame(schema=SERVED_SCHEMA)
    columns = list(zip(*rows, strict=True))
    return pl.DataFrame(
        {name: pl.Series(name, values, dtype=SERVED_SCHEMA[name], strict=False)
         for name, values in zip(SERVED_SCHEMA, columns, strict=True)}
    )  # fmt: skip


class ServedLog:
    """Buffers served rows in memory; a background thread writes them every `interval` seconds
    (and `close` writes the rest). Appending is a list extend under a lock: the request path
    never waits for storage."""

    def __init__(self, store: object, interval: float = 1.0) -> None:
        self.store = store
        self.interval = interval
        self._rows: list[ServedRow] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="served-log", daemon=True)
        self.written: list[str] = []

    def start(self) -> ServedLog:
        self._thread.start()
        return self

    def append(self, rows: list[ServedRow]) -> None:
        with self._lock:
            self._rows.extend(rows)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> list[str]:
        """Writes what is buffered, one file per request day; returns the keys written."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return []
        frame = served_frame(rows).with_columns(
            pl.col("request_time").dt.date().cast(pl.String).alias("__day")
        )
        keys = []
        for (day,), part in frame.partition_by("__day", as_dict=True).items():
            first = part["request_time"].min().strftime("%H%M%S%f")  # type: ignore[union-attr]
            key = f"{day_folder(SERVED_PREFIX, day)}{first}-{uuid.uuid4().hex[:12]}.parquet"
            self.store.put(key, to_parquet_bytes(part.drop("__day")))  # type: ignore[attr-defined]
            keys.append(key)
        self.written.extend(keys)
        return keys

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.flush()


def read_served(store: object, day: str) -> pl.DataFrame:
    """Every value logged as served on `day` (request time in that UTC day)."""
    import io

    listing = store.list(day_folder(SERVED_PREFIX, day))  # type: ignore[attr-defined]
    keys = sorted(o.key for o in listing if o.key.endswith(".parquet"))
    frames = [pl.read_parquet(io.BytesIO(store.get(k))) for k in keys]  # type: ignore[attr-defined]
    if not frames:
        return pl.DataFrame(schema=SERVED_SCHEMA)
    return pl.concat(frames, how="vertical_relaxed").cast(SERVED_SCHEMA)  # type: ignore[arg-type]


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
