"""Writes a generated world into real storage: JPEGs and event logs into the object store,
users and photos into the app database, the seed labels as Label Studio JSON, and the hidden
truth into a folder of its own that no asset reads.

Every day is a pure function of (spec, day), so `append` produces exactly what `seed` would have.
A day generated after an erasure (`fsdl-data forget`) honours it: given the erased subjects'
digests, it leaves out what `forget` would have erased from it (the users, their photos, every
row and line naming them), and everything else is byte for byte what it would have been.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.privacy.subjects import LOG_COMPRESSION, Footprint, Subject, scrub
from fsdl_data.core.storage.appdb import AppDatabase, photos, users
from fsdl_data.core.storage.objects import ObjectNotFound, ObjectStore
from fsdl_data.core.world import activity, defects
from fsdl_data.core.world.annotations import gold_label_tasks, photo_key, seed_label_tasks
from fsdl_data.core.world.images import encode_jpeg, render_photo
from fsdl_data.core.world.population import (
    photos_posted_on,
    rng_for,
    users_joined_on,
    users_through,
)
from fsdl_data.core.world.spec import WorldSpec

MANIFEST_KEY = "world/manifest.json"
LINES_PER_LOG_FILE = 50_000
SUCCESS_MARKER = "_SUCCESS"  # written last into a day's log prefix, as Hadoop and Spark jobs do
ORPHAN_USER_BASE = 10**9  # user ids no real user has: the orphan-photo defect


@dataclass(frozen=True)
class DayReport:
    day: str
    users: int
    photos: int
    events: int
    seed_tasks: int
    gold_tasks: int
    defects: dict[str, int]


def read_manifest(store: ObjectStore) -> tuple[WorldSpec, int] | None:
    try:
        d = json.loads(store.get(MANIFEST_KEY))
    except ObjectNotFound:
        return None
    return WorldSpec.from_json(json.dumps(d)), int(d["days"])


def _write_manifest(store: ObjectStore, spec: WorldSpec, days: int) -> None:
    d = json.loads(spec.to_json())
    d["days"] = days
    store.put(MANIFEST_KEY, json.dumps(d, indent=2, sort_keys=True).encode())


def log_key(day: str, part: int) -> str:
    return f"{day_folder('events', day)}part-{part:05d}.jsonl.gz"


EVENT_DAYS_BACK = 3  # events_arriving_on reads the photo activity of this many days before


def erased_footprint(spec: WorldSpec, day_index: int, erased: frozenset[str]) -> Footprint:
    """What a day must leave out for the erased subjects (their digests, as the erasure reports
    keep them): the erased users, every photo they posted and every erased photo among those
    whose activity reaches this day's logs, with those photos' keys."""
    if not erased:
        return Footprint()
    people = users_through(spec, day_index).user_id
    gone = {int(u) for u in people if Subject("user", int(u)).digest in erased}
    photo_ids: set[int] = set()
    keys: set[str] = set()
    for d in range(max(0, day_index - EVENT_DAYS_BACK), day_index + 1):
        posted = photos_posted_on(spec, d)
        for pid, uid in zip(posted.photo_id.tolist(), posted.user_id.tolist(), strict=True):
            if uid in gone or Subject("photo", pid).digest in erased:
                photo_ids.add(pid)
                keys.add(photo_key(spec, d, pid))
    return Footprint(frozenset(gone), frozenset(photo_ids), frozenset(keys))


def generate_day(
    spec: WorldSpec, day_index: int, store: ObjectStore, db: AppDatabase, truth_dir: Path,
    erased: frozenset[str] = frozenset(),
) -> DayReport:  # fmt: skip
    """Writes one world day; `erased` holds the digests of subjects erased since (their rows,
    lines, photos and label tasks are left out, as `forget` would have erased them)."""
    day = spec.day(day_index).isoformat()
    drng = rng_for(spec, day_index, "defects")
    dlog = defects.DefectLog()
    footprint = erased_footprint(spec, day_index, erased)
    left_out = {"lines": 0}

    def put(key: str, data: bytes) -> None:
        """Stores an object as `forget` would leave it: the one scrub, applied before writing."""
        if footprint:
            found = scrub(key, data, footprint)
            if found.removed:
                return
            data = found.data
            if key.endswith(".jsonl.gz"):
                left_out["lines"] += found.erased
        store.put(key, data)

    # users who joined today
    new = users_joined_on(spec, day_index)
    db.insert(
        users,
        [
            {
                "user_id": int(u),
                "username": f"user{int(u)}",
                "country": str(c),
                "signup_at": s,
                "updated_at": s,
            }
            for u, c, s in zip(new.user_id, new.country, new.signup_at, strict=True)
            if int(u) not in footprint.users
        ],
    )

    # photos: pixels into the object store, rows into the app database
    ph = photos_posted_on(spec, day_index)
    prng = rng_for(spec, day_index, "pixels")
    blobs = {
        photo_key(spec, day_index, int(pid)): encode_jpeg(render_photo(prng, str(c), float(s)))
        for pid, c, s in zip(ph.photo_id, ph.content, ph.style, strict=True)
    }
    poster = ph.user_id.copy()
    if spec.defects:
        defects.corrupt_images(drng, blobs, dlog)
        orphan = int(drng.integers(len(ph)))  # drawn either way: the rest stays identical
        if spec.orphan_photos:
            poster[orphan] = ORPHAN_USER_BASE + int(ph.photo_id[orphan])
            dlog.add("orphan_photo", str(int(ph.photo_id[orphan])))
    for key, data in blobs.items():
        put(key, data)
    db.insert(
        photos,
        [
            {
                "photo_id": int(pid),
                "user_id": int(uid),
                "title": t,
                "location": loc,
                "posted_at": at,
                "object_key": photo_key(spec, day_index, int(pid)),
                "updated_at": at + timedelta(seconds=int(prng.integers(1, 120))),
            }
            for pid, uid, t, loc, at in zip(
                ph.photo_id, poster, ph.title, ph.location, ph.posted_at, strict=True
            )
            if int(pid) not in footprint.photos
        ],
    )

    # event logs: gzipped JSON lines under the day's prefix
    ev = activity.events_arriving_on(spec, day_index)
    lines = activity.render_lines(spec, day_index, ev)
    if spec.defects:
        lines = defects.corrupt_log_lines(drng, lines, activity.day_start_ms(spec, day_index), dlog)
    for part, i in enumerate(range(0, max(len(lines), 1), LINES_PER_LOG_FILE)):
        body = b"\n".join(lines[i : i + LINES_PER_LOG_FILE]) + b"\n"
        put(log_key(day, part), gzip.compress(body, compresslevel=LOG_COMPRESSION, mtime=0))
    store.put(f"{day_folder('events', day)}{SUCCESS_MARKER}", b"")  # the day's logs are complete

    # the human-labeled seed set, as a Label Studio export
    tasks = seed_label_tasks(spec, day_index, store.uri)
    put(f"{day_folder('labels/seed', day)}tasks.json", json.dumps(tasks, indent=1).encode())
    gold = gold_label_tasks(spec, day_index, store.uri)
    put(f"{day_folder('labels/gold', day)}tasks.json", json.dumps(gold, indent=1).encode())
    tasks = [t for t in tasks if t["id"] not in footprint.photos]
    gold = [t for t in gold if t["id"] not in footprint.photos]

    _write_truth(spec, day_index, truth_dir, dlog)
    return DayReport(
        day=day,
        users=sum(int(u) not in footprint.users for u in new.user_id),
        photos=sum(int(p) not in footprint.photos for p in ph.photo_id),
        events=len(lines) - left_out["lines"],
        seed_tasks=len(tasks),
        gold_tasks=len(gold),
        defects={k: len(v) for k, v in dlog.items.items()},
    )


def _write_truth(spec: WorldSpec, day_index: int, truth_dir: Path, dlog: defects.DefectLog) -> None:
    day = spec.day(day_index).isoformat()
    ph = photos_posted_on(spec, day_index)
    act = activity.photo_activity(spec, day_index)
    posted = {int(p): i for i, p in enumerate(ph.photo_id)}
    posted_ms = act.ts_ms[act.event_type == 1]  # post events, in photo order
    likes = act.event_type == 3
    idx = np.array([posted[int(p)] for p in act.photo_id[likes]], dtype=np.int64)
    within = act.ts_ms[likes] < posted_ms[idx] + 24 * activity.HOUR_MS
    likes_24h = np.bincount(idx[within], minlength=len(ph))
    (truth_dir / "photos").mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "photo_id": ph.photo_id,
            "content": ph.content.tolist(),
            "style": ph.style,
            "log_popularity": ph.log_popularity,
            "likes_24h": likes_24h,
        }
    ).write_parquet(truth_dir / "photos" / f"{day}.parquet")
    u = users_joined_on(spec, day_index)
    (truth_dir / "users").mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"user_id": u.user_id, "activity": u.activity}).write_parquet(
        truth_dir / "users" / f"{day}.parquet"
    )
    (truth_dir / "defects").mkdir(parents=True, exist_ok=True)
    (truth_dir / "defects" / f"{day}.json").write_text(dlog.to_json())


def seed_world(
    spec: WorldSpec,
    days: int,
    store: ObjectStore,
    db: AppDatabase,
    truth_dir: Path,
    progress: Callable[[Iterable[int]], Iterable[int]] = lambda it: it,
) -> list[DayReport]:
    """A fresh world of `days` days. Refuses to overwrite an existing one."""
    if read_manifest(store) is not None:
        raise FileExistsError(
            f"a world already exists at {store.url}: append days with `fsdl-data world append`, "
            "or point FSDL_HOME / FSDL_OBJECT_STORE_URL somewhere empty"
        )
    db.create_schema()
    truth_dir.mkdir(parents=True, exist_ok=True)
    (truth_dir / "spec.json").write_text(spec.to_json())
    reports = []
    for d in progress(range(days)):
        reports.append(generate_day(spec, d, store, db, truth_dir))
        _write_manifest(store, spec, d + 1)
    return reports


def append_days(
    store: ObjectStore, db: AppDatabase, truth_dir: Path, n: int = 1,
    erased: frozenset[str] = frozenset(),
) -> list[DayReport]:  # fmt: skip
    """The next `n` days of an existing world, identical to what seeding them would have made,
    less the subjects erased (`erased`: their digests, from the erasure reports)."""
    found = read_manifest(store)
    if found is None:
        raise FileNotFoundError(f"no world at {store.url}: run `fsdl-data world seed` first")
    spec, days = found
    reports = []
    for d in range(days, days + n):
        remove_day(spec, d, store, db, truth_dir)  # what an append killed midway left behind
        try:
            reports.append(generate_day(spec, d, store, db, truth_dir, erased))
        except BaseException:  # a full disk, a lost database: the world stays as it was
            remove_day(spec, d, store, db, truth_dir)
            raise
        _write_manifest(store, spec, d + 1)  # the day exists once the manifest says so
    return reports


DAY_ROOTS = ("photos", "events", "labels/seed", "labels/gold")  # where generate_day writes


def remove_day(
    spec: WorldSpec, day_index: int, store: ObjectStore, db: AppDatabase, truth_dir: Path
) -> None:
    """Undo a partial generate_day: its objects, its users' and photos' rows, its truth."""
    day = spec.day(day_index).isoformat()
    for root in DAY_ROOTS:
        for key in [o.key for o in store.list(day_folder(root, day))]:
            store.delete(key)
    db.delete_in(photos, "photo_id", [int(p) for p in photos_posted_on(spec, day_index).photo_id])
    db.delete_in(users, "user_id", [int(u) for u in users_joined_on(spec, day_index).user_id])
    for folder, name in (("photos", ".parquet"), ("users", ".parquet"), ("defects", ".json")):
        (truth_dir / folder / f"{day}{name}").unlink(missing_ok=True)


def world_days(store: ObjectStore) -> list[str]:
    found = read_manifest(store)
    if found is None:
        return []
    spec, days = found
    return [spec.day(i).isoformat() for i in range(days)]
