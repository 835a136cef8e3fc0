"""Users and photos of the world, with their hidden traits. Deterministic per (seed, day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache

import numpy as np

from fsdl_data.core.world import captions
from fsdl_data.core.world.spec import (
    ACTIVITY_EFFECT,
    CONTENT_CLASSES,
    CONTENT_EFFECT,
    COUNTRIES,
    EVENING_EFFECT,
    NIGHT_EFFECT,
    NOISE_SD,
    STYLE_EFFECT,
    WorldSpec,
)

_STREAMS = {
    "users": 1,
    "photos": 2,
    "pixels": 3,
    "activity": 4,
    "logins": 5,
    "labels": 6,
    "defects": 7,
    "captions": 8,
    "gold": 9,
    "label_errors": 10,
}
NEW_USER_RATE = 0.02  # new users a day, as a share of the initial population
_CONTENT_PROBS = np.array([0.24, 0.2, 0.2, 0.18, 0.18])
# Hour-of-day (UTC) weights for posting: evenings are busy, nights are quiet.
_HOUR_W = np.array([2, 1, 1, 1, 1, 1, 2, 3, 4, 4, 4, 5, 6, 5, 5, 5, 6, 8, 9, 9, 8, 7, 5, 3], float)


def rng_for(spec: WorldSpec, day_index: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([spec.seed, day_index, _STREAMS[stream]])


def day_start(spec: WorldSpec, day_index: int) -> datetime:
    return datetime.combine(spec.day(day_index), time())


@dataclass(frozen=True)
class Users:
    """Columnar users; `activity` is hidden."""

    user_id: np.ndarray
    country: np.ndarray
    signup_at: list[datetime]
    activity: np.ndarray

    def __len__(self) -> int:
        return len(self.user_id)


@lru_cache(maxsize=64)
def users_joined_on(spec: WorldSpec, day_index: int) -> Users:
    """Day 0 creates the initial population (signed up over the 60 days before); later days add a few."""
    rng = rng_for(spec, day_index, "users")
    if day_index == 0:
        n, first_id = spec.users, 1
        offsets = rng.uniform(-60 * 86400, 0, n)
    else:
        prev = users_through(spec, day_index - 1)
        n, first_id = int(rng.poisson(spec.users * NEW_USER_RATE)), len(prev) + 1
        offsets = rng.uniform(0, 86400, n)
    start = day_start(spec, day_index)
    countries = np.array(list(COUNTRIES))
    return Users(
        user_id=np.arange(first_id, first_id + n, dtype=np.int64),
        country=countries[rng.integers(0, len(countries), n)],
        signup_at=[start + timedelta(seconds=float(s)) for s in np.sort(offsets)],
        activity=rng.lognormal(0.0, 0.7, n),
    )


@lru_cache(maxsize=64)
def users_through(spec: WorldSpec, day_index: int) -> Users:
    parts = [users_joined_on(spec, d) for d in range(day_index + 1)]
    return Users(
        user_id=np.concatenate([p.user_id for p in parts]),
        country=np.concatenate([p.country for p in parts]),
        signup_at=[t for p in parts for t in p.signup_at],
        activity=np.concatenate([p.activity for p in parts]),
    )


@dataclass(frozen=True)
class Photos:
    """Columnar photos of one day; content, style and log_popularity are hidden."""

    photo_id: np.ndarray
    user_id: np.ndarray
    posted_at: list[datetime]
    title: list[str]
    location: list[str]
    content: np.ndarray
    style: np.ndarray
    log_popularity: np.ndarray

    def __len__(self) -> int:
        return len(self.photo_id)


@lru_cache(maxsize=16)
def photos_posted_on(spec: WorldSpec, day_index: int) -> Photos:
    rng = rng_for(spec, day_index, "photos")
    k = spec.photos_per_day
    existing = users_through(spec, day_index - 1) if day_index > 0 else users_joined_on(spec, 0)
    p = existing.activity / existing.activity.sum()
    poster_idx = rng.choice(len(existing), size=k, p=p)
    hours = rng.choice(24, size=k, p=_HOUR_W / _HOUR_W.sum())
    secs = hours * 3600 + rng.integers(0, 3600, k)
    order = np.argsort(secs, kind="stable")
    poster_idx, hours, secs = poster_idx[order], hours[order], secs[order]
    content = np.array(CONTENT_CLASSES)[rng.choice(len(CONTENT_CLASSES), size=k, p=_CONTENT_PROBS)]
    style = rng.beta(2.0, 2.0, k)
    activity = existing.activity[poster_idx]
    log_pop = (
        np.array([CONTENT_EFFECT[c] for c in content])
        + STYLE_EFFECT * (style - 0.5)
        + ACTIVITY_EFFECT * np.log(activity)
        + np.where((hours >= 17) & (hours <= 22), EVENING_EFFECT, 0.0)
        + np.where(hours < 6, NIGHT_EFFECT, 0.0)
        + rng.normal(0, NOISE_SD, k)
    )
    words = rng_for(spec, day_index, "captions")  # own stream: captions never shift hidden factors
    titles, locations = [], []
    for c, country in zip(content, existing.country[poster_idx], strict=True):
        titles.append(captions.caption(words, str(c)))
        locations.append(captions.location(words, str(c), str(country)))
    start = day_start(spec, day_index)
    return Photos(
        photo_id=np.arange(day_index * k + 1, day_index * k + k + 1, dtype=np.int64),
        user_id=existing.user_id[poster_idx],
        posted_at=[start + timedelta(seconds=int(s)) for s in secs],
        title=titles,
        location=locations,
        content=content,
        style=style,
        log_popularity=log_pop,
    )
