"""The world generator: deterministic, real JPEGs, learnable structure, defects recorded."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa

from fsdl_data.core.storage.appdb import AppDatabase, photos, users
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.vision.decode import inspect_image
from fsdl_data.core.world.generator import append_days, read_manifest, seed_world
from fsdl_data.core.world.spec import CONTENT_CLASSES, COUNTRIES
from fsdl_data_tests.core.world.specs import random_spec
from fsdl_data_tests.helpers import SMALL


def _world(root: Path, days: int, spec=SMALL):
    store = LocalObjectStore(root / "obj")
    db = AppDatabase(f"sqlite:///{root / 'app.db'}")
    reports = seed_world(spec, days, store, db, root / "truth")
    return store, db, reports


def _snapshot(store: LocalObjectStore) -> dict[str, str]:
    """Content of every object, with the store's own location (inside label URIs) taken out."""
    return {
        o.key: hashlib.md5(store.get(o.key).replace(store.url.encode(), b"")).hexdigest()
        for o in store.list()
        if not o.key.startswith("world/")
    }


def test_same_seed_same_world_and_append_equals_seed(tmp_path: Path) -> None:
    a, db_a, _ = _world(tmp_path / "a", 2)
    b, db_b, _ = _world(tmp_path / "b", 1)
    append_days(b, db_b, tmp_path / "b" / "truth", 1)
    assert _snapshot(a) == _snapshot(b)
    assert db_a.count(photos) == db_b.count(photos) and db_a.count(users) == db_b.count(users)
    spec, days = read_manifest(b)
    assert days == 2 and spec == SMALL


def test_different_seed_differs(tmp_path: Path) -> None:
    a, _, _ = _world(tmp_path / "a", 1)
    b, _, _ = _world(tmp_path / "b", 1, replace(SMALL, seed=SMALL.seed + 1))
    assert _snapshot(a) != _snapshot(b)


def test_seed_refuses_to_overwrite(tmp_path: Path) -> None:
    store, db, _ = _world(tmp_path, 1)
    with pytest.raises(FileExistsError, match="append"):
        seed_world(SMALL, 1, store, db, tmp_path / "truth")


def test_photos_are_real_jpegs_and_rows_match(tmp_path: Path) -> None:
    store, db, reports = _world(tmp_path, 1)
    keys = [o.key for o in store.list("photos/")]
    assert len(keys) == SMALL.photos_per_day == reports[0].photos
    for key in keys[:10]:
        info = inspect_image(store.get(key))
        assert info.error is None and info.width >= 96 and info.height >= 96
    assert db.count(photos) == SMALL.photos_per_day


def test_logs_are_gzipped_json_lines_with_offsets(tmp_path: Path) -> None:
    store, _, reports = _world(tmp_path, 1)
    marker, log = list(store.list("events/date=2026-01-01/"))  # '_' sorts before 'p'
    assert marker.key.endswith("/_SUCCESS") and log.key.endswith(".jsonl.gz")
    lines = gzip.decompress(store.get(log.key)).splitlines()
    assert len(lines) == reports[0].events > 1000
    recs = [json.loads(x) for x in lines]
    assert {r["event_type"] for r in recs} == {"login", "post", "view", "like"}
    assert any(isinstance(r["ts"], int) for r in recs)  # legacy epoch-ms clients
    assert any(isinstance(r["ts"], str) and r["ts"][-6] in "+-" for r in recs)


def test_seed_labels_are_label_studio_tasks_with_disagreement(tmp_path: Path) -> None:
    store, _, _ = _world(tmp_path, 2)
    tasks = []
    for o in store.list("labels/seed/"):
        tasks += json.loads(store.get(o.key))
    assert len(tasks) == 2 * round(SMALL.photos_per_day * SMALL.seed_label_fraction)
    truth = pl.concat(
        [pl.read_parquet(p) for p in (tmp_path / "truth" / "photos").glob("*.parquet")]
    )
    content = dict(zip(truth["photo_id"], truth["content"], strict=True))
    agree = total = 0
    for t in tasks:
        assert t["data"]["image"].startswith("file://") and len(t["annotations"]) == 3
        for a in t["annotations"]:
            (choice,) = a["result"][0]["value"]["choices"]
            assert choice in CONTENT_CLASSES
            agree += choice == content[t["data"]["photo_id"]]
            total += 1
    assert 0.6 < agree / total < 1.0  # realistic: mostly right, not always


