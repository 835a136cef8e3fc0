"""The world's event logs: every event is delivered on exactly one day, in arrival order; a like
follows its view by the same user; logins never precede the signup; the rendered lines say the
same events in the clients' formats."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pytest

from fsdl_data.core.tables.schemas import EVENT_TYPES
from fsdl_data.core.world.activity import (
    DAY_MS,
    day_start_ms,
    events_arriving_on,
    logins,
    photo_activity,
    render_lines,
)
from fsdl_data.core.world.population import users_through
from fsdl_data.core.world.spec import COUNTRIES
from fsdl_data_tests.core.world.specs import random_spec


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_event_arrives_on_exactly_one_day_in_arrival_order(seed: int) -> None:
    spec = random_spec(seed)
    horizon = 6
    delivered: list[str] = []
    for d in range(horizon):
        events = events_arriving_on(spec, d)
        start = day_start_ms(spec, d)
        assert ((events.arrival_ms >= start) & (events.arrival_ms < start + DAY_MS)).all()
        assert (np.diff(events.arrival_ms) >= 0).all()
        assert (events.arrival_ms >= events.ts_ms).all()  # never delivered before it happened
        delivered += events.event_id.tolist()
    assert len(delivered) == len(set(delivered))  # no event delivered twice
    first = photo_activity(spec, 0)
    settled = first.event_id[first.arrival_ms < day_start_ms(spec, horizon)]
    assert set(settled.tolist()) <= set(delivered)  # and none lost


@pytest.mark.parametrize("seed", [0, 1])
def test_likes_follow_views_and_logins_follow_signups(seed: int) -> None:
    spec = random_spec(seed)
    day = 1
    events = photo_activity(spec, day)
    kinds = np.array(EVENT_TYPES)[events.event_type]
    views = {
        (u, p)
        for u, p, k in zip(events.user_id, events.photo_id, kinds, strict=True)
        if k == "view"
    }
    likes = [
        (u, p)
        for u, p, k in zip(events.user_id, events.photo_id, kinds, strict=True)
        if k == "like"
    ]
    assert all(like in views for like in likes)
    posts = kinds == "post"
    assert posts.sum() == spec.photos_per_day
    posted = dict(zip(events.photo_id[posts], events.ts_ms[posts], strict=True))
    assert all(ts >= posted[p] for p, ts in zip(events.photo_id, events.ts_ms, strict=True))
    entered = logins(spec, day)
    users = users_through(spec, day)
    signup_ms = {
        int(u): int((t - datetime(1970, 1, 1)).total_seconds() * 1000)
        for u, t in zip(users.user_id, users.signup_at, strict=True)
    }
    assert (entered.photo_id == -1).all()
    assert all(
        ts >= signup_ms[int(u)] for u, ts in zip(entered.user_id, entered.ts_ms, strict=True)
    )


def test_rendered_lines_carry_the_events_in_the_clients_formats() -> None:
    spec = random_spec(4)
    day = 2
    events = events_arriving_on(spec, day)
    lines = render_lines(spec, day, events)
    users = users_through(spec, day)
    offsets = {int(u): COUNTRIES[c][0] for u, c in zip(users.user_id, users.country, strict=True)}
    assert len(lines) == len(events)
    for line, i in zip(lines, range(len(events)), strict=True):
        record = json.loads(line)
        assert record["event_id"] == events.event_id[i]
        assert record["event_type"] == EVENT_TYPES[events.event_type[i]]
        assert record["photo_id"] == (None if events.photo_id[i] < 0 else int(events.photo_id[i]))
        if isinstance(record["ts"], int):  # a legacy client: epoch milliseconds
            assert record["ts"] == int(events.ts_ms[i])
        else:  # local time with the user's country's offset, naming the same moment
            moment = datetime.fromisoformat(record["ts"])
            assert moment.utcoffset() == timedelta(hours=offsets[record["user_id"]])
            assert int(moment.timestamp() * 1000) == int(events.ts_ms[i])
