"""The feature server's contract on every online-store backend (SQLite, Postgres, Redis): Feast's
request and response shapes plus known-at, as-of statuses, one-line errors, /health, and every
served value in the served log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from fsdl_data.core.calendar import nightly_publish_time
from fsdl_data.core.features import online
from fsdl_data.core.features.served import ServedLog, read_served
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.feature_server import build_app
from fsdl_data_tests.contracts.test_online_store import T0, store, store_url, user_rows  # noqa: F401

FEATURES = ["user:views_7d", "user:logins_1d"]


@pytest.fixture
def served(store: online.OnlineStore, tmp_path: Path):  # noqa: F811
    online.upsert(store, user_rows(1, T0, T0 + timedelta(hours=2), views=5))
    online.upsert(store, user_rows(2, T0 - timedelta(days=1), T0 - timedelta(hours=22), views=8))
    lake = LocalObjectStore(tmp_path / "lake")
    log = ServedLog(lake.url, interval=3600)
    with TestClient(build_app(store, log)) as client:
        yield client, lake, log


def ask(client: TestClient, at: datetime | None, users: list[int], features=FEATURES) -> dict:
    body = {"features": features, "entities": {"user_id": users}}
    if at is not None:
        body["at"] = at.isoformat()
    response = client.post("/get-online-features", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_feast_shapes_statuses_and_known_at(served) -> None:
    client, _, _ = served
    assert client.get("/health").status_code == 200
    at = T0 + timedelta(days=1, hours=12)  # user 1 fresh, user 2 past its 2-day TTL
    got = ask(client, at, [1, 2, 999])
    assert got["metadata"]["feature_names"] == ["user_id", "views_7d", "logins_1d"]
    keys, views, logins = got["results"]
    assert keys["values"] == [1, 2, 999] and keys["statuses"] == ["PRESENT"] * 3
    assert views["values"] == [5, None, None]
    assert views["statuses"] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"]
    assert views["event_timestamps"][:2] == ["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"]
    assert views["known_at"][0] == "2026-01-02T02:00:00Z"
    assert logins["values"] == [1, None, None]
    early = ask(client, T0 + timedelta(hours=1), [1])  # described, not yet published
    assert early["results"][1]["statuses"] == ["NOT_YET_KNOWN"]
    assert early["results"][1]["values"] == [None]


def test_bad_requests_are_one_line_400s(served) -> None:
    client, _, _ = served
    for body, words in [
        ({"features": ["user:nope"], "entities": {"user_id": [1]}}, "no feature 'user:nope'"),
        (
            {"features": ["user:views_7d"], "entities": {"photo_id": [1]}},
            "needs entities['user_id']",
        ),
        ({"features": [], "entities": {"user_id": [1]}}, "non-empty list"),
        ({"features": FEATURES, "entities": {"user_id": [1], "photo_id": [1, 2]}}, "same number"),
    ]:
        response = client.post("/get-online-features", json=body)
        assert response.status_code == 400 and words in response.json()["error"], body
    response = client.post("/get-online-features", content=b"{not json")
    assert response.status_code == 400 and "the body is not JSON" in response.json()["error"]
    assert '{"features": [...], "entities": {...}}' in response.json()["error"]
    assert client.get("/get-online-features").status_code == 405
    assert client.post("/nowhere", json={}).status_code == 404


def test_every_served_value_is_logged_by_request_day(served) -> None:
    client, lake, log = served
    at = T0 + timedelta(hours=3)
    ask(client, at, [1, 2])
    ask(client, at + timedelta(days=1), [1])
    log.flush()
    day = read_served(lake, "2026-01-02")
    assert len(day) == 2 * len(FEATURES)
    assert set(day["status"]) == {"ok"} and day["request_time"].unique().to_list() == [at]
    first = day.filter((day["entity_id"] == "1") & (day["feature"] == "views_7d")).row(
        0, named=True
    )
    assert json.loads(first["value"]) == 5 and first["known_at"] == T0 + timedelta(hours=2)
    assert len(read_served(lake, "2026-01-03")) == len(FEATURES)
    assert read_served(lake, "2026-01-04").is_empty()


def test_without_at_a_generated_world_is_served_at_its_latest_time(
    store: online.OnlineStore,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A request that names no moment is served as of `read_moment`, the rule `features get`
    follows: in a world whose last day is D, when D's night published (not the wall clock,
    after which user 1's values are past their TTL), and that moment is what the log records."""
    online.upsert(store, user_rows(1, T0, T0 + timedelta(hours=2), views=5))
    world = T0.date().isoformat()  # user 1's values are as of that day's start
    lake = LocalObjectStore(tmp_path / "lake")
    log = ServedLog(lake.url, interval=3600)
    with TestClient(build_app(store, log, lambda: world)) as client:
        got = ask(client, None, [1])
        log.flush()
    assert got["results"][1]["statuses"] == ["PRESENT"] and got["results"][1]["values"] == [5]
    moment = nightly_publish_time(world)
    assert set(read_served(lake, moment.date().isoformat())["request_time"]) == {moment}
    with TestClient(build_app(store, None)) as client:  # no world: the wall clock
        assert ask(client, None, [1])["results"][1]["statuses"] == ["OUTSIDE_MAX_AGE"]


def test_a_failed_world_re_read_keeps_the_last_day_and_says_so(
    store: online.OnlineStore,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`world append` may add a day while the server runs: a re-read that fails (the world's
    folder unreadable for a while) keeps serving the last day read, and is said once in the
    log and in /health until a read works again."""
    import threading
    import time

    import fsdl_data.feature_server as server

    monkeypatch.setattr(server, "WORLD_REFRESH_S", 0.01)
    reads, failed, release = [], threading.Event(), threading.Event()

    def world_day() -> str:
        reads.append(1)
        if len(reads) == 1:
            return "2026-01-02"
        if not release.is_set():
            if len(reads) >= 3:  # failed twice: said once, not twice
                failed.set()
            raise OSError("world folder unreadable")
        return "2026-01-03"

    caplog.set_level("WARNING", logger="uvicorn.error")
    app = build_app(store, None, world_day)
    with TestClient(app) as client:
        assert failed.wait(10)
        assert app.world_day == "2026-01-02"  # the last day read is kept
        assert "world folder unreadable" in client.get("/health").json()["world_read_error"]
        release.set()
        deadline = time.monotonic() + 10
        while app.world_day != "2026-01-03" or app.world_error is not None:
            assert time.monotonic() < deadline, "the world was never read again"
            client.get("/health")
        assert "world_read_error" not in client.get("/health").json()
    said = [r.getMessage() for r in caplog.records if r.name == "uvicorn.error"]
    assert sum("cannot re-read the world's last day" in m for m in said) == 1  # once a streak
    assert any("reads again: 2026-01-03" in m for m in said)
