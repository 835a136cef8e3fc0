"""Serving feature vectors over HTTP in Feast's request and response shapes, plus known-at.

Request (Feast's): {"features": ["user:views_7d", "photo:post_hour"], "entities": {"user_id":
[1, 2], "photo_id": [5, 6]}}: features named `<entity>:<feature>`, entities by their key column,
one row per position (every key column as long as the others); ids are the key's type, or
strings of it (`"7"` for an integer key). Our extension: an optional "at" (ISO 8601) serves as
of that moment; without it a request is served as of `read_moment` (core.features.online), the
rule `fsdl-data features get` follows too: now, or in a generated world its latest time.

Response (Feast's): {"metadata": {"feature_names": [key columns..., features...]}, "results":
[{"values": [...], "statuses": [...], "event_timestamps": [...]}, ...]}, one result per name, in
that order, plus "known_at" per feature result: when each value was published. Statuses are
Feast's where Feast has one (PRESENT, NOT_FOUND, OUTSIDE_MAX_AGE) and NOT_YET_KNOWN for a value
described or published after the moment (the as-of rule of core.features.online). Unlike Feast
(feast#2260), event timestamps are the values' own event times, never the time of the request.

A request is answered in two steps: `answer` reads the store once per entity kind and makes one
column per requested feature (`FeatureColumn`: stored JSON texts, statuses, times); `response`
puts them in Feast's shape, and the served log (core.features.served) encodes the same columns,
so what was served can later be replayed against training.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from fsdl_data.core.features.definitions import (
    ENTITY_KEY,
    FEATURES,
    PHOTO_FEATURE_TABLE,
    USER_FEATURE_TABLE,
    FeatureDefinition,
)
from fsdl_data.core.features.online import (
    EXPIRED,
    MISSING,
    NOT_YET_KNOWN,
    OK,
    OnlineStore,
    Record,
    read_moment,
    status_of,
)

FEAST_STATUS = {
    OK: "PRESENT",
    MISSING: "NOT_FOUND",
    EXPIRED: "OUTSIDE_MAX_AGE",
    NOT_YET_KNOWN: "NOT_YET_KNOWN",
}
PRESENT = FEAST_STATUS[OK]
NO_TIME = "1970-01-01T00:00:00Z"  # Feast's timestamp for entity keys and absent values
KEY_ENTITY = {key: entity for entity, key in ENTITY_KEY.items()}
KEY_TYPE = {"user_id": USER_FEATURE_TABLE["user_id"], "photo_id": PHOTO_FEATURE_TABLE["photo_id"]}


class RawJson(str):
    """A value already encoded as JSON (as the store holds it): the server writes it into the
    response as it is, never decoding and encoding it again."""


class BadRequest(ValueError):
    """A request that cannot be served: answered 400 with this message."""


@dataclass(frozen=True)
class FeatureRequest:
    features: list[tuple[str, FeatureDefinition]]  # (entity, definition), in request order
    keys: list[str]  # the key columns, in request order
    ids: dict[str, list[str]]  # key column -> ids as the store keys them (strings), one per row
    rows: int
    at: datetime | None
    key_values: dict[str, list[int | str]] | None = None  # key column -> ids in the key's type


def feature_catalog() -> dict[str, tuple[str, FeatureDefinition]]:
    """Every servable name (`<entity>:<feature>`) and its entity and definition: built once
    when a server starts, so a request allocates no feature metadata."""
    return {f"{f.entity}:{f.name}": (f.entity, f) for f in FEATURES}


REQUEST_SHAPE = '{"features": [...], "entities": {...}}'  # what a refusal tells a client to send
_INTEGER = re.compile(r"\s*-?[0-9]+\s*")


def key_ids(key: str, values: Any) -> tuple[list[str], list[int | str]]:
    """A key column's ids as the store keys them (strings) and in the key's own type (what the
    response echoes). An integer key (KEY_TYPE) takes integers, and strings that are integers
    ("7", " 07"): JSON clients often send ids as strings; anything else is a BadRequest naming
    the field."""
    if not isinstance(values, list):
        raise BadRequest(f"entities[{key!r}] must be a list of ids")
    if not KEY_TYPE[key].is_integer():  # printable: the served log separates with controls
        if not all(isinstance(v, str) and v.isprintable() for v in values):
            raise BadRequest(f"entities[{key!r}] must be a list of ids (printable strings)")
        return list(values), list(values)
    if all(type(v) is int for v in values):  # the common case, checked at C speed
        return list(map(str, values)), values
    typed: list[int | str] = []
    for position, value in enumerate(values):
        if type(value) is int:
            typed.append(value)
        elif isinstance(value, str) and _INTEGER.fullmatch(value):
            typed.append(int(value))
        else:
            raise BadRequest(f"entities[{key!r}][{position}] is {json.dumps(value)}: {key} ids "
                             "are integers (JSON numbers, or strings of digits)")  # fmt: skip
    return [str(v) for v in typed], typed


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
    typed: dict[str, list[int | str]] = {}
    for key, values in entities.items():
        if key not in KEY_ENTITY:
            raise BadRequest(f"unknown key column {key!r}: use {', '.join(KEY_ENTITY)}")
        ids[key], typed[key] = key_ids(key, values)
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
    return FeatureRequest(features, list(ids), ids, lengths.pop(), moment, typed)


def _iso(moment: datetime | None) -> str:
    return NO_TIME if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class FeatureColumn(NamedTuple):
    """One requested feature, as served: per row its stored JSON text ("null" where nothing is
    served), Feast status, event time and known-at (ISO 8601, NO_TIME where absent). The
    response and the served log are both made from these lists."""

    entity: str
    feature: str
    ids: list[str]
    values: list[str]
    statuses: list[str]
    event_times: list[str]
    known_at: list[str]


@dataclass(frozen=True)
class Answer:
    """What one request was served: as of `at`, every requested feature's column."""

    request: FeatureRequest
    at: datetime
    columns: list[FeatureColumn]


