"""The online store's contract, on every backend (SQLite, Postgres, Redis): newest-wins upserts
that commute, also from concurrent writer processes; as-of reads (event time and known-at no
later than the moment, within TTL) with a status that says why a value is not served."""

from __future__ import annotations

import multiprocessing
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from fsdl_data.core.features import online
from fsdl_data.core.features.definitions import USER_FEATURES
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data_tests.conftest import service_missing

T0 = datetime(2026, 1, 2, tzinfo=UTC)
REDIS_URL = "redis://127.0.0.1:6379/0"


def open_store(url: str, prefix: str) -> online.OnlineStore:
    if url.startswith("redis"):
        return online.RedisOnlineStore(url, prefix=prefix)
    return online.open_online_store(url)


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(url, key prefix) of a fresh online store on each backend."""
    prefix = f"fsdl-test-{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}", prefix
    elif request.param == "postgres":
        yield request.getfixturevalue("pg_database"), prefix
    else:
        import redis

        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
        except redis.RedisError:
            service_missing(f"Redis at {REDIS_URL}")
        yield REDIS_URL, prefix
        online.RedisOnlineStore(REDIS_URL, prefix=prefix).clear()


@pytest.fixture
def store(store_url: tuple[str, str]) -> Iterator[online.OnlineStore]:
    opened = open_store(*store_url)
    try:
        yield opened
    finally:
        opened.close()


def user_rows(user: int, as_of: datetime, known: datetime, views: int) -> pl.DataFrame:
    table = pl.DataFrame(
        {"user_id": [user], "as_of": [as_of], "known_at": [known], "logins_1d": [1],
         "views_7d": [views], "likes_7d": [0], "posts_1d": [2]},
        schema_overrides={"as_of": pl.Datetime("us", "UTC"), "known_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    return online.online_rows(table, "user")


def views(store: online.OnlineStore, user: int, at: datetime) -> online.OnlineValue:
    vector = online.read_vector(store, "user", str(user), at)
    assert vector is not None
    return next(v for v in vector if v.feature == "views_7d")


def test_newest_value_wins_whatever_the_order(store: online.OnlineStore) -> None:
    old = user_rows(1, T0, T0 + timedelta(hours=2), views=5)
    corrected = user_rows(1, T0, T0 + timedelta(days=3), views=6)  # same day, published later
    newer_day = user_rows(1, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=2), views=9)
    for order in ([old, corrected, newer_day], [newer_day, corrected, old]):
        store.clear()
        for rows in order:
            online.upsert(store, rows)
        served = views(store, 1, T0 + timedelta(days=1, hours=3))
        assert (served.value, served.status) == (9, "ok")
        assert served.event_time == T0 + timedelta(days=1)
    online.upsert(store, corrected)  # replaying an old day never overwrites a newer one
    assert views(store, 1, T0 + timedelta(days=1, hours=3)).value == 9


def test_forget_deletes_one_entity_and_no_other(store: online.OnlineStore) -> None:
    rng = random.Random()
    users = rng.sample(range(1, 500), rng.randint(3, 8))
    for user in users:
        online.upsert(store, user_rows(user, T0, T0 + timedelta(hours=2), views=user))
    forgotten, kept = users[0], users[1:]
    assert store.forget("user", [str(forgotten)]) == len(USER_FEATURES)
    assert store.records("user", [str(forgotten)]) == []
    assert store.forget("user", [str(forgotten)]) == 0  # again: nothing left, no error
    for user in kept:
        assert views(store, user, T0 + timedelta(hours=3)).value == user


def test_same_event_time_published_later_wins(store: online.OnlineStore) -> None:
    online.upsert(store, user_rows(4, T0, T0 + timedelta(days=1), views=6))
    online.upsert(store, user_rows(4, T0, T0 + timedelta(hours=2), views=5))
    served = views(store, 4, T0 + timedelta(days=1, hours=1))
    assert (served.value, served.known_at) == (6, T0 + timedelta(days=1))


def test_ttl_on_read_and_missing_entities(store: online.OnlineStore) -> None:
    online.upsert(store, user_rows(2, T0, T0 + timedelta(hours=2), views=3))
    fresh = views(store, 2, T0 + timedelta(days=1))
    expired = views(store, 2, T0 + timedelta(days=2))  # TTL 2 days: at exactly as_of + 2 days
    assert (fresh.status, fresh.value) == ("ok", 3)
    assert (expired.status, expired.value) == ("expired", None) and expired.event_time == T0
    assert online.read_vector(store, "user", "999", T0) is None
    vector = online.read_vector(store, "user", "2", T0 + timedelta(hours=3))
    assert [v.feature for v in vector] == list(USER_FEATURES)


def test_as_of_reads_never_serve_what_was_not_known_yet(store: online.OnlineStore) -> None:
    """Published at T0 + 2 h for the moment T0: before T0 it describes the future, between T0
    and its publication nobody had it yet, from then on it is served until its TTL."""
    online.upsert(store, user_rows(5, T0, T0 + timedelta(hours=2), views=7))
    for at, status in [
        (T0 - timedelta(hours=1), "not_yet_known"),  # event time after at
        (T0 + timedelta(hours=1), "not_yet_known"),  # known-at after at
        (T0 + timedelta(hours=2), "ok"),  # exactly when published
        (T0 + timedelta(days=2), "expired"),
    ]:
        served = views(store, 5, at)
        assert served.status == status, at
        assert (served.value == 7) == (status == "ok")
        assert served.as_json()["known_at"] == "2026-01-02T02:00:00+00:00"


def test_long_format(store: online.OnlineStore) -> None:
    rows = user_rows(3, T0, T0, views=1)
    assert rows.schema == pl.Schema(online.ONLINE_ROWS)
    assert sorted(rows["feature"]) == sorted(USER_FEATURES)
    assert online.upsert(store, rows) == len(USER_FEATURES)
    stored = online.read_rows(store, "user", ["3"]).sort("feature")
    assert stored.equals(rows.sort("feature"))


def test_app_database_is_the_sql_backend(app_db: AppDatabase) -> None:
    """An AppDatabase is accepted wherever a store is (the embedded default)."""
    online.upsert(app_db, user_rows(6, T0, T0 + timedelta(hours=2), views=2))
    assert views(online.as_store(app_db), 6, T0 + timedelta(hours=3)).value == 2


WRITERS, USERS, BATCHES = 4, 30, 12


def versions_of(writer: int) -> list[tuple[int, datetime, datetime, int]]:
    """(user, event time, known-at, views) the writer publishes, overlapping the others'."""
    rng = random.Random(writer)
    return [
        (rng.randrange(USERS), T0 + timedelta(days=rng.randrange(4)),
         T0 + timedelta(days=4, minutes=rng.randrange(10_000)), rng.randrange(1_000_000))
        for _ in range(BATCHES * USERS)
    ]  # fmt: skip


