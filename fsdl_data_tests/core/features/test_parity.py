"""Unit tests of core/features/parity.py: the online/offline parity gate cannot be fooled by
tampered values or times, refuses to pass on too few entities, and skips an empty day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from fsdl_data.core.features import definitions as f
from fsdl_data.core.features import online
from fsdl_data.core.features.parity import check_parity, sample_ids
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.tables.schemas import empty

DAY = datetime(2026, 1, 3, tzinfo=UTC)
PUBLISHED = DAY + timedelta(hours=2)
MOMENT = DAY + timedelta(hours=3)
TS = pl.Datetime("us", "UTC")


def user_versions(users: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"user_id": list(range(1, users + 1)), "as_of": [DAY] * users,
         "known_at": [PUBLISHED] * users, "logins_1d": [1] * users,
         "views_7d": list(range(users)), "likes_7d": [2] * users, "posts_1d": [0] * users},
        schema_overrides={"as_of": TS, "known_at": TS},
    )  # fmt: skip


def photo_versions(photos: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"photo_id": list(range(100, 100 + photos)), "posted_at": [DAY - timedelta(hours=5)] * photos,
         "known_at": [PUBLISHED] * photos, "post_hour": [19] * photos,
         "post_weekday": [5] * photos, "title_length": [12] * photos, "location": ["Oslo"] * photos},
        schema_overrides={"posted_at": TS, "known_at": TS, "post_hour": pl.Int32,
                          "post_weekday": pl.Int32, "title_length": pl.Int32},
    )  # fmt: skip


@pytest.fixture
def db(tmp_path: Path):
    database = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    yield database
    database.dispose()


def pushed(db: AppDatabase, users: pl.DataFrame, photos: pl.DataFrame) -> dict[str, list[str]]:
    rows = pl.concat([online.online_rows(users, "user"), online.online_rows(photos, "photo")])
    online.upsert(db, rows)
    return {entity: sample_ids(rows, entity, 50, seed=1) for entity in ("user", "photo")}


def tamper(db: AppDatabase, entity_id: str, feature: str, **values: object) -> None:
    table = online.online_features
    with db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.entity_id == entity_id,
                                            table.c.feature == feature).values(**values))  # fmt: skip


def test_agreeing_stores_pass(db: AppDatabase) -> None:
    users, photos = user_versions(12), photo_versions(5)
    parity = check_parity(db, {"user": users, "photo": photos}, pushed(db, users, photos), MOMENT,
                          minimum_entities=10)  # fmt: skip
    assert parity.passed and parity.entities == 17 and not parity.mismatches
    assert parity.compared == 12 * len(f.USER_FEATURES) + 5 * len(f.PHOTO_FEATURES)


def test_a_tampered_value_fails_naming_entity_and_feature(db: AppDatabase) -> None:
    users, photos = user_versions(12), photo_versions(5)
    ids = pushed(db, users, photos)
    tamper(db, "3", "views_7d", value="12345")
    parity = check_parity(db, {"user": users, "photo": photos}, ids, MOMENT)
    assert not parity.passed
    assert [str(m) for m in parity.mismatches] == ["user:3 views_7d: online 12345 != offline 2"]


@pytest.mark.parametrize("column", ["known_at", "event_time"])
def test_an_online_value_dated_after_the_moment_is_a_mismatch(db: AppDatabase, column: str) -> None:
    """A tampered value dated in the future is not skipped: nothing offline made it by then."""
    users, photos = user_versions(12), photo_versions(5)
    ids = pushed(db, users, photos)
    future = (MOMENT + timedelta(days=1)).replace(tzinfo=None)
    tamper(db, "104", "location", value='"Atlantis"', **{column: future})
    parity = check_parity(db, {"user": users, "photo": photos}, ids, MOMENT)
    assert not parity.passed and len(parity.mismatches) == 1
    (mismatch,) = parity.mismatches
    assert (mismatch.entity_id, mismatch.feature) == ("104", "location")
    assert "dated after the check's moment" in str(mismatch)
    assert "dated after" in parity.outcome().description


def test_fewer_entities_than_the_minimum_fail_with_that_reason(db: AppDatabase) -> None:
    users, photos = user_versions(3), photo_versions(2)
    ids = pushed(db, users, photos)
    parity = check_parity(db, {"user": users, "photo": photos}, ids, MOMENT, minimum_entities=10)
    assert not parity.passed and not parity.mismatches
    assert "only 5 entities compared, fewer than the minimum of 10" in parity.outcome().description


def test_a_day_without_photos_compares_the_users(db: AppDatabase) -> None:
    users, photos = user_versions(12), empty(f.PHOTO_FEATURE_TABLE)
    ids = pushed(db, users, photos)
    assert ids["photo"] == []
    parity = check_parity(db, {"user": users, "photo": photos}, ids, MOMENT, minimum_entities=10)
    assert parity.passed and parity.entities == 12
    assert "photo: no photo was pushed" in parity.outcome().description


def test_an_empty_day_is_a_skip_with_a_reason(db: AppDatabase) -> None:
    users, photos = empty(f.USER_FEATURE_TABLE), empty(f.PHOTO_FEATURE_TABLE)
    ids = pushed(db, users, photos)
    parity = check_parity(db, {"user": users, "photo": photos}, ids, MOMENT, minimum_entities=10)
    outcome = parity.outcome()
    assert parity.passed and parity.compared == 0
    assert outcome.description.startswith("skipped: nothing to compare")


def test_expired_on_both_sides_agrees_and_ttl_is_per_feature(db: AppDatabase) -> None:
    """At a moment past the user features' TTL neither side serves them; photo features (no
    TTL) are still compared and agree."""
    users, photos = user_versions(12), photo_versions(5)
    ids = pushed(db, users, photos)
    late = DAY + timedelta(days=5)
    parity = check_parity(db, {"user": users, "photo": photos}, ids, late)
    assert parity.passed
    expected = online.read_vector(db, "user", "1", late)
    assert expected and {v.status for v in expected} == {"expired"}
