"""The serving protocol alone (no server, no database): requests are checked with a one-line
reason, and a response carries, per requested name and row, the value the as-of rule serves,
its Feast status, its event time and when it was published."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from fsdl_data.core.features.definitions import ENTITY_KEY, FEATURES
from fsdl_data.core.features.online import OK, Record, status_of
from fsdl_data.core.features.serving import (
    FEAST_STATUS,
    NO_TIME,
    BadRequest,
    RawJson,
    decoded,
    get_online_features,
    parse_request,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class MemoryStore:
    """An online store of records in a dict: what the protocol asks of a store, nothing more."""

    def __init__(self, records: Sequence[Record], entities: dict[str, str]) -> None:
        self.by_key = {(entities[r.feature], r.entity_id, r.feature): r for r in records}

    def records(self, entity: str, ids: Sequence[str], features: Sequence[str] | None = None):
        return [r for (e, i, f), r in self.by_key.items()
                if e == entity and i in ids and (features is None or f in features)]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "expected a JSON object"),
        ({"features": [], "entities": {"user_id": [1]}}, "non-empty list"),
        ({"features": ["user:views_7d"], "entities": {}}, "must map key columns"),
        ({"features": ["user:nope"], "entities": {"user_id": [1]}}, "no feature 'user:nope'"),
        ({"features": ["user:views_7d"], "entities": {"shop_id": [1]}}, "unknown key column"),
        ({"features": ["user:views_7d"], "entities": {"user_id": 1}}, "list of ids"),
        ({"features": ["user:views_7d"], "entities": {"user_id": [1.5]}},
         r"entities\['user_id'\]\[0\] is 1.5: user_id ids are integers"),
        ({"features": ["user:views_7d"], "entities": {"user_id": [1, "abc"]}},
         r"entities\['user_id'\]\[1\] is \"abc\": user_id ids are integers"),
        ({"features": ["user:views_7d"], "entities": {"user_id": [True]}}, "ids are integers"),
        ({"features": ["photo:location"], "entities": {"photo_id": ["1.0"]}}, "ids are integers"),
        ({"features": ["user:views_7d"], "entities": {"user_id": [None]}}, "ids are integers"),
        ({"features": ["user:views_7d"], "entities": {"user_id": [1], "photo_id": [1, 2]}},
         "same number of ids"),
        ({"features": ["photo:post_hour"], "entities": {"user_id": [1]}}, "needs entities"),
        ({"features": ["user:views_7d"], "entities": {"user_id": [1]}, "at": "soon"}, "ISO 8601"),
    ],
)  # fmt: skip
def test_a_bad_request_says_what_is_wrong_in_one_line(body: object, says: str) -> None:
    with pytest.raises(BadRequest, match=says) as refused:
        parse_request(body)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("seed", range(5))
def test_a_response_serves_each_value_by_the_as_of_rule(seed: int) -> None:
    rng = random.Random(seed)
    features = rng.sample(list(FEATURES), rng.randint(1, min(4, len(FEATURES))))
    entities = {f.name: f.entity for f in FEATURES}
    rows = rng.randint(1, 6)
    ids = {ENTITY_KEY[f.entity]: [str(rng.randint(1, 9)) for _ in range(rows)] for f in features}
    records = []
    for feature in features:
        for entity_id in set(ids[ENTITY_KEY[feature.entity]]):
            if rng.random() < 0.2:
                continue  # never pushed: NOT_FOUND
            event_time = NOW - timedelta(hours=rng.uniform(-5, 24 * 40))
            known_at = event_time + timedelta(hours=rng.uniform(0, 10))
            value = json.dumps(rng.randint(0, 100))
            records.append(Record(entity_id, feature.name, value, event_time, known_at))
    at = NOW if rng.random() < 0.5 else NOW - timedelta(days=rng.uniform(0, 5))
    body = {"features": [f"{f.entity}:{f.name}" for f in features],
            "entities": {k: [int(i) for i in v] for k, v in ids.items()}}  # fmt: skip
    if at != NOW:
        body["at"] = at.isoformat()
    request = parse_request(body)
    assert request.rows == rows and request.keys == list(ids)
    response = get_online_features(MemoryStore(records, entities), request, NOW)
    assert response["metadata"]["feature_names"] == [*ids, *(f.name for f in features)]
    results = response["results"]
    for key, result in zip(ids, results, strict=False):  # the key columns echo the ids
        assert result["values"] == [int(i) for i in ids[key]]
    stored = {(r.feature, r.entity_id): r for r in records}
    for feature, result in zip(features, results[len(ids) :], strict=True):
        for row, entity_id in enumerate(ids[ENTITY_KEY[feature.entity]]):
            record = stored.get((feature.name, entity_id))
            status = status_of(feature, record, at)
            assert result["statuses"][row] == FEAST_STATUS[status]
            served = json.loads(result["values"])[row]
            if status == OK:
                assert isinstance(result["values"], RawJson) and served == json.loads(record.value)
            else:
                assert served is None
            if record is None:
                assert result["event_timestamps"][row] == NO_TIME == result["known_at"][row]
            else:
                assert datetime.fromisoformat(result["event_timestamps"][row]) == record.event_time
                assert datetime.fromisoformat(result["known_at"][row]) == record.known_at
    plain = decoded(response)
    assert all(not isinstance(r["values"], RawJson) for r in plain["results"])
    json.dumps(plain)  # a client's view is plain JSON


@pytest.mark.parametrize("seed", range(5))
def test_ids_given_as_strings_are_served_as_the_same_ids(seed: int) -> None:
    """An integer key's ids sent as strings of digits (JSON clients often do) read the same
    values as the same ids sent as numbers, and the response echoes them as integers."""
    rng = random.Random(seed)
    feature = rng.choice(list(FEATURES))
    key = ENTITY_KEY[feature.entity]
    numbers = [rng.randint(0, 50) for _ in range(rng.randint(1, 8))]
    spelled = [rng.choice([n, str(n), f" {n}", f"{n:03d}"]) for n in numbers]
    records = [Record(str(n), feature.name, json.dumps(n * 3), NOW - timedelta(hours=1),
                      NOW - timedelta(minutes=30)) for n in set(numbers) if n % 3]  # fmt: skip
    store = MemoryStore(records, {feature.name: feature.entity})
    got = {}
    for ids in (numbers, spelled):
        body = {"features": [f"{feature.entity}:{feature.name}"], "entities": {key: ids}}
        got[str(ids)] = decoded(get_online_features(store, parse_request(body), NOW))
    by_number, by_string = got.values()
    assert by_number == by_string
    assert by_string["results"][0]["values"] == numbers
    assert by_string["results"][1]["values"] == [n * 3 if n % 3 else None for n in numbers]