def write_versions(url: str, prefix: str, writer: int) -> None:
    """One writer process: its versions in batches, each batch one upsert."""
    store = open_store(url, prefix)
    try:
        mine = versions_of(writer)
        for start in range(0, len(mine), USERS):
            frames = [user_rows(u, e, k, v) for u, e, k, v in mine[start : start + USERS]]
            online.upsert(store, pl.concat(frames))
            online.read_rows(store, "user", [str(u) for u in range(USERS)])  # a reader too
    finally:
        store.close()


def test_concurrent_writer_processes_lose_no_upsert(store_url: tuple[str, str]) -> None:
    """4 writer processes upsert overlapping versions at once (and read between batches): no
    lock error, and each key holds the newest version any of them wrote (event time, then
    known-at), as a naive reference over all versions says."""
    url, prefix = store_url
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=write_versions, args=(url, prefix, w)) for w in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0] * WRITERS
    newest: dict[int, tuple[datetime, datetime, int]] = {}
    for writer in range(WRITERS):
        for user, event, known, value in versions_of(writer):
            if user not in newest or (event, known) > newest[user][:2]:
                newest[user] = (event, known, value)
    store = open_store(url, prefix)
    try:
        stored = online.read_rows(store, "user", [str(u) for u in newest])
    finally:
        store.close()
    got = {
        int(r["entity_id"]): (r["event_time"], r["known_at"], int(r["value"]))
        for r in stored.filter(pl.col("feature") == "views_7d").iter_rows(named=True)
    }
    assert got == newest


