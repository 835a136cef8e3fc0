"""The right to be forgotten: a subject erased from every place and every snapshot, others'
data untouched (byte for byte where it shares a pack), idempotent, resumable after a crash."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.features import online
from fsdl_data.core.privacy.forget import (
    NothingToErase,
    Places,
    PlaceUnreachable,
    erasure_key,
    footprint_of,
    forget,
    reports,
    verify_forgotten,
)
from fsdl_data.core.privacy.subjects import Footprint, Subject, scrub
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.appdb import photos as photos_table
from fsdl_data.core.storage.appdb import users as users_table
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake, to_parquet_bytes
from fsdl_data.core.storage.objects import Listed
from fsdl_data.core.versioning import snapshots as snap
from fsdl_data.core.versioning.erasure import erasure_facts
from fsdl_data.core.versioning.export import export_snapshot
from fsdl_data.core.versioning.manifests import FLAT, LISTINGS, TREE, decode_listing
from fsdl_data.core.versioning.packs import PACKS
from fsdl_data.core.versioning.store import PACK_MIN_FILES, Manifest, SnapshotStore

DAYS = ("2026-01-01", "2026-01-02", "2026-01-03")
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class World:
    places: Places
    lake: Lake
    snapshots: SnapshotStore
    owner: dict[int, int]  # photo -> user
    day: dict[int, str]  # photo -> day
    users: list[int]
    export: Path


def photo_key(photo: int, day: str) -> str:
    return f"photos/date={day}/{photo}.jpg"


def build(tmp_path: Path, rng: random.Random) -> World:
    """A small world of random shape: users with random numbers of photos over a few days, their
    events, labels (gold and seed task files), pixels, features online, snapshots of every
    night (the photos folder too, packed) and an export under the lake."""
    lake_store = LocalObjectStore(tmp_path / "lake")
    objects = LocalObjectStore(tmp_path / "objects")
    db = AppDatabase(f"sqlite:///{tmp_path / 'app.db'}")
    db.create_schema()
    users = rng.sample(range(1, 10_000), rng.randint(6, 12))
    photo_ids = rng.sample(range(1, 100_000), max(PACK_MIN_FILES + rng.randint(1, 30), 70))
    owner = {p: rng.choice(users) for p in photo_ids}
    day = {p: rng.choice(DAYS) for p in photo_ids}
    lake = Lake(lake_store)
    snapshots = SnapshotStore(lake_store)
    stamp = START
    db.insert(users_table, [{"user_id": u, "username": f"u{u}", "country": "DE",
                             "signup_at": stamp, "updated_at": stamp} for u in users])  # fmt: skip
    db.insert(photos_table, [{"photo_id": p, "user_id": owner[p], "title": "t", "location": "x",
                              "posted_at": stamp, "object_key": photo_key(p, day[p]),
                              "updated_at": stamp} for p in photo_ids])  # fmt: skip
    store = online.SqlOnlineStore(db)
    for night, d in enumerate(DAYS):
        mine = [p for p in photo_ids if day[p] == d]
        for p in mine:
            objects.put(photo_key(p, d), rng.randbytes(rng.randint(200, 900)))
        lake.write("photo_metadata", pl.DataFrame(
            {"photo_id": mine, "user_id": [owner[p] for p in mine],
             "object_key": [photo_key(p, d) for p in mine]}, schema_overrides={
                "photo_id": pl.Int64, "user_id": pl.Int64}), d)  # fmt: skip
        lake.write("photo_pixels", pl.DataFrame(
            {"photo_id": mine, "key": [photo_key(p, d) for p in mine],
             "thumbnail": [rng.randbytes(32) for _ in mine]},
            schema_overrides={"photo_id": pl.Int64}), d)  # fmt: skip
        seen = [p for p in photo_ids if DAYS.index(day[p]) <= night]
        events = [{"event_type": "view", "user_id": rng.choice(users), "photo_id": rng.choice(seen)}
                  for _ in range(rng.randint(20, 60))]  # fmt: skip
        events += [{"event_type": "post", "user_id": owner[p], "photo_id": p} for p in mine]
        lines = b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)
        objects.put(f"events/date={d}/part-00000.jsonl.gz", gzip.compress(lines, mtime=0))
        lake.write("events", pl.DataFrame(events, schema_overrides={"user_id": pl.Int64,
                                                                    "photo_id": pl.Int64}), d)  # fmt: skip
        lake.write("user_features", pl.DataFrame(
            {"user_id": users, "views_7d": [rng.randint(0, 9) for _ in users]},
            schema_overrides={"user_id": pl.Int64}), d)  # fmt: skip
        served = pl.DataFrame({"entity": ["user"] * len(users) + ["photo"] * len(mine),
                               "entity_id": [str(u) for u in users] + [str(p) for p in mine],
                               "value": [str(rng.random()) for _ in range(len(users) + len(mine))]})  # fmt: skip
        lake_store.put(f"served_log/date={d}/000000-{night}.parquet", to_parquet_bytes(served))
        broken = [json.dumps(rng.choice(events))[: -rng.randint(1, 5)] for _ in range(4)]
        lake.write("events_quarantine", pl.DataFrame({"raw": broken, "reason": ["json"] * 4}), d)
        gold = rng.sample(mine, min(len(mine), rng.randint(2, 6)))
        tasks = [{"id": p, "data": {"image": f"file://{objects.root}/{photo_key(p, d)}",
                                    "photo_id": p},
                  "annotations": [{"ground_truth": True, "result": [
                      {"value": {"choices": [rng.choice(["food", "city"])]}}]}]} for p in gold]  # fmt: skip
        objects.put(f"labels/gold/date={d}/tasks.json", json.dumps(tasks, indent=1).encode())
        lake.write("human_labels", pl.DataFrame(
            {"photo_id": gold, "label": ["food"] * len(gold), "ground_truth": [True] * len(gold)},
            schema_overrides={"photo_id": pl.Int64}), d)  # fmt: skip
        online.upsert(store, pl.DataFrame(
            {"entity": ["user"] * len(users), "entity_id": [str(u) for u in users],
             "feature": ["views_7d"] * len(users), "value": ["1"] * len(users),
             "event_time": [stamp] * len(users), "known_at": [stamp] * len(users)}))  # fmt: skip
        lake.write("raw_photos", pl.DataFrame(
            {"key": [photo_key(p, d) for p in mine], "photo_id": mine, "etag": ["e"] * len(mine),
             "version_id": [None] * len(mine), "size": [1] * len(mine),
             "sha256": ["0" * 64] * len(mine)},
            schema_overrides={"photo_id": pl.Int64, "version_id": pl.String}), d)  # fmt: skip
        for name in ("photo_metadata", "events", "human_labels", "raw_photos"):
            files = snap.TableFiles(name, lake_store, tuple(snap.table_files(lake, name)))
            layout = FLAT if name == "events" else TREE  # the graph's, and an older store's
            snap.snapshot_table(snapshots, Manifest(name=name, kind="table", files=(), source=name,
                                                    schema_version=layout), files)  # fmt: skip
    photos = objects.root / "photos"
    snap.take(snapshots, Manifest(name="photo_folder", kind="folder", files=()),
              list(snap.local_files(photos)), snap.local_reader(photos))  # fmt: skip
    _, full, manifest = snapshots.open_snapshot("human_labels")
    export = objects.root.parent / "lake" / "exports" / "gold"
    export_snapshot(snapshots, full, manifest, export)
    places = Places(lake=lake_store, objects=objects, online=store, app_db=db)
    return World(places, lake, snapshots, owner, day, users, export)


def rows_of(world: World) -> dict[str, pl.DataFrame]:
    """Every lake table's rows, all partitions."""
    out = {}
    for table in world.lake.tables():
        frames = [world.lake.read(table, d).with_columns(pl.lit(d).alias("_day"))
                  for d in world.lake.partitions(table)]  # fmt: skip
        out[table] = pl.concat(frames)
    return out