def answer(
    store: OnlineStore, request: FeatureRequest, now: datetime, world_day: str | None = None
) -> Answer:
    """What `request` is served: as of its "at", or else the moment `read_moment` gives (now,
    or in a generated world whose last day is `world_day`, the world's latest time)."""
    by_entity: dict[str, list[str]] = {}
    for entity, feature in request.features:
        by_entity.setdefault(entity, []).append(feature.name)
    found: dict[str, dict[str, dict[str, Record]]] = {}  # entity -> feature -> id -> record
    read: list[Record] = []
    for entity, names in by_entity.items():
        ids = request.ids[ENTITY_KEY[entity]]
        records = store.records(entity, sorted(set(ids)) if len(ids) > 1 else ids, names)
        read += records
        by_feature: dict[str, dict[str, Record]] = {name: {} for name in names}
        for record in records:
            by_feature[record.feature][record.entity_id] = record
        found[entity] = by_feature
    at = request.at or read_moment(read, world_day, now)
    times: dict[datetime, str] = {}  # values of a push share their times: format once
    columns = []
    for entity, feature in request.features:
        ids, by_id = request.ids[ENTITY_KEY[entity]], found[entity][feature.name]
        # A value's status and times follow from its (event time, known-at) alone, which the
        # values of one push share: judged once per distinct pair, then one lookup per value.
        judged: dict[tuple[datetime, datetime], tuple[str, str, str]] = {}
        served = []
        for record in map(by_id.get, ids):
            if record is None:
                served.append(_ABSENT)
                continue
            times_of = (record.event_time, record.known_at)
            verdict = judged.get(times_of)
            if verdict is None:
                verdict = judged[times_of] = _judge(feature, record, at, times)
            value = record.value if verdict[0] == PRESENT and record.value is not None else "null"
            served.append((value, *verdict))
        values, statuses, events, known = (
            map(list, zip(*served, strict=True)) if served else ([], [], [], [])
        )
        columns.append(FeatureColumn(entity, feature.name, ids, values, statuses, events, known))
    return Answer(request, at, columns)


_ABSENT = ("null", FEAST_STATUS[MISSING], NO_TIME, NO_TIME)  # what an id with no record is served


def _judge(
    feature: FeatureDefinition, record: Record, at: datetime, times: dict[datetime, str]
) -> tuple[str, str, str]:
    """A stored value's Feast status at `at` and its times in ISO 8601 (each time formatted once
    per request, in `times`)."""
    formatted = []
    for moment in (record.event_time, record.known_at):
        text = times.get(moment)
        if text is None:
            text = times[moment] = _iso(moment)
        formatted.append(text)
    return FEAST_STATUS[status_of(feature, record, at)], formatted[0], formatted[1]


def response(served: Answer) -> dict[str, Any]:
    """Feast's response shape plus known-at. Each feature's values are one `RawJson` array
    made of the stored texts (encode with orjson's Fragment, or decode it: `decoded`)."""
    request = served.request
    typed = request.key_values or {k: list(v) for k, v in request.ids.items()}
    results: list[dict[str, Any]] = [
        {"values": typed[key], "statuses": ["PRESENT"] * request.rows,
         "event_timestamps": [NO_TIME] * request.rows}
        for key in request.keys
    ]  # fmt: skip
    for column in served.columns:
        results.append({"values": RawJson(f"[{','.join(column.values)}]"),
                        "statuses": column.statuses, "event_timestamps": column.event_times,
                        "known_at": column.known_at})  # fmt: skip
    names = [*request.keys, *(c.feature for c in served.columns)]
    return {"metadata": {"feature_names": names}, "results": results}


def get_online_features(
    store: OnlineStore, request: FeatureRequest, now: datetime, world_day: str | None = None
) -> dict[str, Any]:
    """The response to one request (`answer`, in Feast's shape: `response`)."""
    return response(answer(store, request, now, world_day))


def decoded(response: dict[str, Any]) -> dict[str, Any]:
    """A response with its values decoded (what a client reads back), for callers without orjson."""
    return {
        "metadata": response["metadata"],
        "results": [
            {**result, "values": json.loads(result["values"])
             if isinstance(result["values"], RawJson) else result["values"]}
            for result in response["results"]
        ],
    }  # fmt: skip
