"""The served log off the request path: everything appended is in the lake after a clean
shutdown (no flush asked for), a full buffer drops requests from the log and counts them (in
the lake and on /health), and a dead writer costs the log, never a request."""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from starlette.testclient import TestClient

from fsdl_data.core.features import online
from fsdl_data.core.features.definitions import ENTITY_KEY, FEATURES, USER_FEATURES
from fsdl_data.core.features.served import (
    OUR_STATUS,
    SERVED_SCHEMA,
    ServedLog,
    log_record,
    read_dropped,
    read_served,
    served_frame,
)
from fsdl_data.core.features.serving import answer, decoded, parse_request, response
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.feature_server import build_app
from fsdl_data_tests.contracts.test_online_store import T0, user_rows
from fsdl_data_tests.core.features.test_serving import MemoryStore


def requests(rng: random.Random, count: int) -> list[dict]:
    """Random requests: a random subset of user features for random (known and unknown) users,
    as of random moments over three days."""
    made = []
    for _ in range(count):
        features = rng.sample(sorted(USER_FEATURES), rng.randint(1, len(USER_FEATURES)))
        users = [rng.randint(0, 12) for _ in range(rng.randint(1, 6))]
        at = T0 + timedelta(minutes=rng.randint(0, 3 * 24 * 60 - 1))
        made.append({"features": [f"user:{f}" for f in features], "entities": {"user_id": users},
                     "at": at.isoformat()})  # fmt: skip
    return made


def serve_all(tmp_path: Path, bodies: list[dict], capacity: int) -> tuple[LocalObjectStore, list]:
    store = online.open_online_store(f"sqlite:///{tmp_path / 'app.db'}")
    for user in range(8):
        online.upsert(store, user_rows(user, T0 - timedelta(hours=user), T0, views=user))
    lake = LocalObjectStore(tmp_path / "lake")
    log = ServedLog(lake.url, interval=3600, capacity=capacity)
    health = []
    with TestClient(build_app(store, log)) as client:
        for body in bodies:
            assert client.post("/get-online-features", json=body).status_code == 200
        health.append(client.get("/health").json())
    return lake, health


def days(bodies: list[dict]) -> Counter:
    """Expected log rows per request day."""
    expected: Counter = Counter()
    for body in bodies:
        expected[body["at"][:10]] += len(body["features"]) * len(body["entities"]["user_id"])
    return expected


def test_everything_is_written_on_a_clean_shutdown(tmp_path: Path) -> None:
    rng = random.Random()
    bodies = requests(rng, rng.randint(20, 60))
    lake, health = serve_all(tmp_path, bodies, capacity=64 << 20)
    assert health[0]["served_log"]["dropped_requests"] == 0
    for day, rows in days(bodies).items():
        served = read_served(lake, day)
        assert len(served) == rows, day
        assert read_dropped(lake, day) == 0
        assert served["request_time"].dt.date().cast(pl.String).unique().to_list() == [day]
    every = pl.concat([read_served(lake, day) for day in days(bodies)])
    missing = every.filter(pl.col("status") == online.MISSING)
    assert missing["event_time"].is_null().all() and missing["value"].is_null().all()
    assert (every.filter(pl.col("status") != online.MISSING)["event_time"].is_not_null()).all()


def test_a_full_buffer_drops_requests_and_counts_them(tmp_path: Path) -> None:
    rng = random.Random()
    bodies = requests(rng, rng.randint(5, 20))
    lake, health = serve_all(tmp_path, bodies, capacity=16)  # smaller than any request
    assert health[0]["served_log"]["dropped_requests"] == len(bodies)
    for day in days(bodies):
        assert read_served(lake, day).is_empty()
        assert read_dropped(lake, day) == sum(1 for b in bodies if b["at"][:10] == day)


def test_a_dead_writer_costs_the_log_not_the_requests(tmp_path: Path) -> None:
    store = online.open_online_store(f"sqlite:///{tmp_path / 'app.db'}")
    online.upsert(store, user_rows(1, T0, T0, views=3))
    log = ServedLog(LocalObjectStore(tmp_path / "lake").url, interval=3600)
    bodies = requests(random.Random(), 5)
    with TestClient(build_app(store, log)) as client:
        log._process.kill()
        log._process.join()
        for body in bodies:
            assert client.post("/get-online-features", json=body).status_code == 200
        log.close()  # drains into the broken pipe: every request counted as dropped
        assert client.get("/health").json()["served_log"]["dropped_requests"] == len(bodies)


