"""The served log off the request path: everything appended is in the lake after a clean
shutdown (no flush asked for), a full buffer drops requests from the log and counts them (in
the lake and on /health), and a dead writer costs the log, never a request."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import polars as pl
from starlette.testclient import TestClient

from fsdl_data.core.features import online
from fsdl_data.core.features.definitions import USER_FEATURES
from fsdl_data.core.features.served import ServedLog, read_dropped, read_served
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.feature_server import build_app
from fsdl_data_tests.contracts.test_online_store import T0, user_rows


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