def others(frame: pl.DataFrame, user: int, photos: set[int]) -> pl.DataFrame:
    keep = pl.lit(True)
    if "user_id" in frame.columns:
        keep = keep & (pl.col("user_id") != user)
    if "photo_id" in frame.columns:
        keep = keep & ~pl.col("photo_id").is_in(sorted(photos))
    if "raw" in frame.columns:  # a quarantined line names its user and photo as JSON does
        named = re.compile(
            "|".join([rf'"user_id": {user}\b'] + [rf'"photo_id": {p}\b' for p in photos])
        )
        keep = keep & ~pl.col("raw").map_elements(
            lambda raw: bool(named.search(raw)), return_dtype=pl.Boolean
        )
    return frame.filter(keep).sort(frame.columns)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build(tmp_path, random.Random())


def subject_with_gold(world: World) -> tuple[int, set[int]]:
    """A user with at least one gold-labelled photo (and the user's photos)."""
    gold = world.lake.read("human_labels", DAYS[0])["photo_id"].to_list()
    user = world.owner[gold[0]]
    return user, {p for p, u in world.owner.items() if u == user}


def test_a_user_is_erased_everywhere_and_others_are_untouched(world: World) -> None:
    user, photos = subject_with_gold(world)
    before = rows_of(world)
    folder_id = world.snapshots.latest("photo_folder")[0]
    folder = world.snapshots.read(folder_id)
    others_photos = {f.path: world.snapshots.get_blob(f.sha256) for f in folder.files
                     if int(Path(f.path).stem) not in photos}  # fmt: skip
    theirs = [world.places.objects.get(photo_key(p, world.day[p])) for p in photos]
    old_ids = {i for _, i in world.snapshots.ids()}
    gold_before = {d: json.loads(world.places.objects.get(f"labels/gold/date={d}/tasks.json"))
                   for d in DAYS}  # fmt: skip
    indexes = {o.key: o.fingerprint for o in world.places.lake.list(PACKS)}

    report = forget(Subject("user", user), world.places, "test")

    assert verify_forgotten(Subject("user", user), world.places) == dict.fromkeys(
        ("lake", "exports", "snapshots", "objects", "online", "app_db"), 0)  # fmt: skip
    assert SnapshotStore(world.places.lake).verify() == []
    after = rows_of(world)
    for table, frame in before.items():  # everyone else's rows, exactly as they were
        assert others(frame, user, photos).equals(others(after[table], user, photos)), table
    assert report["footprint"]["photos"] == len(photos)
    for key in (o.key for o in world.places.lake.list("served_log/")):  # served features
        served = pl.read_parquet(world.places.lake.local_path(key))
        assert str(user) not in served.filter(pl.col("entity") == "user")["entity_id"].to_list()
    assert all(not world.places.objects.head(photo_key(p, world.day[p])) for p in photos)
    # the photo folder's pack: the subject's photos out, everyone else's bytes unchanged
    fresh = SnapshotStore(world.places.lake)
    new_folder = fresh.read(folder_id)  # the old id still opens: its tombstone names the new one
    assert new_folder.id != folder_id
    assert {f.path: fresh.get_blob(f.sha256) for f in new_folder.files} == others_photos
    assert report["places"]["snapshots"]["packs_rewritten"] >= 1
    now = {o.key: o.fingerprint for o in fresh.store.list(PACKS)}  # a holes file, not the index
    assert {k: now[k] for k in indexes} == indexes and any(k.endswith(".holes") for k in now)
    for pack in fresh.packs.members():  # no byte of the subject's photos left in any pack
        stored = fresh.blobs.read(pack)
        assert not any(photo in stored for photo in theirs)
    assert erasure_facts(folder_id, new_folder)["now"] == new_folder.id[:12]
    keys = [photo_key(p, world.day[p]).encode() for p in photos]  # nor in any record beside
    for listed in fresh.store.list("snapshots/"):  # (stat caches, manifests, tombstones...)
        if not listed.key.startswith("snapshots/blobs/"):
            assert not any(k in fresh.store.get(listed.key) for k in keys), listed.key
    # gold labels: the subject's tasks gone, every other task as it was
    for d in DAYS:
        now = json.loads(world.places.objects.get(f"labels/gold/date={d}/tasks.json"))
        assert now == [t for t in gold_before[d] if t["data"]["photo_id"] not in photos]
    # the export was made again from the erased snapshot: its card names the new id
    card = (world.export / "README.md").read_text()
    _, now_id, _ = fresh.open_snapshot("human_labels")
    assert now_id in card and not (old_ids & {now_id})
    shards = pl.concat([pl.read_parquet(p) for p in (world.export / "data").glob("*.parquet")])
    assert not set(shards["photo_id"].to_list()) & photos
    # the stored report: what and when, never the ids
    stored = world.places.lake.get(erasure_key(report["erasure"])).decode()
    assert f'"photo_id":{min(photos)}' not in stored and report["state"] == "done"
    assert str(Subject("user", user)) not in stored


