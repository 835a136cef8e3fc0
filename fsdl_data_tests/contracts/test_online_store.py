"""The online store's contract, on SQLite and on Postgres: newest-wins upserts that commute,
TTL applied on read, missing entities and expired values reported as such."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from fsdl_data.core.features import online
from fsdl_data.core.features.definitions import USER_FEATURES
from fsdl_data.core.storage.appdb import AppDatabase

T0 = datetime(2026, 1, 2, tzinfo=UTC)


def user_rows(user: int, as_of: datetime, known: datetime, views: int) -> pl.DataFrame:
    table = pl.DataFrame(
        {"user_id": [user], "as_of": [as_of], "known_at": [known], "logins_1d": [1],
         "views_7d": [views], "likes_7d": [0], "posts_1d": [2]},
        schema_overrides={"as_of": pl.Datetime("us", "UTC"), "known_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    return online.online_rows(table, "user")


def views(db: AppDatabase, user: int, at: datetime) -> object:
    vector = online.read_vector(db, "user", str(user), at)
    assert vector is not None
    return next(v for v in vector if v.feature == "views_7d")


def test_newest_value_wins_whatever_the_order(app_db: AppDatabase) -> None:
    old = user_rows(1, T0, T0 + timedelta(hours=2), views=5)
    corrected = user_rows(1, T0, T0 + timedelta(days=3), views=6)  # same day, published later
    newer_day = user_rows(1, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=2), views=9)
    for order in ([old, corrected, newer_day], [newer_day, corrected, old]):
        app_db.engine.dispose()
        with app_db.engine.begin() as conn:
            online.metadata.drop_all(conn)
        for rows in order:
            online.upsert(app_db, rows)
        served = views(app_db, 1, T0 + timedelta(days=1, hours=3))
        assert (served.value, served.status) == (9, "ok")
        assert served.event_time == T0 + timedelta(days=1)
    online.upsert(app_db, corrected)  # replaying an old day never overwrites a newer one
    assert views(app_db, 1, T0 + timedelta(days=1, hours=3)).value == 9


def test_ttl_on_read_and_missing_entities(app_db: AppDatabase) -> None:
    online.upsert(app_db, user_rows(2, T0, T0 + timedelta(hours=2), views=3))
    fresh = views(app_db, 2, T0 + timedelta(days=1))
    expired = views(app_db, 2, T0 + timedelta(days=2))  # TTL 2 days: at exactly as_of + 2 days
    assert (fresh.status, fresh.value) == ("ok", 3)
    assert (expired.status, expired.value) == ("expired", None) and expired.event_time == T0
    assert online.read_vector(app_db, "user", "999", T0) is None
    vector = online.read_vector(app_db, "user", "2", T0 + timedelta(hours=3))
    assert [v.feature for v in vector] == list(USER_FEATURES)


def test_long_format(app_db: AppDatabase) -> None:
    rows = user_rows(3, T0, T0, views=1)
    assert rows.schema == pl.Schema(online.ONLINE_ROWS)
    assert sorted(rows["feature"]) == sorted(USER_FEATURES)
    assert online.upsert(app_db, rows) == len(USER_FEATURES)
    stored = online.read_rows(app_db, "user", ["3"]).sort("feature")
    assert stored.equals(rows.sort("feature"))
