"""The point-in-time join and feature definitions against naive references."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.features.definitions import USER_FEATURES, photo_features, user_features
from fsdl_data.core.features.pit import point_in_time_join
from fsdl_data.core.features.training_set import build_training_set, leaky_rows

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def naive_pit(left: list[dict], right: list[dict]) -> list[int | None]:
    """For each left row, the value of the right row with the same key and the largest time <= t
    (the last such row in input order on ties)."""
    out = []
    for lrow in left:
        best = None
        for r in right:
            if (
                r["k"] == lrow["k"]
                and r["rt"] <= lrow["t"]
                and (best is None or r["rt"] >= best["rt"])
            ):
                best = r
        out.append(None if best is None else best["v"])
    return out


@pytest.mark.parametrize("seed", range(5))
def test_pit_matches_naive_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # coarse times so equal timestamps (edge: right_time == left_time) happen often
    left = [
        {"k": int(rng.integers(0, 6)), "t": T0 + timedelta(hours=int(rng.integers(0, 30)))}
        for _ in range(200)
    ]
    right, seen = [], set()
    for i in range(120):
        k, rt = int(rng.integers(0, 7)), T0 + timedelta(hours=int(rng.integers(0, 30)))
        if (k, rt) in seen:
            continue  # one feature row per (key, time), as feature tables have
        seen.add((k, rt))
        right.append({"k": k, "rt": rt, "v": i})
    got = point_in_time_join(
        pl.DataFrame(left), pl.DataFrame(right), by="k", left_time="t", right_time="rt"
    )
    assert got["v"].to_list() == naive_pit(left, right)
    assert got.select("k", "t").equals(pl.DataFrame(left))  # all left rows, order kept


def test_pit_edge_cases() -> None:
    left = pl.DataFrame({"k": [1, 1, 2, 3], "t": [T0, T0 + timedelta(hours=1), T0, T0]})
    right = pl.DataFrame(
        {
            "k": [1, 1, 2],
            "rt": [T0, T0 + timedelta(hours=2), T0 + timedelta(seconds=1)],
            "v": [10, 20, 30],
        }
    )
    got = point_in_time_join(left, right, by="k", left_time="t", right_time="rt")
    # equal time is known; a later row is not; a row one second later is not; no rows at all -> null
    assert got["v"].to_list() == [10, 10, None, None]
    empty = point_in_time_join(left, right.head(0), by="k", left_time="t", right_time="rt")
    assert empty["v"].null_count() == 4


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
        [user_features(events, users, "2026-01-01"), user_features(events, users, "2026-01-02")]
    )
    labels = pl.DataFrame({"photo_id": [1], "likes_24h": [3]})
    cls = pl.DataFrame({"photo_id": [1], "p_food": [1.0]})
    ts = build_training_set(pf, uf, cls, labels)
    assert ts["views_7d"].to_list() == [1] and leaky_rows(ts).is_empty()
    # the classic bug: join the features of the posting day itself (computed at its end)
    leaky = pf.join(uf.filter(pl.col("feature_date") == posted.date()).rename({"as_of": "features_as_of",
                    "max_event_ts": "features_max_event_ts"}), on="user_id")  # fmt: skip
    assert len(leaky_rows(leaky)) == 1