def test_an_erasure_writes_again_only_the_listings_that_hold_the_subject(world: World) -> None:
    """A tree manifest's listings (its files by folder, its raw objects by key folder) that
    hold none of the subject's rows or keys keep their bytes, untouched; those that do go."""
    photo = world.lake.read("human_labels", DAYS[0])["photo_id"].to_list()[0]
    footprint = footprint_of(Subject("photo", photo), world.places)
    store = world.places.lake
    before = {o.key: o.fingerprint for o in store.list(LISTINGS)}
    holding, object_listings = set(), set()
    for key in before:
        body = store.get(key)
        if "objects" in json.loads(body):
            object_listings.add(key)
            named = any(footprint.names_key(r["key"]) for r in json.loads(body)["objects"])
        else:
            named = any(scrub(e.path, world.snapshots.get_blob(e.sha256), footprint,
                              write=False).erased for e in decode_listing(body, key))  # fmt: skip
        if named:
            holding.add(key)
    assert holding & object_listings and object_listings - holding  # both kinds, in this world
    forget(Subject("photo", photo), world.places, "test")
    after = {o.key: o.fingerprint for o in store.list(LISTINGS)}
    assert {k: v for k, v in after.items() if k in before} == {
        k: before[k] for k in set(before) - holding
    }
    assert sum(verify_forgotten(Subject("photo", photo), world.places).values()) == 0
    assert SnapshotStore(store).verify() == []


