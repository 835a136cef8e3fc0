"""Event logs of the world: logins, posts, views and likes, with realistic delivery delays.

Views and likes are driven by each photo's hidden popularity, so "likes in the first 24 hours"
is learnable from content, style, poster activity and posting hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fsdl_data.core.tables.schemas import EVENT_TYPES
from fsdl_data.core.world.population import (
    day_start,
    photos_posted_on,
    rng_for,
    users_joined_on,
    users_through,
)
from fsdl_data.core.world.spec import CLIENTS, COUNTRIES, WorldSpec

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
VIEW_SHARE, LOGIN_SHARE = 0.8, 0.1
LIFETIME_MS = 48 * HOUR_MS  # a photo is viewed for two days after posting
LATE_SHARE = 0.02  # events delivered hours after they happened (phones offline)


@dataclass(frozen=True)
class Events:
    """Columnar events; photo_id is -1 where none."""

    event_id: np.ndarray  # str
    event_type: np.ndarray  # index into EVENT_TYPES
    user_id: np.ndarray
    photo_id: np.ndarray
    ts_ms: np.ndarray  # when it happened (UTC epoch ms)
    arrival_ms: np.ndarray  # when it reached the log

    def __len__(self) -> int:
        return len(self.event_id)

    def take(self, mask: np.ndarray) -> Events:
        return Events(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        return Events(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Events.__dataclass_fields__)
        )


def day_start_ms(spec: WorldSpec, day_index: int) -> int:
    """Midnight UTC of a world day, in epoch milliseconds."""
    d = spec.day(day_index)
    return int(np.datetime64(d.isoformat(), "ms").astype(np.int64))


def _delays(rng: np.random.Generator, n: int) -> np.ndarray:
    late = rng.uniform(size=n) < LATE_SHARE
    return np.where(late, rng.uniform(HOUR_MS, 20 * HOUR_MS, n), rng.uniform(0, 5000, n)).astype(
        np.int64
    )


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), 7))


@lru_cache(maxsize=8)
def photo_activity(spec: WorldSpec, day_index: int) -> Events:
    """Every post, view and like of the photos posted on one day, over their whole lifetime."""
    rng = rng_for(spec, day_index, "activity")
    photos = photos_posted_on(spec, day_index)
    k = len(photos)
    viewers = users_through(spec, day_index)
    w = np.exp(photos.log_popularity)
    w = w / w.mean()
    n_views = rng.poisson(VIEW_SHARE * spec.events_per_day / k * w)
    like_p = np.clip(0.12 * np.sqrt(w), 0.005, 0.8)
    start = day_start(spec, day_index)
    posted_ms = day_start_ms(spec, day_index) + np.array(
        [int((t - start).total_seconds()) * 1000 for t in photos.posted_at], dtype=np.int64
    )

    view_photo = np.repeat(np.arange(k), n_views)
    view_ts = posted_ms[view_photo] + (
        rng.exponential(6 * HOUR_MS, len(view_photo)) % LIFETIME_MS
    ).astype(np.int64)
    p_user = viewers.activity / viewers.activity.sum()
    view_user = viewers.user_id[rng.choice(len(viewers), size=len(view_photo), p=p_user)]
    liked = rng.uniform(size=len(view_photo)) < like_p[view_photo]
    like_ts = view_ts[liked] + rng.exponential(90_000, int(liked.sum())).astype(np.int64)

    types = np.concatenate(
        [np.full(k, 1), np.full(len(view_photo), 2), np.full(int(liked.sum()), 3)]
    )
    n = len(types)
    ts = np.concatenate([posted_ms, view_ts, like_ts])
    return Events(
        event_id=_ids(f"e{day_index:05d}p", n),
        event_type=types,
        user_id=np.concatenate([photos.user_id, view_user, view_user[liked]]),
        photo_id=np.concatenate(
            [photos.photo_id, photos.photo_id[view_photo], photos.photo_id[view_photo[liked]]]
        ),
        ts_ms=ts,
        arrival_ms=ts + _delays(rng, n),
    )


@lru_cache(maxsize=8)
def logins(spec: WorldSpec, day_index: int) -> Events:
    rng = rng_for(spec, day_index, "logins")
    users = users_through(spec, day_index)
    base = users_joined_on(spec, 0).activity.sum()
    counts = rng.poisson(users.activity * LOGIN_SHARE * spec.events_per_day / base)
    idx = np.repeat(np.arange(len(users)), counts)
    start = day_start_ms(spec, day_index)
    signup_ms = np.array(
        [int((t - day_start(spec, day_index)).total_seconds() * 1000) for t in users.signup_at]
    )
    earliest = np.maximum(signup_ms[idx], 0)
    ts = start + (earliest + rng.uniform(size=len(idx)) * (DAY_MS - earliest)).astype(np.int64)
    n = len(idx)
    return Events(
        event_id=_ids(f"e{day_index:05d}l", n),
        event_type=np.zeros(n, dtype=np.int64),
        user_id=users.user_id[idx],
        photo_id=np.full(n, -1, dtype=np.int64),
        ts_ms=ts,
        arrival_ms=ts + _delays(rng, n),
    )


def events_arriving_on(spec: WorldSpec, day_index: int) -> Events:
    """All events whose delivery falls on this day, ordered by arrival."""
    parts = [photo_activity(spec, p) for p in range(max(0, day_index - 3), day_index + 1)]
    parts += [logins(spec, d) for d in range(max(0, day_index - 1), day_index + 1)]
    ev = Events.concat(parts)
    lo = day_start_ms(spec, day_index)
    ev = ev.take((ev.arrival_ms >= lo) & (ev.arrival_ms < lo + DAY_MS))
    return ev.take(np.argsort(ev.arrival_ms, kind="stable"))


def render_lines(spec: WorldSpec, day_index: int, ev: Events) -> list[bytes]:
    """JSON lines as the app's clients write them: local time with offset, or legacy epoch ms."""
    rng = rng_for(spec, day_index, "defects")  # own stream: rendering choices only
    users = users_through(spec, day_index)
    offsets_h = np.array([COUNTRIES[c][0] for c in users.country])[ev.user_id - 1]
    local = (ev.ts_ms + offsets_h * HOUR_MS).astype("datetime64[ms]")
    iso = np.datetime_as_string(local, unit="ms")
    sign = np.where(offsets_h < 0, "-", "+")
    legacy = rng.uniform(size=len(ev)) < 0.1
    clients = np.array(CLIENTS)[rng.integers(0, len(CLIENTS), len(ev))]
    lines = []
    for i in range(len(ev)):
        ts = (
            str(int(ev.ts_ms[i]))
            if legacy[i]
            else f'"{iso[i]}{sign[i]}{abs(int(offsets_h[i])):02d}:00"'
        )
        pid = "null" if ev.photo_id[i] < 0 else str(int(ev.photo_id[i]))
        lines.append(
            f'{{"event_id":"{ev.event_id[i]}","event_type":"{EVENT_TYPES[ev.event_type[i]]}",'
            f'"user_id":{int(ev.user_id[i])},"photo_id":{pid},"ts":{ts},"client":"{clients[i]}"}}'.encode()
        )
    return lines
