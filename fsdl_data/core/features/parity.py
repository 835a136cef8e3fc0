"""Offline/online parity: the online store must serve what point-in-time retrieval from the
offline versions gives at the same moment. A mismatch means training and serving disagree."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from fsdl_data.core.features.definitions import ENTITY_KEY, EVENT_TIME, KNOWN_AT, features_of
from fsdl_data.core.features.online import read_rows
from fsdl_data.core.features.pit import point_in_time_join
from fsdl_data.core.storage.appdb import AppDatabase


@dataclass(frozen=True)
class Mismatch:
    entity: str
    entity_id: str
    feature: str
    online: str | None
    offline: str | None

    def __str__(self) -> str:
        return f"{self.entity}:{self.entity_id} {self.feature}: online {self.online} != offline {self.offline}"


@dataclass(frozen=True)
class Parity:
    compared: int  # feature values compared
    skipped: int  # online values newer than the moment (the store has moved on since)
    mismatches: list[Mismatch]


def sample_ids(pushed: pl.DataFrame, entity: str, size: int, seed: int) -> list[str]:
    ids = sorted(pushed.filter(pl.col("entity") == entity)["entity_id"].unique().to_list())
    if len(ids) <= size:
        return ids
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(ids, size=size, replace=False).tolist())


def offline_values(
    versions: pl.DataFrame, entity: str, ids: list[str], at: datetime
) -> dict[tuple[str, str], str | None]:
    """(entity id, feature) -> JSON value by point-in-time retrieval at `at`, TTL applied."""
    key, event_time = ENTITY_KEY[entity], EVENT_TIME[entity]
    left = pl.DataFrame({key: [int(i) for i in ids]}).with_columns(
        pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("__at")
    )
    out: dict[tuple[str, str], str | None] = {}
    by_ttl: dict[object, list[str]] = {}
    for feature in features_of(entity):
        by_ttl.setdefault(feature.ttl, []).append(feature.name)
    for ttl, names in by_ttl.items():
        right = versions.select(key, event_time, KNOWN_AT, *names)
        got = point_in_time_join(left, right, by=key, left_time="__at", right_time=event_time,
                                 known_at=KNOWN_AT, ttl=ttl)  # fmt: skip
        for row in got.iter_rows(named=True):
            for name in names:
                value = row[name]
                out[(str(row[key]), name)] = None if value is None else json.dumps(value)
    return out


def check_parity(
    db: AppDatabase,
    offline: dict[str, pl.DataFrame],
    ids: dict[str, list[str]],
    at: datetime,
) -> Parity:
    """Compares the online rows of the sampled `ids` per entity with the offline `versions`."""
    compared = skipped = 0
    mismatches = []
    for entity, entity_ids in ids.items():
        expected = offline_values(offline[entity], entity, entity_ids, at)
        stored = {
            (r["entity_id"], r["feature"]): r
            for r in read_rows(db, entity, entity_ids).iter_rows(named=True)
        }
        ttl = {feature.name: feature.ttl for feature in features_of(entity)}
        for (entity_id, feature), value in expected.items():
            row = stored.get((entity_id, feature))
            if row is not None and (row["known_at"] > at or row["event_time"] > at):
                skipped += 1
                continue
            served = None
            if row is not None and not (ttl[feature] and row["event_time"] <= at - ttl[feature]):
                served = row["value"]
            compared += 1
            if served != value:
                mismatches.append(Mismatch(entity, entity_id, feature, served, value))
    return Parity(compared, skipped, mismatches)
