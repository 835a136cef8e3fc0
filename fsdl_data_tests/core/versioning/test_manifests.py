"""Piece three of the snapshot store, alone: a manifest's id is the hash of its canonical body
(the files' listing fingerprints stay out of it), it reads back as written, an unknown schema
version is refused in words, and ids resolve by unique prefix, through erasure tombstones."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.versioning.blobs import CorruptSnapshot
from fsdl_data.core.versioning.digests import sha256
from fsdl_data.core.versioning.manifests import (
    FileEntry,
    Manifest,
    Manifests,
    SnapshotNotFound,
    check_name,
    manifest_key,
    ref_key,
    tombstone_key,
)


def random_manifest(rng: random.Random, name: str) -> Manifest:
    files = tuple(
        FileEntry(
            path=f"date=2026-01-{i + 1:02d}/data.parquet",
            sha256=f"{rng.getrandbits(256):064x}",
            bytes=rng.randint(1, 10_000),
            rows=rng.choice([None, rng.randint(0, 500)]),
            partition=f"2026-01-{i + 1:02d}",
            fingerprint=f"{rng.getrandbits(64):x}",
        )
        for i in range(rng.randint(0, 6))
    )
    return Manifest(name=name, kind=rng.choice(["table", "folder"]), files=files,
                    source=name, schema={"photo_id": "Int64"}, key=("photo_id",),
                    upstream={f"{name}[2026-01-01]": "dv"}, extra={"n": rng.randint(0, 9)})  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_a_manifest_reads_back_and_its_id_is_its_body_hash(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    manifests = Manifests(LocalObjectStore(tmp_path))
    manifest = random_manifest(rng, "training_set")
    snapshot_id = manifests.put(manifest)
    assert snapshot_id == manifest.id == sha256(manifest.body())
    back = manifests.read(snapshot_id)
    assert back.id == snapshot_id and back.name == manifest.name
    assert [f.sha256 for f in back.files] == [f.sha256 for f in manifest.files]
    assert all(f.fingerprint is None for f in back.files)  # a listing detail, not identity
    assert back.row_count == sum(f.rows or 0 for f in manifest.files)
    assert back.total_bytes == sum(f.bytes for f in manifest.files)
    moved = Manifest(**{**manifest.__dict__, "files": tuple(
        f._replace(fingerprint="elsewhere") for f in manifest.files)})  # fmt: skip
    assert moved.id == manifest.id
    assert manifests.read(snapshot_id[:8], "training_set").id == snapshot_id
    assert manifests.newest_id("training_set") == snapshot_id
    assert json.loads(manifests.store.get(ref_key("training_set"))) == {"id": snapshot_id}


def test_an_unknown_schema_version_or_a_tampered_body_is_refused(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    manifests = Manifests(store)
    manifest = random_manifest(random.Random(9), "photos")
    body = json.loads(manifest.body())
    body["schema_version"] = 99
    with pytest.raises(CorruptSnapshot, match="schema version 99 is not supported") as refused:
        Manifest.from_body(json.dumps(body).encode())
    assert refused.value.what == "unreadable"
    snapshot_id = manifests.put(manifest)
    store.put(manifest_key("photos", snapshot_id), manifest.body() + b" ")
    with pytest.raises(CorruptSnapshot, match="does not match its hash"):
        manifests.read(snapshot_id, "photos")


def test_ids_resolve_by_unique_prefix_and_through_tombstones(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    manifests = Manifests(store)
    rng = random.Random(3)
    ids = [manifests.put(random_manifest(rng, "photos")) for _ in range(5)]
    for snapshot_id in ids:
        assert manifests.resolve(snapshot_id[:12]) == ("photos", snapshot_id)
    assert {i for _, i in manifests.ids("photos")} == set(ids)
    with pytest.raises(SnapshotNotFound, match="at least 4 hex"):
        manifests.resolve("zz")
    with pytest.raises(SnapshotNotFound, match="snapshot list"):
        manifests.resolve("ffff" if not any(i.startswith("ffff") for i in ids) else "0000")
    old, new = ids[0], ids[1]  # an erasure rewrote `old` as `new`
    manifests.delete("photos", old)
    store.put(tombstone_key("photos", old), json.dumps({"replaced_by": new}).encode())
    assert manifests.read(old, "photos").id == new
    assert manifests.resolve(old[:10]) == ("photos", new)
    assert manifests.follow("photos", old) == ("photos", new)
    with pytest.raises(ValueError, match="letters, digits"):
        check_name("../x")