def test_forget_erases_a_user_from_the_served_log(tmp_path: Path) -> None:
    """The log as the server writes it names entity and id in columns, so the erasure's scrub
    removes a forgotten user's served values and keeps everyone else's."""
    from fsdl_data.core.privacy.subjects import Footprint, scrub

    rng = random.Random()
    bodies = requests(rng, rng.randint(20, 40))
    lake, _ = serve_all(tmp_path, bodies, capacity=64 << 20)
    forgotten = rng.choice(sorted({u for b in bodies for u in b["entities"]["user_id"]}))
    footprint = Footprint(users=frozenset({forgotten}))
    erased = 0
    for listed in lake.list("served_log/"):
        if listed.key.endswith(".parquet"):
            result = scrub(listed.key, lake.get(listed.key), footprint)
            erased += result.erased
            lake.put(listed.key, result.data)
    after = pl.concat([read_served(lake, day) for day in days(bodies)])
    assert erased > 0 and str(forgotten) not in set(after["entity_id"])
    expected = sum(
        len(b["features"]) * sum(1 for u in b["entities"]["user_id"] if u != forgotten)
        for b in bodies
    )
    assert len(after) == expected


@pytest.mark.parametrize("seed", range(6))
def test_log_records_decode_to_every_value_as_served(seed: int) -> None:
    """Random answers (user and photo features, string values with separators, quotes and
    non-ASCII, nulls, every status) through `log_record` and `served_frame` give one row per
    served value: its id, the stored JSON text where served (else null), our status, and its
    times (null where missing), as the response itself says."""
    rng = random.Random(seed)
    now = T0 + timedelta(days=rng.randint(0, 30), seconds=rng.randint(0, 86_399))
    answers, expected = [], []
    for _ in range(rng.randint(1, 12)):
        features = rng.sample(list(FEATURES), rng.randint(1, len(FEATURES)))
        rows = rng.randint(1, 7)
        ids = {ENTITY_KEY[f.entity]: [rng.randint(0, 9) for _ in range(rows)] for f in features}
        records = []
        for feature in features:
            for entity_id in set(ids[ENTITY_KEY[feature.entity]]):
                if rng.random() < 0.2:
                    continue
                event = now - timedelta(
                    hours=rng.uniform(-3, 24 * 4), microseconds=rng.randint(0, 999)
                )
                value = rng.choice([None, rng.randint(-5, 500), 'a, "b"\\', "Zürich ∞", ""])
                records.append(online.Record(str(entity_id), feature.name, json.dumps(value),
                                             event, event + timedelta(hours=rng.uniform(0, 5))))  # fmt: skip
        at = now - timedelta(hours=rng.uniform(0, 48)) if rng.random() < 0.7 else None
        body = {"features": [f"{f.entity}:{f.name}" for f in features], "entities": ids}
        if at is not None:
            body["at"] = at.isoformat()
        store = MemoryStore(records, {f.name: f.entity for f in FEATURES})
        served = answer(store, parse_request(body), now)
        answers.append(served)
        results = decoded(response(served))["results"][len(ids) :]
        for feature, result in zip(features, results, strict=True):
            for row, entity_id in enumerate(ids[ENTITY_KEY[feature.entity]]):
                status = OUR_STATUS[result["statuses"][row]]
                value = result["values"][row]
                missing = status == online.MISSING
                expected.append((served.at, feature.entity, str(entity_id), feature.name,
                                 None if value is None else json.dumps(value), status,
                                 None if missing else datetime.fromisoformat(result["event_timestamps"][row]),
                                 None if missing else datetime.fromisoformat(result["known_at"][row])))  # fmt: skip
    frame = served_frame([log_record(served) for served in answers])
    assert frame.schema == pl.Schema(SERVED_SCHEMA)
    assert frame.rows() == expected


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_the_writer_only_takes_idle_cores(tmp_path: Path) -> None:
    """Every thread of the writer process runs under SCHED_IDLE, also the polars threads its
    first flush starts: its burst of work each second never preempts the server."""
    log = ServedLog(LocalObjectStore(tmp_path / "lake").url, interval=3600).start()
    try:
        served = answer(MemoryStore([], {}), parse_request(requests(random.Random(1), 1)[0]), T0)
        log.append(served)
        log.flush()  # the writer has decoded and written: its worker threads exist
        threads = os.listdir(f"/proc/{log._process.pid}/task")
        assert len(threads) > 1
        assert {os.sched_getscheduler(int(t)) for t in threads} == {os.SCHED_IDLE}
    finally:
        log.close()
