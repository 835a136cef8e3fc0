"""Serving feature vectors over HTTP in Feast's request and response shapes, plus known-at.

Request (Feast's): {"features": ["user:views_7d", "photo:post_hour"], "entities": {"user_id":
[1, 2], "photo_id": [5, 6]}}: features named `<entity>:<feature>`, entities by their key column,
one row per position (every key column as long as the others). Our extension: an optional
"at" (ISO 8601) serves as of that moment instead of now.

Response (Feast's): {"metadata": {"feature_names": [key columns..., features...]}, "results":
[{"values": [...], "statuses": [...], "event_timestamps": [...]}, ...]}, one result per name, in
that order, plus "known_at" per feature result: when each value was published. Statuses are
Feast's where Feast has one (PRESENT, NOT_FOUND, OUTSIDE_MAX_AGE) and NOT_YET_KNOWN for a value
described or published after the moment (the as-of rule of core.features.online). Unlike Feast
(feast#2260), event timestamps are the values' own event times, never the time of the request.

The server hands each request and its response, as bytes, to the served log
(core.features.served), which turns them into log rows off the request path, so what was served
can later be replayed against training.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fsdl_data.core.features.definitions import ENTITY_KEY, FEATURES, FeatureDefinition
from fsdl_data.core.features.online import (
    EXPIRED,
    MISSING,
    NOT_YET_KNOWN,
    OK,
    OnlineStore,
    status_of,
)

FEAST_STATUS = {
    OK: "PRESENT",
    MISSING: "NOT_FOUND",
    EXPIRED: "OUTSIDE_MAX_AGE",
    NOT_YET_KNOWN: "NOT_YET_KNOWN",
}
NO_TIME = "1970-01-01T00:00:00Z"  # Feast's timestamp for entity keys and absent values
KEY_ENTITY = {key: entity for entity, key in ENTITY_KEY.items()}


class RawJson(str):
    """A value already encoded as JSON (as the store holds it): the server writes it into the
    response as it is, never decoding and encoding it again."""


class BadRequest(ValueError):
    """A request that cannot be served: answered 400 with this message."""


@dataclass(frozen=True)
class FeatureRequest:
    features: list[tuple[str, FeatureDefinition]]  # (entity, definition), in request order
    keys: list[str]  # the key columns, in request order
    ids: dict[str, list[str]]  # key column -> ids as strings, one per row
    rows: int
    at: datetime | None


def feature_catalog() -> dict[str, tuple[str, FeatureDefinition]]:
    """Every servable name (`<entity>:<feature>`) and its entity and definition: built once
    when a server starts, so a request allocates no feature metadata."""
    return {f"{f.entity}:{f.name}": (f.entity, f) for f in FEATURES}


REQUEST_SHAPE = '{"features": [...], "entities": {...}}'  # what a refusal tells a client to send


def parse_request(
    body: Any, catalog: Mapping[str, tuple[str, FeatureDefinition]] | None = None
) -> FeatureRequest:
    """A request body, checked; `catalog` is `feature_catalog()` (made here when not given)."""
    catalog = feature_catalog() if catalog is None else catalog
    if not isinstance(body, Mapping):
        raise BadRequest(f"expected a JSON object: {REQUEST_SHAPE}")
    names, entities = body.get("features"), body.get("entities")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise BadRequest('"features" must be a non-empty list of "<entity>:<feature>" names')
    if not isinstance(entities, Mapping) or not entities:
        raise BadRequest('"entities" must map key columns (user_id, photo_id) to lists of ids')
    features = []
    for name in names:
        if name not in catalog:
            raise BadRequest(
                f"no feature {name!r}: name features <entity>:<feature>, e.g. user:views_7d"
            )
        features.append(catalog[name])
    ids: dict[str, list[str]] = {}
    for key, values in entities.items():
        if key not in KEY_ENTITY:
            raise BadRequest(f"unknown key column {key!r}: use {', '.join(KEY_ENTITY)}")
        if not isinstance(values, list) or not all(isinstance(v, int | str) for v in values):
            raise BadRequest(f"entities[{key!r}] must be a list of ids")
        ids[key] = [str(v) for v in values]
    lengths = {len(v) for v in ids.values()}
    if len(lengths) != 1:
        raise BadRequest('every key column in "entities" must have the same number of ids')
    for entity, feature in features:
        if ENTITY_KEY[entity] not in ids:
            raise BadRequest(
                f"feature {entity}:{feature.name} needs entities[{ENTITY_KEY[entity]!r}]"
            )
    at = body.get("at")
    moment = None
    if at is not None:
        try:
            moment = datetime.fromisoformat(str(at))
        except ValueError:
            raise BadRequest(f'"at" must be an ISO 8601 time; got {at!r}') from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return FeatureRequest(features, list(ids), ids, lengths.pop(), moment)


def _iso(moment: datetime | None) -> str:
    return NO_TIME if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def get_online_features(
    store: OnlineStore, request: FeatureRequest, now: datetime
) -> dict[str, Any]:
    """The response to one request, as of its "at" or else `now`. Values are `RawJson` (encode
    with orjson's Fragment, or decode them)."""
    at = request.at or now
    by_entity: dict[str, list[str]] = {}
    for entity, feature in request.features:
        by_entity.setdefault(entity, []).append(feature.name)
    found = {}
    for entity, names in by_entity.items():
        ids = sorted(set(request.ids[ENTITY_KEY[entity]]))
        for record in store.records(entity, ids, names):
            found[(entity, record.entity_id, record.feature)] = record
    results: list[dict[str, Any]] = [
        {"values": [int(i) if i.isdigit() else i for i in request.ids[key]],
         "statuses": ["PRESENT"] * request.rows, "event_timestamps": [NO_TIME] * request.rows}
        for key in request.keys
    ]  # fmt: skip
    times: dict[datetime | None, str] = {}  # values of a push share their times: format once

    def iso(moment: datetime | None) -> str:
        if moment not in times:
            times[moment] = _iso(moment)
        return times[moment]

    for entity, feature in request.features:
        values, statuses, events, known = [], [], [], []
        for entity_id in request.ids[ENTITY_KEY[entity]]:
            record = found.get((entity, entity_id, feature.name))
            status = status_of(feature, record, at)
            served = record.value if status == OK and record is not None else None
            values.append(None if served is None else RawJson(served))
            statuses.append(FEAST_STATUS[status])
            event_time = None if record is None else record.event_time
            known_at = None if record is None else record.known_at
            events.append(iso(event_time))
            known.append(iso(known_at))
        results.append(
            {"values": values, "statuses": statuses, "event_timestamps": events, "known_at": known}
        )
    names = [*request.keys, *(feature.name for _, feature in request.features)]
    return {"metadata": {"feature_names": names}, "results": results}


def decoded(response: dict[str, Any]) -> dict[str, Any]:
    """A response with its values decoded (what a client reads back), for callers without orjson."""
    return {
        "metadata": response["metadata"],
        "results": [
            {**result, "values": [json.loads(v) if isinstance(v, RawJson) else v
                                  for v in result["values"]]}
            for result in response["results"]
        ],
    }  # fmt: skip