def test_popularity_is_driven_by_hidden_factors(tmp_path: Path) -> None:
    _world(tmp_path, 2, replace(SMALL, photos_per_day=300, events_per_day=20000))
    truth = pl.read_parquet(tmp_path / "truth" / "photos" / "2026-01-01.parquet")
    r = np.corrcoef(truth["log_popularity"], np.log1p(truth["likes_24h"].to_numpy()))[0, 1]
    assert r > 0.5
    by_class = truth.group_by("content").agg(pl.col("likes_24h").mean()).sort("likes_24h")
    assert by_class["content"][0] == "pattern"


def test_defects_are_injected_and_recorded(tmp_path: Path) -> None:
    store, _, reports = _world(tmp_path, 1, replace(SMALL, defects=True))
    log = json.loads((tmp_path / "truth" / "defects" / "2026-01-01.json").read_text())
    for kind in ("corrupt_image", "zero_byte_image", "malformed_json", "duplicate_event", "non_utf8", "too_late",
                 "future_event", "wrong_type", "missing_field", "conflicting_duplicate", "orphan_photo"):  # fmt: skip
        assert log.get(kind), kind
    assert reports[0].defects == {k: len(v) for k, v in log.items()}
    zero = log["zero_byte_image"][0]
    assert store.get(zero) == b""


def test_gold_set_is_an_expert_share_of_the_seed_set(tmp_path: Path) -> None:
    spec = replace(SMALL, photos_per_day=1000, events_per_day=500)
    store, _, reports = _world(tmp_path, 2, spec)
    truth = pl.concat(
        [pl.read_parquet(p) for p in (tmp_path / "truth" / "photos").glob("*.parquet")]
    )
    content = dict(zip(truth["photo_id"], truth["content"], strict=True))
    gold, seeded = [], set()
    for key in (o.key for o in store.list("labels/gold/")):
        gold += json.loads(store.get(key))
    for key in (o.key for o in store.list("labels/seed/")):
        seeded |= {t["data"]["photo_id"] for t in json.loads(store.get(key))}
    assert len(gold) == sum(r.gold_tasks for r in reports) == 2 * 10  # 1% of 1,000 a day
    right = 0
    for task in gold:
        (annotation,) = task["annotations"]
        assert annotation["ground_truth"] is True and annotation["completed_by"] == "expert"
        (choice,) = annotation["result"][0]["value"]["choices"]
        right += choice == content[task["data"]["photo_id"]]
    assert {t["data"]["photo_id"] for t in gold} <= seeded  # gold tasks are mixed into the seed set
    assert right / len(gold) >= 0.99 - 1 / len(gold)  # the expert errs about once in 200


def test_captions_hint_at_content_without_giving_it_away(tmp_path: Path) -> None:
    from fsdl_data.core.world.captions import TITLE_NOUNS

    _world(tmp_path, 1, replace(SMALL, photos_per_day=1000, events_per_day=500))
    truth = pl.read_parquet(tmp_path / "truth" / "photos" / "2026-01-01.parquet")
    db = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    rows = db.photos_posted_between(datetime(2026, 1, 1), datetime(2026, 1, 2))
    titles = {r["photo_id"]: (r["title"], r["location"]) for r in rows}
    names_own = names_other = generic = tagged = 0
    for pid, content in zip(truth["photo_id"], truth["content"], strict=True):
        title, _ = titles[pid]
        head = title.split(" #")[0].lower()
        own = any(n in head for n in TITLE_NOUNS[content])
        other = any(n in head for c, nouns in TITLE_NOUNS.items() if c != content for n in nouns)
        names_own += own
        names_other += other and not own
        generic += not own and not other
        tagged += "#" in title
    n = len(truth)
    assert 0.4 < names_own / n < 0.7  # informative ...
    assert 0.1 < names_other / n < 0.3  # ... but misleading now and then
    assert 0.25 < generic / n < 0.45 and 0.5 < tagged / n < 0.85
    places = {loc for _, loc in titles.values()} - {c for _, cs in COUNTRIES.values() for c in cs}
    assert len(places) >= 10  # named places, not only the poster's city


class FillingStore(LocalObjectStore):
    """A local store on a disk that fills up after `room` more objects (ENOSPC, as a real one)."""

    def __init__(self, root: Path, room: int) -> None:
        super().__init__(root)
        self.room = room

    def put(self, key: str, data: bytes):
        import errno
        import os

        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), key)
        self.room -= 1
        return super().put(key, data)


