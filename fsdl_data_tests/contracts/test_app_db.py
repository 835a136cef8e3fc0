"""One contract for the app database: run against SQLite and the local Postgres."""

from __future__ import annotations

from datetime import datetime, timedelta

from fsdl_data.core.storage.appdb import AppDatabase, photos, users


def _photo(pid: int, posted: datetime, updated: datetime, user: int = 1) -> dict:
    return {
        "photo_id": pid, "user_id": user, "title": f"t{pid} ünïcode", "location": "Berlin",
        "posted_at": posted, "object_key": f"photos/{pid}.jpg", "updated_at": updated,
    }  # fmt: skip


def test_insert_count_and_roundtrip(app_db: AppDatabase) -> None:
    t = datetime(2026, 1, 1, 12)
    app_db.insert(
        users, [{"user_id": 1, "username": "a", "country": "DE", "signup_at": t, "updated_at": t}]
    )
    app_db.insert(photos, [_photo(1, t, t)])
    assert app_db.count(users) == 1 and app_db.count(photos) == 1
    (row,) = list(app_db.photos_posted_between(t, t + timedelta(seconds=1)))
    assert row["title"] == "t1 ünïcode" and row["posted_at"] == t


def test_keyset_paging_matches_a_plain_scan(app_db: AppDatabase) -> None:
    """Oracle: paging in batches of 7 yields exactly the rows of the window, each once."""
    start = datetime(2026, 1, 2)
    rows = []
    for pid in range(1, 101):
        posted = start + timedelta(minutes=pid * 20)  # spans the day and beyond
        updated = start + timedelta(seconds=(pid * 37) % 50)  # many ties in updated_at
        rows.append(_photo(pid, posted, updated))
    app_db.insert(photos, rows)
    lo, hi = start, start + timedelta(days=1)
    got = [r["photo_id"] for r in app_db.photos_posted_between(lo, hi, batch=7)]
    expected = [r["photo_id"] for r in rows if lo <= r["posted_at"] < hi]
    assert sorted(got) == sorted(expected)
    assert len(got) == len(set(got))


def test_users_signed_up_before(app_db: AppDatabase) -> None:
    t = datetime(2026, 1, 1)
    app_db.insert(
        users,
        [
            {
                "user_id": i,
                "username": f"u{i}",
                "country": "US",
                "signup_at": t + timedelta(hours=10 * i),
                "updated_at": t,
            }
            for i in range(1, 6)
        ],
    )
    got = [u["user_id"] for u in app_db.users_signed_up_before(t + timedelta(days=1))]
    assert got == [1, 2]


def test_repr_hides_password() -> None:
    db = AppDatabase("postgresql://bob:s3cret@db.example:5432/app")
    assert "s3cret" not in repr(db) and "***" in repr(db)


def test_rows_as_stored_page_like_the_typed_read_and_judge_the_same(app_db: AppDatabase) -> None:
    """The tolerant read (for validation) yields the typed read's rows, each once, in pages,
    and every one of them passes the schema judge unchanged."""
    from datetime import UTC

    from fsdl_data.core.tables.sources import judge_photo_row

    start = datetime(2026, 1, 2)
    rows = [
        _photo(pid, start + timedelta(minutes=pid * 20), start + timedelta(seconds=(pid * 37) % 50))
        for pid in range(1, 101)
    ]
    app_db.insert(photos, rows)
    lo, hi = start, start + timedelta(days=1)
    stored = list(app_db.photo_rows_as_stored(lo, hi, batch=7))
    typed = list(app_db.photos_posted_between(lo, hi))
    assert sorted(r["photo_id"] for r in stored) == sorted(r["photo_id"] for r in typed)
    assert len({r["photo_id"] for r in stored}) == len(stored)
    by_id = {r["photo_id"]: r for r in typed}
    for row in stored:
        judged, reason, _ = judge_photo_row(row, lo.replace(tzinfo=UTC), hi.replace(tzinfo=UTC))
        assert reason == ""
        expected = by_id[row["photo_id"]]
        assert judged["title"] == expected["title"]
        assert judged["posted_at"] == expected["posted_at"].replace(tzinfo=UTC)