def test_a_photo_goes_with_its_rows_but_not_its_owners_other_photos(world: World) -> None:
    user = max(world.users, key=lambda u: sum(o == u for o in world.owner.values()))
    mine = sorted(p for p, u in world.owner.items() if u == user)
    gone, kept = mine[0], mine[1:]
    forget(Subject("photo", gone), world.places, "test")
    assert sum(verify_forgotten(Subject("photo", gone), world.places).values()) == 0
    metadata = pl.concat([world.lake.read("photo_metadata", d) for d in DAYS])
    assert set(metadata.filter(pl.col("user_id") == user)["photo_id"].to_list()) == set(kept)


def test_nobody_is_one_error_and_changes_nothing(world: World) -> None:
    listing = {o.key: o.fingerprint for o in world.places.lake.list("")}
    nobody = max(world.users) + 1
    with pytest.raises(NothingToErase, match=f"user:{nobody} is nowhere"):
        forget(Subject("user", nobody), world.places, "test")
    assert {o.key: o.fingerprint for o in world.places.lake.list("")} == listing
    with pytest.raises(ValueError, match="give user:<id> or photo:<id>"):
        Subject.parse("customer:7")


def test_forgetting_twice_changes_nothing_the_second_time(world: World) -> None:
    user, _ = subject_with_gold(world)
    first = forget(Subject("user", user), world.places, "test")
    lake = {o.key: o.fingerprint for o in world.places.lake.list("")}
    objects = {o.key: o.fingerprint for o in world.places.objects.list("")}
    again = forget(Subject("user", user), world.places, "test")
    assert again["already"] and again["erasure"] == first["erasure"]
    assert {o.key: o.fingerprint for o in world.places.lake.list("")} == lake
    assert {o.key: o.fingerprint for o in world.places.objects.list("")} == objects


