"""Feature definitions against naive references, feature versions, and the training set's two
ways of asking "as known when" (the join itself is tested in test_pit.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from fsdl_data.core.features import definitions
from fsdl_data.core.features.definitions import (
    FEATURES,
    PHOTO_FEATURE_TABLE,
    USER_FEATURE_TABLE,
    USER_FEATURES,
    photo_features,
    user_features,
)
from fsdl_data.core.features.pit import point_in_time_join
from fsdl_data.core.features.training_set import build_training_set, leaky_rows
from fsdl_data.core.features.versions import as_known_at, merge_versions, stamp

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events(rows: list[tuple[int, str, datetime]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "event_type": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
        },
        schema={"user_id": pl.Int64, "event_type": pl.String, "ts": pl.Datetime("us", "UTC")},
    )


def test_user_features_match_naive_counts() -> None:
    rng = np.random.default_rng(0)
    day = "2026-01-10"
    start = datetime(2026, 1, 10, tzinfo=UTC)
    rows = [
        (int(rng.integers(1, 8)), str(rng.choice(["login", "view", "like", "post"])),
         start + timedelta(minutes=int(rng.integers(-9 * 1440, 2 * 1440))))
        for _ in range(3000)
    ]  # fmt: skip
    users = pl.DataFrame({"user_id": list(range(1, 10))})
    got = user_features(_events(rows), users, day)
    as_of = start + timedelta(days=1)
    for r in got.iter_rows(named=True):
        mine = [
            e for e in rows if e[0] == r["user_id"] and as_of - timedelta(days=7) <= e[2] < as_of
        ]
        today = [e for e in mine if e[2] >= start]
        assert r["logins_1d"] == sum(e[1] == "login" for e in today)
        assert r["posts_1d"] == sum(e[1] == "post" for e in today)
        assert r["views_7d"] == sum(e[1] == "view" for e in mine)
        assert r["likes_7d"] == sum(e[1] == "like" for e in mine)
        assert r["max_event_ts"] == (max(e[2] for e in mine) if mine else None)
        assert r["as_of"] == as_of
    assert sorted(got["user_id"]) == list(range(1, 10))  # users without events get zeros
    assert got.filter(pl.col("user_id") >= 8).select(USER_FEATURES).sum_horizontal().to_list() == [
        0,
        0,
    ]


def test_photo_features() -> None:
    meta = pl.DataFrame(
        {"photo_id": [2, 1], "user_id": [5, 6], "title": ["Lovely lake", "ü"], "location": ["Berlin", "Tokyo"],
         "posted_at": [datetime(2026, 1, 3, 19, 5, tzinfo=UTC), datetime(2026, 1, 3, 0, 1, tzinfo=UTC)]}
    )  # fmt: skip
    f = photo_features(meta)
    assert f["photo_id"].to_list() == [1, 2]
    assert f["post_hour"].to_list() == [0, 19] and f["title_length"].to_list() == [1, 11]
    assert f["post_weekday"].to_list() == [6, 6]  # 2026-01-03 is a Saturday (ISO 6)


def test_training_set_is_leak_free_and_a_leaky_join_is_caught() -> None:
    posted = datetime(2026, 1, 2, 15, tzinfo=UTC)
    pf = pl.DataFrame({"photo_id": [1], "user_id": [7], "posted_at": [posted]})
    events = _events(
        [
            (7, "view", datetime(2026, 1, 1, 10, tzinfo=UTC)),
            (7, "view", datetime(2026, 1, 2, 18, tzinfo=UTC)),
        ]
    )
    users = pl.DataFrame({"user_id": [7]})
    uf = pl.concat(
        [
            stamp(user_features(events, users, day), at(day, 26))
            for day in ("2026-01-01", "2026-01-02")
        ]
    )
    pf = stamp(pf, posted)
    labels = pl.DataFrame({"photo_id": [1], "likes_24h": [3]})
    cls = pl.DataFrame({"photo_id": [1], "p_food": [1.0]})
    ts = build_training_set(pf, uf, cls, labels)
    assert ts["views_7d"].to_list() == [1] and leaky_rows(ts).is_empty()
    # the classic bug: join the features of the posting day itself (computed at its end)
    leaky = pf.join(uf.filter(pl.col("feature_date") == posted.date()).rename({"as_of": "features_as_of",
                    "max_event_ts": "features_max_event_ts", "known_at": "features_known_at"}),
                    on="user_id").with_columns(knowledge_time=pl.lit(None))  # fmt: skip
    assert len(leaky_rows(leaky)) == 1


def at(day: str, hours: float) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=hours)


def test_every_feature_is_defined_as_data_and_in_its_table() -> None:
    names = [f.name for f in FEATURES]
    assert len(names) == len(set(names))
    for feature in FEATURES:
        assert feature.entity in ("user", "photo") and feature.owner.startswith("team:")
        assert feature.description and feature.source in ("events", "photo_metadata")
        table = USER_FEATURE_TABLE if feature.entity == "user" else PHOTO_FEATURE_TABLE
        assert table[feature.name] == feature.dtype
        if feature.entity == "user":
            assert feature.window is not None and feature.ttl == definitions.USER_TTL
    assert definitions.definition("views_7d").window == timedelta(days=7)


def test_versions_append_only_what_changed() -> None:
    key = ["user_id", "as_of"]
    first = stamp(
        pl.DataFrame({"user_id": [1, 2], "as_of": [T0, T0], "views": [5, 7]}), at("2026-01-02", 2)
    )
    merged = merge_versions(None, first, key=key, known_at="known_at")
    assert merged.equals(first.sort(key))
    rerun = stamp(first.drop("known_at"), at("2026-01-02", 3))  # the same values, an hour later
    assert merge_versions(merged, rerun, key=key, known_at="known_at").equals(merged)
    backfill = stamp(pl.DataFrame({"user_id": [1, 2, 3], "as_of": [T0] * 3, "views": [5, 8, None]},
                                  schema_overrides={"views": pl.Int64}), at("2026-01-09", 0))  # fmt: skip
    merged = merge_versions(merged, backfill, key=key, known_at="known_at")
    assert merged.select("user_id", "views").rows() == [(1, 5), (2, 7), (2, 8), (3, None)]
    newest = as_known_at(merged, key=key, known_at="known_at")
    assert newest.select("user_id", "views").rows() == [(1, 5), (2, 8), (3, None)]
    then = as_known_at(merged, key=key, known_at="known_at", moment=at("2026-01-05", 0))
    assert then.select("user_id", "views").rows() == [(1, 5), (2, 7)]


def test_a_recompute_is_always_a_later_version() -> None:
    """A changed value stamped at or before the key's newest known-at (a rerun under a simulated
    clock, a skewed clock) becomes a version one tick after it: never two values at one known-at,
    so the point-in-time join stays unambiguous."""
    key = ["user_id", "as_of"]
    first = stamp(pl.DataFrame({"user_id": [1, 2], "as_of": [T0, T0], "views": [5, 7]}),
                  at("2026-01-02", 2))  # fmt: skip
    for stamped in (at("2026-01-02", 2), at("2026-01-01", 0)):  # the same time, an earlier one
        rerun = stamp(
            pl.DataFrame({"user_id": [1, 2], "as_of": [T0, T0], "views": [5, 8]}), stamped
        )
        merged = merge_versions(first, rerun, key=key, known_at="known_at")
        assert merged.select("user_id", "views").rows() == [(1, 5), (2, 7), (2, 8)]
        assert merged["known_at"].to_list()[-1] == at("2026-01-02", 2) + timedelta(microseconds=1)
        assert not merged.select(*key, "known_at").is_duplicated().any()
        left = pl.DataFrame({"user_id": [2], "t": [at("2026-01-03", 0)]})
        got = point_in_time_join(left, merged, by="user_id", left_time="t", right_time="as_of",
                                 known_at="known_at")  # fmt: skip
        assert got["views"].to_list() == [8]


def test_training_set_at_posting_ignores_backfills_and_as_known_at_reproduces_a_build() -> None:
    events = _events([(7, "view", datetime(2026, 1, 1, 10, tzinfo=UTC))])
    users = pl.DataFrame({"user_id": [7]})
    day1 = stamp(user_features(events, users, "2026-01-01"), at("2026-01-01", 26))  # 01-02 02:00
    posted = [at("2026-01-02", 1), at("2026-01-02", 9)]  # before and after the nightly publish
    pf = stamp(
        pl.DataFrame({"photo_id": [1, 2], "user_id": [7, 7], "posted_at": posted}), posted[1]
    )
    labels = pl.DataFrame({"photo_id": [1, 2], "likes_24h": [3, 4]})
    cls = pl.DataFrame({"photo_id": [1, 2], "p_food": [1.0, 1.0]})
    built = build_training_set(pf, day1, cls, labels)
    # photo 1 was posted before the day's features were published: serving had none for it
    assert built["views_7d"].to_list() == [None, 1] and leaky_rows(built).is_empty()
    # a backfill corrects day 1 a week later (late events): a new version, the old one stays
    late = _events(
        [
            (7, "view", datetime(2026, 1, 1, 10, tzinfo=UTC)),
            (7, "view", datetime(2026, 1, 1, 11, tzinfo=UTC)),
        ]
    )
    corrected = stamp(user_features(late, users, "2026-01-01"), at("2026-01-09", 0))
    versions = merge_versions(day1, corrected, key=["user_id", "as_of"], known_at="known_at")
    assert build_training_set(pf, versions, cls, labels).equals(built)  # at posting: unchanged
    then = build_training_set(pf, versions, cls, labels, as_known_at=at("2026-01-03", 2))
    again = build_training_set(pf, versions, cls, labels, as_known_at=at("2026-01-03", 2))
    now = build_training_set(pf, versions, cls, labels, as_known_at=at("2026-01-10", 0))
    assert then.equals(again) and then["views_7d"].to_list() == [1, 1]
    assert now["views_7d"].to_list() == [2, 2]  # as known now: the corrected value
    assert leaky_rows(now).is_empty()  # published late on purpose: not leakage when asked for


def test_ttl_gives_nulls_not_dropped_rows() -> None:
    events = _events([(7, "view", datetime(2026, 1, 1, 10, tzinfo=UTC))])
    stale = stamp(
        user_features(events, pl.DataFrame({"user_id": [7]}), "2026-01-01"), at("2026-01-01", 26)
    )
    posted = [at("2026-01-03", 23), at("2026-01-04", 1)]  # as_of 01-02 00:00 + 2 days TTL
    pf = stamp(
        pl.DataFrame({"photo_id": [1, 2], "user_id": [7, 7], "posted_at": posted}), posted[1]
    )
    built = build_training_set(
        pf,
        stale,
        pl.DataFrame({"photo_id": [1, 2]}),
        pl.DataFrame({"photo_id": [1, 2], "likes_24h": [0, 0]}),
    )
    assert built["views_7d"].to_list() == [1, None] and len(built) == 2


def test_a_feature_added_as_one_definition_flows_everywhere(tmp_path, monkeypatch) -> None:
    """One new definition, with its own TTL (1 day, where the others have 2): it reaches the
    user_features table, the online store (served and expired by its own TTL), the parity gate,
    the training set (nulled by its own TTL, as online) and the popularity model's inputs."""
    from dataclasses import replace

    from fsdl_data.core.features import online
    from fsdl_data.core.features.parity import check_parity
    from fsdl_data.core.modeling.popularity import feature_matrix
    from fsdl_data.core.storage.appdb import AppDatabase

    likes_1d = replace(definitions.definition("likes_7d"), name="likes_1d",
                       window=timedelta(days=1), ttl=timedelta(days=1),
                       description="Likes the user gave in the day before as_of.")  # fmt: skip
    monkeypatch.setattr(definitions, "FEATURES", (*FEATURES, likes_1d))
    events = _events([(7, "like", at("2026-01-01", 10)), (7, "like", at("2026-01-01", 11)),
                      (7, "view", at("2026-01-01", 12))])  # fmt: skip
    table = stamp(user_features(events, pl.DataFrame({"user_id": [7]}), "2026-01-01"),
                  at("2026-01-02", 2))  # fmt: skip
    assert table["likes_1d"].to_list() == [2] and table["likes_7d"].to_list() == [2]

    fresh, stale = at("2026-01-02", 12), at("2026-01-03", 12)  # 0.5 and 1.5 days after as_of
    db = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        online.upsert(db, online.online_rows(table, "user"))
        for moment, likes_1d_status in ((fresh, "ok"), (stale, "expired")):
            served = {v.feature: v for v in online.read_vector(db, "user", "7", moment)}
            assert served["likes_1d"].status == likes_1d_status
            assert (served["views_7d"].status, served["views_7d"].value) == ("ok", 1)
            parity = check_parity(db, {"user": table}, {"user": ["7"]}, moment)
            assert parity.passed and parity.compared == len(definitions.features_of("user"))
        online.upsert(db, online.online_rows(table.with_columns(likes_1d=pl.lit(9)), "user")
                      .with_columns(known_at=pl.lit(at("2026-01-02", 3)).cast(pl.Datetime("us", "UTC"))))  # fmt: skip
        tampered = check_parity(db, {"user": table}, {"user": ["7"]}, fresh)
        assert [f"{m.feature} {m.online}" for m in tampered.mismatches] == ["likes_1d 9"]
    finally:
        db.dispose()

    meta = pl.DataFrame(
        {"photo_id": [1, 2], "user_id": [7, 7], "title": ["a", "bb"], "location": ["Oslo"] * 2,
         "posted_at": [fresh, stale]},
        schema_overrides={"posted_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    photos = stamp(photo_features(meta), at("2026-01-01", 0))
    labels = pl.DataFrame({"photo_id": [1, 2], "likes_24h": [3, 4]})
    classified = pl.DataFrame({"photo_id": [1, 2], "p_food": [1.0, 0.5], "style_score": [0.1, 0.2]})
    training = build_training_set(photos, table, classified, labels)
    assert training["likes_1d"].to_list() == [2, None]  # its own TTL, as served online
    assert training["likes_7d"].to_list() == [2, 2]
    _, inputs = feature_matrix(training, ["food"])
    assert "likes_1d" in inputs and "likes_7d" in inputs
