"""The online feature store: the latest value of every feature of every entity, in the app
database (SQLite by default, Postgres in production), for serving.

One row per (entity, id, feature): the value (JSON), its event time and known-at time. An upsert
replaces a row only with a newer one (later event time, or the same event time published later),
so upserts commute: replaying old partitions never overwrites fresher values. TTL is applied on
read: a value whose event time is not after `at - ttl` is reported as expired, not served.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from fsdl_data.core.features.definitions import (
    ENTITY_KEY,
    EVENT_TIME,
    KNOWN_AT,
    FeatureDefinition,
    features_of,
)
from fsdl_data.core.storage.appdb import AppDatabase, naive_utc

metadata = sa.MetaData()
online_features = sa.Table(
    "online_features",
    metadata,
    sa.Column("entity", sa.String(16), primary_key=True),
    sa.Column("entity_id", sa.String(64), primary_key=True),
    sa.Column("feature", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=True),  # JSON
    sa.Column("event_time", sa.DateTime, nullable=False),
    sa.Column("known_at", sa.DateTime, nullable=False),
)
ONLINE_ROWS = {
    "entity": pl.String,
    "entity_id": pl.String,
    "feature": pl.String,
    "value": pl.String,
    "event_time": pl.Datetime("us", "UTC"),
    "known_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class OnlineValue:
    feature: str
    value: Any
    event_time: datetime | None
    known_at: datetime | None
    status: str  # "ok", "expired" or "missing"


def ensure_table(db: AppDatabase) -> None:
    metadata.create_all(db.engine)


def online_rows(features: pl.DataFrame, entity: str) -> pl.DataFrame:
    """A feature table (one version per entity) in the online store's long format."""
    key, event_time = ENTITY_KEY[entity], EVENT_TIME[entity]
    names = [f.name for f in features_of(entity)]
    if features.is_empty():
        return pl.DataFrame(schema=ONLINE_ROWS)
    encoded = features.select(
        pl.lit(entity).alias("entity"),
        pl.col(key).cast(pl.String).alias("entity_id"),
        pl.col(event_time).alias("event_time"),
        pl.col(KNOWN_AT).alias("known_at"),
        *[pl.col(n).map_elements(json.dumps, return_dtype=pl.String).alias(n) for n in names],
    )
    return (
        encoded.unpivot(
            index=["entity", "entity_id", "event_time", "known_at"],
            on=names,
            variable_name="feature",
            value_name="value",
        )
        .select(list(ONLINE_ROWS))
        .cast(ONLINE_ROWS)
        .sort("entity", "entity_id", "feature")
    )


def _insert(db: AppDatabase) -> Any:
    return postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert


def upsert(db: AppDatabase, rows: pl.DataFrame, chunk: int = 5000) -> int:
    """Writes `rows` (ONLINE_ROWS) where they are newer than what the store holds."""
    ensure_table(db)
    records = [
        {**r, "event_time": naive_utc(r["event_time"]), "known_at": naive_utc(r["known_at"])}
        for r in rows.iter_rows(named=True)
    ]
    insert = _insert(db)
    with db.engine.begin() as conn:
        for start in range(0, len(records), chunk):
            statement = insert(online_features).values(records[start : start + chunk])
            new = statement.excluded
            newer = (new.event_time > online_features.c.event_time) | (
                (new.event_time == online_features.c.event_time)
                & (new.known_at > online_features.c.known_at)
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["entity", "entity_id", "feature"],
                    set_={
                        "value": new.value,
                        "event_time": new.event_time,
                        "known_at": new.known_at,
                    },
                    where=newer,
                )
            )
    return len(records)


def read_rows(db: AppDatabase, entity: str, entity_ids: Iterable[str]) -> pl.DataFrame:
    """The stored rows of some entities (ONLINE_ROWS), untouched by TTL."""
    ensure_table(db)
    ids = list(entity_ids)
    with db.engine.connect() as conn:
        result = conn.execute(
            sa.select(online_features).where(
                online_features.c.entity == entity, online_features.c.entity_id.in_(ids)
            )
        )
        records = [dict(r._mapping) for r in result]
    for r in records:
        r["event_time"] = r["event_time"].replace(tzinfo=UTC)
        r["known_at"] = r["known_at"].replace(tzinfo=UTC)
    return pl.DataFrame(records, schema=ONLINE_ROWS)


def read_vector(
    db: AppDatabase, entity: str, entity_id: str, at: datetime
) -> list[OnlineValue] | None:
    """Every feature of one entity as served at `at`; None when the store has no row for it."""
    rows = {r["feature"]: r for r in read_rows(db, entity, [entity_id]).iter_rows(named=True)}
    if not rows:
        return None
    return [_serve(feature, rows.get(feature.name), at) for feature in features_of(entity)]


def _serve(feature: FeatureDefinition, row: dict | None, at: datetime) -> OnlineValue:
    if row is None:
        return OnlineValue(feature.name, None, None, None, "missing")
    expired = feature.ttl is not None and row["event_time"] <= at - feature.ttl
    value = None if expired else json.loads(row["value"])
    return OnlineValue(
        feature.name, value, row["event_time"], row["known_at"], "expired" if expired else "ok"
    )


def vector_lines(
    entity: str, entity_id: str, moment: datetime, vector: list[OnlineValue]
) -> list[str]:
    """A served vector in words: what `fsdl-data features get` prints and online_features shows."""
    lines = [
        f"{entity}:{entity_id} as served at {moment.isoformat(timespec='seconds')}:",
        f"  {'feature':14s} {'value':>12s}  {'event time':25s} {'known at':25s} status",
    ]
    for v in vector:
        shown = "-" if v.value is None else str(v.value)
        when = v.event_time.isoformat() if v.event_time else "-"
        known = v.known_at.isoformat() if v.known_at else "-"
        status = v.status if v.status != "expired" else "expired (older than its TTL)"
        lines.append(f"  {v.feature:14s} {shown:>12s}  {when:25s} {known:25s} {status}")
    expired = [v.feature for v in vector if v.status == "expired"]
    if expired:
        lines.append(f"{len(expired)} expired: not served; materialize newer days to refresh them")
    return lines


def served_sample(db: AppDatabase, pushed: pl.DataFrame) -> str:
    """The first user's and photo's vectors of a push (ONLINE_ROWS), read back from the store as
    served at the push's newest known_at, as Markdown: what `fsdl-data features get` prints."""
    if pushed.is_empty():
        return "nothing pushed"
    moment = pushed["known_at"].max()
    blocks = []
    for entity in ("user", "photo"):
        ids = pushed.filter(pl.col("entity") == entity)["entity_id"]
        if ids.is_empty():
            continue
        entity_id = str(ids.sort()[0])
        vector = read_vector(db, entity, entity_id, moment)
        if vector:
            text = "\n".join(vector_lines(entity, entity_id, moment, vector))
            blocks.append(f"`fsdl-data features get {entity}:{entity_id}`\n\n```\n{text}\n```")
    return "\n\n".join(blocks) or "nothing pushed"