class Crash(Exception):
    pass


def test_a_crash_mid_erasure_leaves_a_consistent_store_and_a_rerun_completes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, _ = subject_with_gold(world)
    store = world.places.lake
    writes = {"n": 0}
    limit = random.Random().randint(3, 25)  # the crash lands anywhere among the lake's writes
    real_put = type(store).put

    def put(self: Any, key: str, data: bytes) -> None:
        writes["n"] += 1
        if writes["n"] == limit:
            raise Crash(key)
        real_put(self, key, data)

    monkeypatch.setattr(type(store), "put", put)
    with pytest.raises(Crash):
        forget(Subject("user", user), world.places, "test")
    monkeypatch.undo()
    assert SnapshotStore(store).verify() == []  # consistent, however far it got
    journal = reports(store, Subject("user", user))
    assert [r["state"] for r in journal] == ["running"]  # the report says how far it got
    report = forget(Subject("user", user), world.places, "test")
    assert report["erasure"] == journal[0]["erasure"] and report["state"] == "done"
    assert sum(verify_forgotten(Subject("user", user), world.places).values()) == 0
    assert SnapshotStore(store).verify() == []


def test_a_service_down_before_an_erasure_is_one_error_and_erases_nothing(world: World) -> None:
    user, _ = subject_with_gold(world)
    listing = {o.key: o.fingerprint for o in world.places.lake.list("")}
    objects = {o.key: o.fingerprint for o in world.places.objects.list("")}
    down = online.RedisOnlineStore(f"redis://127.0.0.1:{closed_port()}")
    places = replace(world.places, online=down)
    with pytest.raises(
        PlaceUnreachable, match=r"cannot reach the online store at redis://.*nothing"
    ):
        forget(Subject("user", user), places, "test")
    with pytest.raises(PlaceUnreachable, match="cannot reach the online store"):
        verify_forgotten(Subject("user", user), places)
    assert {o.key: o.fingerprint for o in world.places.lake.list("")} == listing
    assert {o.key: o.fingerprint for o in world.places.objects.list("")} == objects
    assert reports(world.places.lake) == []