def test_postgres_reads_look_ids_up_after_a_large_push(pg_database: str) -> None:
    """After a push of many users the serving read uses the key for the ids (fresh planner
    statistics, and its plan made again with them), not a filter over every user row; also
    when it was first planned on the empty table, as a server started before the push is."""
    store = online.open_online_store(pg_database)
    try:
        assert store.records("user", ["1", "2"]) == []  # prepared and planned: an empty table
        users = random.randint(12_000, 16_000)  # a table the planner would not scan whole
        table = pl.DataFrame(
            {"user_id": list(range(users)), "as_of": [T0] * users, "known_at": [T0] * users,
             **{name: [1] * users for name in USER_FEATURES}},
            schema_overrides={"as_of": pl.Datetime("us", "UTC"),
                              "known_at": pl.Datetime("us", "UTC")},
        )  # fmt: skip
        online.upsert(store, online.online_rows(table, "user"))
        ids = [str(i) for i in random.sample(range(users), 50)]
        assert len(store.records("user", ids)) == 50 * len(USER_FEATURES)
        cursor = store._reader()  # type: ignore[attr-defined]  # the serving read's own plan
        cursor.execute("EXPLAIN " + online._PG_EXECUTE, ("user", online._PG_SEPARATOR.join(ids)))
        plan = "\n".join(row[0] for row in cursor.fetchall())
        index_condition = next(line for line in plan.splitlines() if "Index Cond" in line)
        assert "entity_id" in index_condition, plan
    finally:
        store.close()


@pytest.mark.parametrize("store_url", ["postgres", "redis"], indirect=True)  # SQLite: no server
def test_reads_survive_a_dropped_connection(store_url: tuple[str, str]) -> None:
    """The serving read holds its connection (and on Redis its script, on Postgres its prepared
    statement): when the server drops the connection, or Redis forgets its scripts (a restart,
    SCRIPT FLUSH), the next read reconnects and answers the same."""
    url, prefix = store_url
    store = open_store(url, prefix)
    try:
        online.upsert(store, user_rows(7, T0, T0, views=3))
        before = store.records("user", ["7"], ["views_7d"])
        assert [r.value for r in before] == ["3"]
        for _ in range(2):
            if isinstance(store, online.RedisOnlineStore):
                store.client.script_flush()
                assert store.records("user", ["7"], ["views_7d"]) == before
                store.client.client_kill_filter(skipme=True)  # every other connection: the held one
            else:
                import psycopg2

                admin = psycopg2.connect(url)
                admin.autocommit = True
                admin.cursor().execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                admin.close()
            assert store.records("user", ["7"], ["views_7d"]) == before
    finally:
        store.close()


def test_any_id_reads_back(store: online.OnlineStore) -> None:
    """Ids are text of any shape: empty, with spaces, separators or control characters (the
    Postgres read sends the ids as one text where it can), and each reads back alone or with
    others."""
    ids = ["", "a b", "a\x1fb", "a,b", "7", "é"]
    store.upsert([online.Record(i, "views_7d", str(n), T0, T0) for n, i in enumerate(ids)], "user")
    for entity_id in ids:
        assert [(r.entity_id, r.value) for r in store.records("user", [entity_id])] == [
            (entity_id, str(ids.index(entity_id)))
        ]
    got = {r.entity_id: r.value for r in store.records("user", [*ids, "absent"], ["views_7d"])}
    assert got == {i: str(n) for n, i in enumerate(ids)}
