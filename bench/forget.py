"""Benchmark: `fsdl-data forget user:<id>` on 30 nights of snapshots (core.privacy.forget).

Generates a store shaped as the nightly graph leaves it, --nights nights (default 30) of
--photos photos a night (12 KB each) by --users users, with --events events a night (the
generated world's defaults, WorldSpec: 200, 500 and 20,000): the lake's daily tables (photo_metadata,
photo_pixels with thumbnails, events, user_features, online_features, training_set,
labeled_set, raw_photos), the object store (the photos, the gzipped event logs, gold task
files), the online store and the app database, the graph's three snapshots taken every night
(incremental, tree manifests, as the assets take them), and one folder snapshot of the photos
(packed, as `fsdl-data snapshot add` takes it). Then, 3 times (--runs), on a
fresh copy of that store, erases one user chosen at random (a different one each time) and
verifies. Beside it, in the same run and on the same copy, the reference: one pass that reads
and SHA-256s every file of the store (the least a scan of everything costs). Prints the
median and range of the erasure's time, the reference's, and of the bytes the erasure
rewrote (data), and of the metadata it wrote (manifests, listings, tombstones, pack indexes,
the erasure journal), each against the store's size; and the load average. Goals: <= 1% of the store rewritten,
<= 10 s. Run: `python bench/forget.py`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsdl_data.core.features import online
from fsdl_data.core.privacy.forget import Places, forget, verify_forgotten
from fsdl_data.core.privacy.subjects import Subject
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.appdb import photos as photos_table
from fsdl_data.core.storage.appdb import users as users_table
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.versioning import folder_index
from fsdl_data.core.versioning import snapshots as snap
from fsdl_data.core.versioning.store import MANIFEST_SCHEMA_VERSION, Manifest, SnapshotStore
from fsdl_data.core.world.spec import WorldSpec

START = datetime(2026, 1, 1, tzinfo=UTC)
GRAPH_TABLES = ("training_set", "labeled_set", "raw_photos")


def generate(root: Path, nights: int, photos: int, users: int, events: int, seed: int) -> None:
    rng = random.Random(seed)
    lake_store = LocalObjectStore(root / "lake")
    objects = LocalObjectStore(root / "objects")
    lake = Lake(lake_store)
    snapshots = SnapshotStore(lake_store)
    db = AppDatabase(f"sqlite:///{root / 'app.db'}")
    db.create_schema()
    user_ids = list(range(1, users + 1))
    db.insert(users_table, [{"user_id": u, "username": f"u{u}", "country": "DE",
                             "signup_at": START, "updated_at": START} for u in user_ids])  # fmt: skip
    store = online.SqlOnlineStore(db)
    photo_id = 0
    posted: list[int] = []
    for night in range(nights):
        day = (START + timedelta(days=night)).date().isoformat()
        ids = list(range(photo_id + 1, photo_id + photos + 1))
        photo_id += photos
        owner = {p: rng.choice(user_ids) for p in ids}
        keys = {p: f"photos/date={day}/{p}.jpg" for p in ids}
        for p in ids:
            objects.put(keys[p], rng.randbytes(12_000))
        posted += ids
        db.insert(photos_table, [{"photo_id": p, "user_id": owner[p], "title": "t",
                                  "location": "x", "posted_at": START, "object_key": keys[p],
                                  "updated_at": START} for p in ids])  # fmt: skip
        frame = {"photo_id": ids, "user_id": [owner[p] for p in ids]}
        typed = {"photo_id": pl.Int64, "user_id": pl.Int64}
        lake.write("photo_metadata", pl.DataFrame(
            {**frame, "object_key": [keys[p] for p in ids]}, schema_overrides=typed), day)  # fmt: skip
        lake.write("photo_pixels", pl.DataFrame(
            {"photo_id": ids, "key": [keys[p] for p in ids],
             "thumbnail": [rng.randbytes(1_000) for _ in ids]},
            schema_overrides={"photo_id": pl.Int64}), day)  # fmt: skip
        lake.write("raw_photos", pl.DataFrame(
            {"key": [keys[p] for p in ids], "photo_id": ids, "etag": ["e"] * len(ids),
             "version_id": [None] * len(ids), "size": [12_000] * len(ids),
             "sha256": ["0" * 64] * len(ids)},
            schema_overrides={"photo_id": pl.Int64, "version_id": pl.String}), day)  # fmt: skip
        lake.write("training_set", pl.DataFrame(
            {**frame, "likes_24h": [rng.randint(0, 50) for _ in ids]}, schema_overrides=typed),
            day)  # fmt: skip
        lake.write("labeled_set", pl.DataFrame(
            {"photo_id": ids, "label": [rng.choice(["food", "city"]) for _ in ids]},
            schema_overrides={"photo_id": pl.Int64}), day)  # fmt: skip
        rows = [{"event_type": rng.choice(("view", "like")), "user_id": rng.choice(user_ids),
                 "photo_id": rng.choice(posted)} for _ in range(events)]  # fmt: skip
        lake.write("events", pl.DataFrame(rows, schema_overrides=typed), day)
        lines = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in rows)
        objects.put(
            f"events/date={day}/part-00000.jsonl.gz", gzip.compress(lines, compresslevel=5, mtime=0)
        )
        lake.write("user_features", pl.DataFrame(
            {"user_id": user_ids, "views_7d": [rng.randint(0, 99) for _ in user_ids]},
            schema_overrides={"user_id": pl.Int64}), day)  # fmt: skip
        features = pl.DataFrame(
            {"entity": ["user"] * users, "entity_id": [str(u) for u in user_ids],
             "feature": ["views_7d"] * users, "value": ["1"] * users,
             "event_time": [START] * users, "known_at": [START] * users})  # fmt: skip
        lake.write("online_features", features, day)
        online.upsert(store, features)
        gold = rng.sample(ids, 5)
        tasks = [{"id": p, "data": {"image": f"/data/local-files/?d={keys[p]}", "photo_id": p},
                  "annotations": [{"ground_truth": True}]} for p in gold]  # fmt: skip
        objects.put(f"labels/gold/date={day}/tasks.json", json.dumps(tasks).encode())
        for name in GRAPH_TABLES:
            files = snap.TableFiles(name, lake_store, tuple(snap.table_files(lake, name)))
            template = Manifest(name=name, kind="table", files=(), source=name,
                                schema_version=MANIFEST_SCHEMA_VERSION)  # fmt: skip
            snap.snapshot_table(snapshots, template, files)  # a tree, as the assets write
    photos = Manifest(name="photos", kind="folder", files=())
    folder_index.take_folder(snapshots, photos, objects.root / "photos")  # as `snapshot add`
    db.dispose()


def read_everything(root: Path) -> int:
    """The reference: read and hash every file of the store once; returns the bytes read."""
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            data = (Path(folder) / name).read_bytes()
            hashlib.sha256(data).digest()
            total += len(data)
    return total


def places(root: Path) -> Places:
    db = AppDatabase(f"sqlite:///{root / 'app.db'}")
    return Places(lake=LocalObjectStore(root / "lake"), objects=LocalObjectStore(root / "objects"),
                  online=online.SqlOnlineStore(db), app_db=db)  # fmt: skip


def spread(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    shown = [v * scale for v in values]
    return (f"{statistics.median(shown):,.2f} {unit} "
            f"({min(shown):,.2f}-{max(shown):,.2f})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--photos", type=int, default=WorldSpec.photos_per_day)
    parser.add_argument("--users", type=int, default=WorldSpec.users)
    parser.add_argument("--events", type=int, default=WorldSpec.events_per_day)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fsdl-bench-forget-"))
    try:
        started = time.perf_counter()
        generate(work / "world", args.nights, args.photos, args.users, args.events, seed=1)
        print(f"generated {args.nights} nights in {time.perf_counter() - started:.0f} s")
        rng = random.Random()
        times, references, rewritten, shares, metadata, metadata_shares = [], [], [], [], [], []
        for run in range(args.runs):
            copy = work / f"run{run}"
            shutil.copytree(work / "world", copy)  # times kept: the same fingerprints
            start = time.perf_counter()
            size = read_everything(copy)
            references.append(time.perf_counter() - start)
            user = rng.randint(1, args.users)
            start = time.perf_counter()
            report = forget(Subject("user", user), places(copy), "benchmark")
            times.append(time.perf_counter() - start)
            left = verify_forgotten(Subject("user", user), places(copy))
            assert sum(left.values()) == 0, left
            assert SnapshotStore(LocalObjectStore(copy / "lake")).verify() == []
            metadata.append(report["metadata_bytes"])
            metadata_shares.append(report["metadata_bytes"] / report["store_bytes"])
            rewritten.append(report["bytes_written"])
            shares.append(report["bytes_written"] / report["store_bytes"])
            print(f"  run {run + 1}: user:{user} ({report['footprint']['photos']} photos, "
                  f"{report['rows']:,} rows): {times[-1]:.2f} s, rewrote "
                  f"{report['bytes_written']:,} of {report['store_bytes']:,} bytes "
                  f"({shares[-1]:.2%}); reference read {size:,} bytes in {references[-1]:.2f} s")  # fmt: skip
            print("    bytes rewritten by place: " + ", ".join(
                f"{place} {done.get('bytes_written', 0):,}"
                for place, done in report["places"].items()))  # fmt: skip
            folders = sorted(((f"{place}:{folder}", counted)
                              for place, done in report["places"].items()
                              for folder, counted in done.get("bytes_by_folder", {}).items()),
                             key=lambda item: -item[1]["bytes"])  # fmt: skip
            print("    by folder: " + ", ".join(
                f"{name} {c['bytes'] / 1e6:.2f} MB ({c['files']} files)"
                for name, c in folders))  # fmt: skip
            shutil.rmtree(copy)
        print(f"forget user (median of {args.runs}, range): {spread(times)}; "
              f"reference (read + SHA-256 of the whole store): {spread(references)}")  # fmt: skip
        both = [a + b for a, b in zip(shares, metadata_shares, strict=True)]
        print(f"bytes rewritten: {spread(rewritten, 'MB', 1e-6)}, "
              f"{spread(shares, '%', 100)} of the store (goal <= 1%, <= 10 s); metadata written "
              f"besides: {spread(metadata, 'MB', 1e-6)}, {spread(metadata_shares, '%', 100)}; "
              f"both: {spread(both, '%', 100)}")  # fmt: skip
        print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