def _state(store: LocalObjectStore, db: AppDatabase, truth: Path) -> tuple:

    with db.engine.connect() as conn:
        rows = tuple(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in (users, photos))  # fmt: skip
    objects = {  # label tasks name the store's own URL: compared by key only
        k: None if k.startswith("labels/") else hashlib.md5(store.get(k)).hexdigest()
        for k in (o.key for o in store.list(""))
    }
    return objects, rows, sorted(str(p.relative_to(truth)) for p in truth.rglob("*") if p.is_file())


@pytest.mark.parametrize("room", [0, 25, 50])  # full before the day, among its photos, at its logs
def test_a_failed_append_leaves_the_world_as_it_was_and_a_retry_completes(
    tmp_path: Path, room: int
) -> None:
    spec = replace(SMALL, photos_per_day=50)
    store, db, _ = _world(tmp_path, 1, spec)
    before = _state(store, db, tmp_path / "truth")
    full = FillingStore(tmp_path / "obj", room)
    with pytest.raises(OSError, match="No space left on device"):
        append_days(full, db, tmp_path / "truth", 1)
    assert _state(store, db, tmp_path / "truth") == before  # nothing of the day remains
    (report,) = append_days(store, db, tmp_path / "truth", 1)  # no UNIQUE constraint failure
    reference_store, reference_db, _ = _world(tmp_path / "reference", 2, spec)
    assert report.photos == 50
    assert _state(store, db, tmp_path / "truth") == _state(
        reference_store, reference_db, tmp_path / "reference" / "truth"
    )  # exactly the world seeding two days makes


@pytest.mark.parametrize("seed", range(3))
def test_an_appended_day_leaves_out_what_forget_erased_and_keeps_the_rest(
    tmp_path: Path, seed: int
) -> None:
    """A day appended after `forget user:<id>` is exactly the day as `forget` would have left
    it: the same scrub applied to what the day would have been without the erasure."""
    import random

    from fsdl_data.core.privacy.forget import erased_subjects
    from fsdl_data.core.privacy.subjects import Footprint, Subject, scrub

    spec = random_spec(seed)
    full, full_db, _ = _world(tmp_path / "full", 3, spec)
    erased, erased_db, _ = _world(tmp_path / "erased", 2, spec)
    day = spec.day(2).isoformat()
    with full_db.engine.connect() as conn:
        posters = conn.execute(sa.select(photos.c.user_id).where(photos.c.object_key.contains(day))).scalars().all()  # fmt: skip
        user = random.Random(seed).choice(sorted(set(posters)))  # someone active on the day
        mine = conn.execute(sa.select(photos.c.photo_id, photos.c.object_key)
                            .where(photos.c.user_id == user)).all()  # fmt: skip
    footprint = Footprint(frozenset({user}), frozenset(p for p, _ in mine),
                          frozenset(k for _, k in mine))  # fmt: skip
    lake = LocalObjectStore(tmp_path / "lake")  # an erasure report, as `forget` leaves one
    lake.put("erasures/x.json", json.dumps({"subject": {"digest": Subject("user", user).digest},
             "state": "done", "started": "2026-01-01", "footprint": {}}).encode())  # fmt: skip
    append_days(erased, erased_db, tmp_path / "erased" / "truth", 1, erased_subjects(lake))

    def of_day(store: LocalObjectStore) -> dict[str, bytes]:
        return {o.key: store.get(o.key).replace(store.url.encode(), b"")
                for o in store.list("") if f"date={day}/" in o.key}  # fmt: skip

    expected = {}
    for key, data in of_day(full).items():
        found = scrub(key, data, footprint)
        if not found.removed:
            expected[key] = found.data
    got = of_day(erased)
    assert got == expected
    assert sum(scrub(k, v, footprint, write=False).erased for k, v in got.items()) == 0
    assert any(scrub(k, v, footprint, write=False).erased for k, v in of_day(full).items())
    with erased_db.engine.connect() as conn:  # no row of the day names the user or a photo
        assert not conn.execute(sa.select(photos).where(photos.c.user_id == user)
                                .where(photos.c.object_key.contains(day))).all()  # fmt: skip
        count = conn.execute(sa.select(sa.func.count()).select_from(photos)).scalar()
    assert count == full_db.count(photos) - sum(day in k for _, k in mine)
