"""The world's users and photos: deterministic per (seed, day), ids that never collide across
days, photos posted within their day by users who exist by then."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from fsdl_data.core.world.population import (
    day_start,
    photos_posted_on,
    rng_for,
    users_joined_on,
    users_through,
)
from fsdl_data.core.world.spec import CONTENT_CLASSES, COUNTRIES
from fsdl_data_tests.core.world.specs import random_spec


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_same_seed_and_day_give_the_same_world_and_another_seed_another(seed: int) -> None:
    spec = random_spec(seed)
    again = replace(spec)  # equal, not the cached object
    assert (
        photos_posted_on.__wrapped__(spec, 2).title == photos_posted_on.__wrapped__(again, 2).title
    )
    assert (rng_for(spec, 1, "users").random(3) == rng_for(again, 1, "users").random(3)).all()
    other = replace(spec, seed=seed + 100)
    assert photos_posted_on(spec, 1).title != photos_posted_on(other, 1).title
    # streams are independent: the captions stream is not the photos stream
    assert (rng_for(spec, 1, "captions").random(3) != rng_for(spec, 1, "photos").random(3)).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_users_accumulate_with_unique_ids_and_photos_stay_in_their_day(seed: int) -> None:
    spec = random_spec(seed)
    days = 4
    every = users_through(spec, days - 1)
    joined = [users_joined_on(spec, d) for d in range(days)]
    assert len(every) == sum(len(u) for u in joined)
    assert len(set(every.user_id.tolist())) == len(every)
    assert every.user_id.tolist() == sorted(every.user_id.tolist())
    assert set(every.country.tolist()) <= set(COUNTRIES)
    assert (every.activity > 0).all()
    photo_ids: list[int] = []
    for d in range(days):
        photos = photos_posted_on(spec, d)
        assert len(photos) == spec.photos_per_day
        start = day_start(spec, d)
        assert all(start <= t < start + timedelta(days=1) for t in photos.posted_at)
        assert photos.posted_at == sorted(photos.posted_at)
        posters_known = set(users_through(spec, max(d - 1, 0)).user_id.tolist())
        assert set(photos.user_id.tolist()) <= posters_known
        assert set(photos.content.tolist()) <= set(CONTENT_CLASSES)
        assert ((photos.style >= 0) & (photos.style <= 1)).all()
        photo_ids += photos.photo_id.tolist()
    assert len(set(photo_ids)) == len(photo_ids)  # ids never collide across days
    initial = users_joined_on(spec, 0).signup_at  # signed up over the 60 days before day 0
    assert all(day_start(spec, 0) - timedelta(days=60) <= t < day_start(spec, 0) for t in initial)
    for d in range(1, days):  # later users sign up on the day they join
        start = day_start(spec, d)
        assert all(
            start <= t < start + timedelta(days=1) for t in users_joined_on(spec, d).signup_at
        )
