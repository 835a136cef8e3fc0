"""Offline/online parity: the online store must serve what point-in-time retrieval from the
offline versions gives at the same moment. A mismatch means training and serving disagree.

The gate cannot be fooled: an online value dated after the check's moment (its event time or
known-at later than it) is a mismatch, not a skip, since nothing offline could have produced it
by then; comparing fewer entities than the configured minimum fails, saying so; a day that
pushed nothing is a skip with that reason (it passes: there is nothing to disagree about).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from fsdl_data.core.features.definitions import ENTITY_KEY, EVENT_TIME, KNOWN_AT, features_of
from fsdl_data.core.features.online import NOT_YET_KNOWN, OK, OnlineStore, as_store, serve
from fsdl_data.core.features.pit import point_in_time_join
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.tables.quality import Outcome


@dataclass(frozen=True)
class Mismatch:
    entity: str
    entity_id: str
    feature: str
    online: str | None
    offline: str | None
    reason: str = ""  # why, beyond the values: e.g. dated after the check's moment

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.entity}:{self.entity_id} {self.feature}: online {self.online} != offline {self.offline}{why}"


@dataclass(frozen=True)
class Parity:
    compared: int  # feature values compared
    entities: int  # entities compared
    minimum: int  # the fewest entities that may be compared
    mismatches: list[Mismatch]
    skipped: dict[str, str] = field(default_factory=dict)  # entity kind -> why not compared

    @property
    def passed(self) -> bool:
        nothing_to_compare = self.entities == 0 and bool(self.skipped)
        return not self.mismatches and (nothing_to_compare or self.entities >= self.minimum)

    def outcome(self, shown: int = 10) -> Outcome:
        skipped = "; ".join(f"{kind}: {why}" for kind, why in self.skipped.items())
        metadata = {"compared": self.compared, "entities": self.entities,
                    "minimum_entities": self.minimum, "mismatches": len(self.mismatches)}  # fmt: skip
        if self.mismatches:
            listed = "; ".join(str(m) for m in self.mismatches[:shown])
            text = f"{len(self.mismatches)} of {self.compared} values differ: {listed}"
        elif self.entities == 0 and self.skipped:
            text = f"skipped: nothing to compare ({skipped})"
        elif self.entities < self.minimum:
            text = (f"only {self.entities} entities compared, fewer than the minimum of "
                    f"{self.minimum}: parity is not shown")  # fmt: skip
        else:
            text = f"{self.compared} values of {self.entities} entities agree"
            text += f" (skipped {skipped})" if skipped else ""
        return Outcome(self.passed, text, metadata)


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
    out: dict[tuple[str, str], str | None] = {}
    if not ids:
        return out
    left = pl.DataFrame({key: ids}).with_columns(
        pl.col(key).cast(versions.schema[key]),
        pl.lit(at).cast(versions.schema[event_time]).alias("__at"),
    )
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
    store: OnlineStore | AppDatabase,
    offline: dict[str, pl.DataFrame],
    ids: dict[str, list[str]],
    at: datetime,
    minimum_entities: int = 1,
) -> Parity:
    """Compares the online values of the sampled `ids` per entity kind, as served at `at`, with
    point-in-time retrieval from the offline versions at `at`."""
    store = as_store(store)
    compared = entities = 0
    mismatches: list[Mismatch] = []
    skipped: dict[str, str] = {}
    for entity, entity_ids in ids.items():
        if not entity_ids:
            skipped[entity] = f"no {entity} was pushed for this day"
            continue
        entities += len(entity_ids)
        expected = offline_values(offline[entity], entity, entity_ids, at)
        stored = {(r.entity_id, r.feature): r for r in store.records(entity, entity_ids)}
        definitions = {feature.name: feature for feature in features_of(entity)}
        for (entity_id, name), value in expected.items():
            served = serve(definitions[name], stored.get((entity_id, name)), at)
            online = json.dumps(served.value) if served.status == OK else None
            compared += 1
            if served.status == NOT_YET_KNOWN:
                record = stored[(entity_id, name)]
                reason = (f"online value dated after the check's moment {at.isoformat()}: event "
                          f"time {record.event_time.isoformat()}, known at "
                          f"{record.known_at.isoformat()}")  # fmt: skip
                mismatches.append(Mismatch(entity, entity_id, name, record.value, value, reason))
            elif online != value:
                mismatches.append(Mismatch(entity, entity_id, name, online, value))
    return Parity(compared, entities, minimum_entities, mismatches, skipped)
