"""Labels from logs, Label Studio parsing, majority votes and ranking metrics, against references."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.labels.human import majority_labels, parse_label_studio
from fsdl_data.core.labels.popularity import likes_within_24h
from fsdl_data.core.modeling.metrics import auc, rankdata, spearman
from fsdl_data.core.tables.schemas import CONTENT_CLASSES

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_likes_within_24h_matches_reference_and_maturity() -> None:
    rng = np.random.default_rng(3)
    photos = pl.DataFrame(
        {
            "photo_id": [1, 2, 3],
            "posted_at": [T0, T0 + timedelta(hours=10), T0 + timedelta(hours=20)],
        }
    )
    rows = [
        (
            int(rng.integers(1, 5)),
            str(rng.choice(["like", "view"])),
            T0 + timedelta(minutes=int(rng.integers(-60, 3000))),
        )
        for _ in range(500)
    ]
    events = pl.DataFrame(
        {
            "photo_id": [r[0] for r in rows],
            "event_type": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
        },
        schema={"photo_id": pl.Int64, "event_type": pl.String, "ts": pl.Datetime("us", "UTC")},
    )
    known_until = T0 + timedelta(hours=40)  # photo 3's 24 h end at 44 h: not over yet
    got = likes_within_24h(photos, events, known_until)
    for pid, posted in zip(photos["photo_id"], photos["posted_at"], strict=True):
        expected = sum(
            1
            for r in rows
            if r[0] == pid and r[1] == "like" and posted <= r[2] < posted + timedelta(hours=24)
        )
        value = got.filter(pl.col("photo_id") == pid)["likes_24h"][0]
        assert value == (expected if posted + timedelta(hours=24) <= known_until else None)


def _task(pid: int, choices: list[list[str]]) -> dict:
    return {
        "id": pid,
        "data": {"photo_id": pid},
        "annotations": [
            {"completed_by": f"a{i}", "result": [{"type": "choices", "value": {"choices": c}}]}
            for i, c in enumerate(choices)
        ],
    }


def test_label_studio_rejections_are_kept_with_reasons() -> None:
    export = json.dumps(
        [
            _task(1, [["food"], ["food"], ["pattern"]]),
            _task(2, [["unicorn"]]),
            _task(99, [["food"]]),
            _task(3, [[]]),
        ]
    ).encode()
    df = parse_label_studio(export, {1, 2, 3}, CONTENT_CLASSES)
    assert len(df) == 6
    reasons = df.group_by("rejected_reason").len().sort("rejected_reason").rows()
    assert reasons == [
        (None, 3),
        ("not_exactly_one_choice", 1),
        ("unknown_class", 1),
        ("unknown_photo_id", 1),
    ]
    maj = majority_labels(df)
    assert maj.rows() == [(1, "food", 3, pytest.approx(2 / 3))]
    bad = parse_label_studio(b"{oops", set(), CONTENT_CLASSES)  # a reason, not an exception
    assert bad["rejected_reason"].to_list() == ["malformed_export"]


def test_majority_ties_are_deterministic() -> None:
    df = parse_label_studio(
        json.dumps([_task(1, [["pattern"], ["city"]])]).encode(), {1}, CONTENT_CLASSES
    )
    assert majority_labels(df)["label"].to_list() == ["city"]


@pytest.mark.parametrize("seed", range(4))
def test_metrics_match_pairwise_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 40).astype(float)  # many ties
    likes = rng.integers(0, 10, 40).astype(float)
    pos = likes > np.median(likes)
    pairs = [(i, j) for i, j in itertools.product(range(40), range(40)) if pos[i] and not pos[j]]
    naive_auc = sum(
        1.0 if scores[i] > scores[j] else 0.5 if scores[i] == scores[j] else 0.0 for i, j in pairs
    ) / len(pairs)
    assert auc(scores, pos) == pytest.approx(naive_auc)
    r = rankdata(scores)
    for v in np.unique(scores):  # tied values share the mean of the positions they occupy
        below = int((scores < v).sum())
        assert np.allclose(r[scores == v], below + ((scores == v).sum() + 1) / 2)
    assert spearman(scores, likes) == pytest.approx(
        np.corrcoef(rankdata(scores), rankdata(likes))[0, 1]
    )
    assert (
        spearman(np.ones(5), np.arange(5)) == 0.0 and auc(np.ones(3), np.array([True] * 3)) == 0.5
    )


def test_label_cutoff_is_the_end_of_the_newest_events_day() -> None:
    from datetime import date

    from fsdl_data.core.labels.popularity import label_cutoff

    assert label_cutoff([date(2026, 1, 1), date(2026, 1, 2)], "2026-01-02") == datetime(
        2026, 1, 3, tzinfo=UTC
    )
    # the day's own events are missing: labels are known only to the end of the day before
    assert label_cutoff([date(2026, 1, 1)], "2026-01-02") == datetime(2026, 1, 2, tzinfo=UTC)
    assert label_cutoff([], "2026-01-02") == datetime(2026, 1, 2, tzinfo=UTC)
