"""What a rebuild may copy instead of making again: a table partition at the very data version a
snapshot recorded (never one an erasure rewrote, never the rebuilt table's own), and the model
registry, whose every version is kept by version."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import polars as pl

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake, to_parquet_bytes
from fsdl_data.core.versioning import snapshots as snap
from fsdl_data.core.versioning.rebuild import Node, RecordedCopies, copy_registry
from fsdl_data.core.versioning.store import Manifest, SnapshotStore


def test_a_recorded_partition_is_copied_at_its_version_only(tmp_path: Path) -> None:
    rng = random.Random()
    store = LocalObjectStore(tmp_path / "lake")
    lake, snapshots = Lake(store), SnapshotStore(store)
    days = [f"2026-02-{d:02d}" for d in range(1, rng.randint(3, 7))]
    written: dict[tuple[str, str], bytes] = {}
    for table in ("labeled_set", "training_set"):
        for night, day in enumerate(days):
            frame = pl.DataFrame(
                {"photo_id": [rng.randrange(10**6) for _ in range(rng.randint(1, 9))]}
            )
            lake.write(table, frame, day)
            written[(table, day)] = to_parquet_bytes(frame)
            files = snap.TableFiles(table, store, tuple(snap.table_files(lake, table, {day})),
                                    lambda f: f"v-{f.partition}")  # fmt: skip
            snap.snapshot_table(snapshots, Manifest(name=table, kind="table", files=(),
                                source=table, code={"n": str(night)}), files)  # fmt: skip
    copies = RecordedCopies(snapshots, frozenset({"training_set"}))
    day = rng.choice(days)
    assert copies.holds(Node("labeled_set", day, f"v-{day}"))
    assert not copies.holds(Node("labeled_set", day, "v-other"))  # another version: made again
    assert not copies.holds(Node("labeled_set", day, None))
    assert not copies.holds(Node("training_set", day, f"v-{day}"))  # the rebuilt table itself
    scratch = LocalObjectStore(tmp_path / "scratch")
    copies.copy(Node("labeled_set", day, f"v-{day}"), scratch)
    assert Lake(scratch).read("labeled_set", day).equals(lake.read("labeled_set", day))
    _, _, manifest = snapshots.open_snapshot("labeled_set")
    last = manifest.files[-1]
    erased = replace(manifest, files=(last._replace(data_version="v-erased"),),
                     extra={"erasures": [{"erasure": "e"}]})  # fmt: skip
    snapshots.commit(erased, (), cached=erased.files)
    again = RecordedCopies(snapshots)  # a file an erasure rewrote is not a recorded version
    assert not again.holds(Node("labeled_set", last.partition, "v-erased"))
    assert again.holds(Node("labeled_set", last.partition, last.data_version))


def test_the_registry_is_copied_whole(tmp_path: Path) -> None:
    rng = random.Random()
    source, target = LocalObjectStore(tmp_path / "a"), LocalObjectStore(tmp_path / "b")
    kept = {f"models/photo_classifier/{rng.getrandbits(48):x}.{ext}": rng.randbytes(rng.randint(1, 99))
            for ext in ("pt", "json") for _ in range(rng.randint(1, 4))}  # fmt: skip
    for key, data in kept.items():
        source.put(key, data)
    source.put("tables/events/date=2026-01-01/data.parquet", b"not a model")
    assert copy_registry(source, target) == len(kept)
    assert {o.key: target.get(o.key) for o in target.list("")} == kept