def test_a_service_lost_midway_stops_with_one_error_and_the_rerun_resumes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    user, _ = subject_with_gold(world)
    store = world.places.online

    def gone(*args: Any) -> int:
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr(store, "forget", gone)
    with pytest.raises(PlaceUnreachable, match=r"stopped there, with lake, snapshots, exports, "
                       r"objects erased.*resumes"):  # fmt: skip
        forget(Subject("user", user), world.places, "test")
    monkeypatch.undo()
    (journal,) = reports(world.places.lake, Subject("user", user))
    assert journal["state"] == "running" and "online" not in journal["places"]
    assert SnapshotStore(world.places.lake).verify() == []
    report = forget(Subject("user", user), world.places, "test")
    assert report["erasure"] == journal["erasure"] and report["places"]["online"]["rows"] > 0
    assert sum(verify_forgotten(Subject("user", user), world.places).values()) == 0


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fsdl(home: Path, *args: str, **more: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_HOME"))}
    env["FSDL_HOME"] = str(home)
    env.update(more)
    return subprocess.run([sys.executable, "-m", "fsdl_data.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_the_cli_reports_verifies_and_refuses_mistakes_in_one_line(tmp_path: Path) -> None:
    world = build(tmp_path, random.Random())  # the layout of an FSDL_HOME: lake/, objects/, app.db
    user, photos = subject_with_gold(world)
    before = fsdl(tmp_path, "forget", "--verify", f"user:{user}")
    assert before.returncode == 2 and "occurrences" in before.stdout
    done = fsdl(tmp_path, "forget", f"user:{user}", "--json", "--reason", "ticket 12")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["reason"] == "ticket 12" and report["footprint"]["photos"] == len(photos)
    assert report["places"]["snapshots"]["files"] >= 1 and report["state"] == "done"
    after = fsdl(tmp_path, "forget", "--verify", f"user:{user}")
    assert after.returncode == 0 and f"user:{user}: 0 occurrences" in after.stdout
    assert fsdl(tmp_path, "snapshot", "verify").returncode == 0
    again = fsdl(tmp_path, "forget", f"user:{user}")
    assert again.returncode == 0 and "already erased" in again.stdout
    port = closed_port()
    for url, words in ((f"redis://127.0.0.1:{port}", "cannot reach the online store"),
                       (f"postgresql://postgres@127.0.0.1:{port}/app",
                        "cannot reach the application database")):  # fmt: skip
        variable = "FSDL_ONLINE_STORE_URL" if url.startswith("redis") else "FSDL_APP_DB_URL"
        for verb in (["forget", f"user:{user}"], ["forget", "--verify", f"user:{user}"]):
            refused = fsdl(tmp_path, *verb, **{variable: url})
            lines = refused.stderr.strip().splitlines()
            assert refused.returncode == 1 and len(lines) == 1 and words in lines[0], refused.stderr
    for mistake, words in ((f"user:{max(world.users) + 1}", "is nowhere"),
                           ("customer:3", "give user:<id> or photo:<id>")):  # fmt: skip
        refused = fsdl(tmp_path, "forget", mistake)
        assert refused.returncode == 1 and words in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr


def test_snapshots_on_every_backend_lose_the_subject_and_keep_the_rest(
    object_store: Any, tmp_path: Path
) -> None:
    """On S3 a pack cannot be written in place: it is rewritten without the subject's files."""
    rng = random.Random()
    if hasattr(object_store, "client"):  # a versioned bucket: overwritten bytes are kept
        object_store.client.put_bucket_versioning(
            Bucket=object_store.bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    snapshots = SnapshotStore(object_store)
    lake = Lake(object_store)
    users = rng.sample(range(1, 1000), rng.randint(3, 7))
    owner = {p: rng.choice(users) for p in rng.sample(range(1, 10_000), PACK_MIN_FILES + 20)}
    user = rng.choice(sorted(set(owner.values())))
    for night, d in enumerate(DAYS):
        mine = sorted(owner)[night :: len(DAYS)]
        lake.write("photo_metadata", pl.DataFrame(
            {"photo_id": mine, "user_id": [owner[p] for p in mine],
             "object_key": [photo_key(p, DAYS[0]) for p in mine]}), d)  # fmt: skip
        files = snap.TableFiles("photo_metadata", object_store,
                                tuple(snap.table_files(lake, "photo_metadata")))  # fmt: skip
        snap.snapshot_table(snapshots, Manifest(name="photo_metadata", kind="table", files=(),
                                                source="photo_metadata"), files)  # fmt: skip
    photos = {f"date={DAYS[0]}/{p}.jpg": rng.randbytes(rng.randint(100, 400)) for p in owner}
    sources = [
        Listed(path, str(len(data)), START, len(data)) for path, data in sorted(photos.items())
    ]
    snap.take(snapshots, Manifest(name="photos", kind="folder", files=()), sources,
              lambda source: photos[source.key])  # fmt: skip
    objects = LocalObjectStore(tmp_path / "objects")
    for path, data in photos.items():
        objects.put(f"photos/{path}", data)
    forget(Subject("user", user), Places(lake=object_store, objects=objects), "test")
    fresh = SnapshotStore(object_store)
    assert fresh.verify() == []
    assert sum(verify_forgotten(Subject("user", user), Places(object_store, objects)).values()) == 0
    theirs = [data for path, data in photos.items() if owner[int(Path(path).stem)] == user]
    kept = {path: data for path, data in photos.items() if owner[int(Path(path).stem)] != user}
    _, _, folder = fresh.open_snapshot("photos")
    assert {f.path: fresh.get_blob(f.sha256) for f in folder.files} == kept
    for pack in fresh.packs.members():
        assert not any(photo in fresh.blobs.read(pack) for photo in theirs)
    for _, snapshot_id in fresh.ids("photo_metadata"):
        table = snap.load_table(fresh, fresh.read(snapshot_id))
        assert user not in table["user_id"].to_list() and len(table) > 0
    if hasattr(object_store, "client"):  # no version of any object keeps the subject
        client, bucket = object_store.client, object_store.bucket
        pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for version in (v for page in pages for v in page.get("Versions", [])):
            data = client.get_object(Bucket=bucket, Key=version["Key"],
                                     VersionId=version["VersionId"])["Body"].read()  # fmt: skip
            assert not any(photo in data for photo in theirs), version["Key"]
            if data[:4] == b"PAR1":
                rows = pl.read_parquet(io.BytesIO(data))
                if "user_id" in rows.columns:
                    assert user not in rows["user_id"].to_list(), version["Key"]
            assert f'"photo_id":{min(p for p, u in owner.items() if u == user)}' not in str(data)


LINE_KINDS = ("named", "other", "key at the end", "a bare value")


@given(
    lines=st.lists(
        st.tuples(
            st.sampled_from(("user_id", "photo_id", "other")),
            st.integers(0, 12),
            st.sampled_from(("", " ", '"')),
            st.sampled_from(LINE_KINDS),
        ),
        max_size=40,
    ),
    users=st.frozensets(st.integers(0, 12), max_size=3),
    photos=st.frozensets(st.integers(0, 12), max_size=3),
    zipped=st.booleans(),
    final_newline=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_a_log_loses_exactly_the_lines_that_name_the_subject(
    lines: list[tuple[str, int, str, str]], users: frozenset[int], photos: frozenset[int],
    zipped: bool, final_newline: bool,
) -> None:  # fmt: skip
    """Each line is checked on its own, as a naive reference does: a line goes when it names
    a user or photo of the footprint (quoted or not, with or without spaces), whatever its
    neighbours say (a broken line ending in a key never joins the next one's value); every
    other line keeps its bytes and order."""
    footprint = Footprint(users, photos)
    texts = []
    for i, (field, value, quote, kind) in enumerate(lines):
        space = " " * (i % 2)
        texts.append({"named": f'{{"{field}":{space}{quote}{value}{quote}, "n": {i}}}',
                      "other": f'{{"n": {i}, "note": "{field} {value}"}}',
                      "key at the end": f'{{"n": {i}, "{field}":{space}',
                      "a bare value": f"{quote}{value}{quote}}}"}[kind])  # fmt: skip
    text = "\n".join(texts).encode() + (b"\n" if final_newline and texts else b"")
    data = gzip.compress(text, mtime=0) if zipped else text
    pattern = footprint._json_pattern()
    reference = text.splitlines(keepends=True)
    kept = [line for line in reference if pattern is None or not re.search(pattern.encode(), line)]
    found = scrub("log.jsonl.gz" if zipped else "log.jsonl", data, footprint)
    assert found.erased == len(reference) - len(kept)
    if found.erased:
        body = gzip.decompress(found.data) if zipped else found.data
        assert body == b"".join(kept)
    else:
        assert found.data == data


SUBJECT_KEYS = ("a.jpg", "p/a.jpg", "p/q/a.jpg", "b.jpg", "q/b.jpg")
PATHS = ("a.jpg", "p/a.jpg", "x/p/a.jpg", "xp/a.jpg", "pa.jpg", "p/q/a.jpg",
         "s3://bucket/p/q/a.jpg", "/data/?d=q/b.jpg", "b.jpg/", "")  # fmt: skip


@given(keys=st.frozensets(st.sampled_from(SUBJECT_KEYS), max_size=3), path=st.sampled_from(PATHS))
def test_a_key_names_the_subject_when_it_is_theirs_or_ends_with_a_folder_and_theirs(
    keys: frozenset[str], path: str
) -> None:
    expected = any(path == key or path.endswith("/" + key) for key in keys)
    assert Footprint(keys=keys).names_key(path) == expected
