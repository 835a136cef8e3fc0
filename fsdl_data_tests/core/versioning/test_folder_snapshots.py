"""Local folder snapshots as tree manifests (core.versioning.folder_index.take_folder): a new
snapshot after random changes is the snapshot taken from scratch, writes only the listings of
the folders that changed, reads only the changed files, and repairs a damaged store; gc and
erasure keep listings and manifests consistent; old flat manifests still read."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.versioning import folder_index
from fsdl_data.core.versioning import snapshots as snap
from fsdl_data.core.versioning.blobs import BLOBS
from fsdl_data.core.versioning.erasure import erase_from_snapshots
from fsdl_data.core.versioning.manifests import LISTINGS, TREE, Manifest, listing_key
from fsdl_data.core.versioning.store import SnapshotStore
from fsdl_data_tests.core.versioning.test_folder_index import KINDS, _change, _contents, _tree


def _template(name: str = "photos") -> Manifest:
    return Manifest(name=name, kind="folder", files=(), source="photos")


def _listings(store: SnapshotStore) -> set[str]:
    return set(store.manifests.listings())


def _many(root: Path, rng: random.Random) -> None:
    """Enough files in a few folders that they go into packs."""
    for i in range(rng.randrange(70, 140)):
        folder = root / f"d{rng.randrange(5)}" / ("inner" if rng.random() < 0.3 else "")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.bin").write_bytes(rng.randbytes(rng.randrange(1, 64)))


def _photos(
    tmp_path: Path, seed: int, fill: Callable[[Path, random.Random], None] = _many
) -> tuple[random.Random, Path, SnapshotStore]:
    """A folder of files `fill` draws from `seed`, and an empty snapshot store beside it."""
    rng = random.Random(seed)
    root = tmp_path / "photos"
    fill(root, rng)
    return rng, root, SnapshotStore(LocalObjectStore(tmp_path / "lake"))


@pytest.mark.parametrize("seed", range(6))
def test_a_new_snapshot_after_changes_is_the_one_taken_from_scratch(
    tmp_path: Path, seed: int
) -> None:
    rng, root, store = _photos(tmp_path, seed, _many if seed % 2 else _tree)
    first = folder_index.take_folder(store, _template(), root)
    assert first.read == len(first.manifest.files) and first.reused == 0
    for kind in rng.choices(KINDS, k=rng.randrange(1, 4)):
        if any(p.is_file() for p in root.rglob("*")):
            _change(root, kind, rng)
    if not any(p.is_file() for p in root.rglob("*")):
        return
    before = _listings(store)
    again = folder_index.take_folder(store, _template(), root)
    fresh = SnapshotStore(LocalObjectStore(tmp_path / "fresh"))
    scratch = folder_index.take_folder(fresh, _template(), root)
    assert again.snapshot_id == scratch.snapshot_id  # incremental = from scratch
    general = Manifest(**{**_template().__dict__, "files": tuple(store.read(again.snapshot_id).files),
                          "schema_version": TREE})  # fmt: skip
    assert general.id == again.snapshot_id  # the fast path's listings are the general encoding
    new = _listings(store) - before
    folders = {f.rpartition("/")[0] for f in _contents(root)}
    kept = {f[1] for f in first.manifest.files.folders}  # type: ignore[attr-defined]
    assert new == {f[1] for f in again.manifest.files.folders} - kept  # type: ignore[attr-defined]
    assert len(new) <= len(folders)
    target = tmp_path / "out"
    snap.checkout(store, store.read(again.snapshot_id), target)
    assert _contents(target) == _contents(root)
    assert store.verify() == []


def test_only_changed_folders_are_read_and_rewritten(tmp_path: Path) -> None:
    rng, root, store = _photos(tmp_path, 11)
    first = folder_index.take_folder(store, _template(), root)
    edited = sorted(root.glob("d1/*.bin"))[:3]
    for path in edited:
        path.write_bytes(rng.randbytes(80))
    again = folder_index.take_folder(store, _template(), root)
    assert again.read == len(edited)
    assert again.reused == len(first.manifest.files) - len(edited)
    changed = [f for f in again.manifest.files.folders if f[1] not in  # type: ignore[attr-defined]
               {g[1] for g in first.manifest.files.folders}]  # type: ignore[attr-defined]  # fmt: skip
    assert [f[0] for f in changed] == ["d1"]
    assert folder_index.take_folder(store, _template(), root).read == 0  # nothing changed


class _CountingStore(LocalObjectStore):
    """A local store that records every key looked up with head()."""

    looked_up: list[str]

    def head(self, key: str):  # type: ignore[no-untyped-def]
        self.looked_up.append(key)
        return super().head(key)


@pytest.mark.parametrize("seed", range(4))
def test_a_re_snapshot_looks_up_only_the_listings_it_writes(tmp_path: Path, seed: int) -> None:
    # each look-up is a HEAD request on S3 (and a path resolution locally): with one listing a
    # folder, a re-snapshot of 1,000 folders spent a tenth of its time checking the ones it reuses
    rng = random.Random(seed)
    root = tmp_path / "photos"
    _many(root, rng)
    counting = _CountingStore(tmp_path / "lake")
    counting.looked_up = []
    store = SnapshotStore(counting)
    first = folder_index.take_folder(store, _template(), root)
    edited = rng.sample(sorted(root.rglob("*.bin")), rng.randrange(1, 4))
    for path in edited:
        path.write_bytes(rng.randbytes(90))
    counting.looked_up.clear()
    again = folder_index.take_folder(store, _template(), root)
    old = {f[1] for f in first.manifest.files.folders}  # type: ignore[attr-defined]
    new = {f[1] for f in again.manifest.files.folders} - old  # type: ignore[attr-defined]
    looked = {k for k in counting.looked_up if k.startswith(LISTINGS)}
    assert new and looked == {listing_key(listing) for listing in new}
    assert store.verify() == []
    target = tmp_path / "out"
    snap.checkout(store, store.read(again.snapshot_id), target)
    assert _contents(target) == _contents(root)


def test_a_damaged_or_deleted_pack_is_repaired_by_the_next_snapshot(tmp_path: Path) -> None:
    _, root, store = _photos(tmp_path, 5)
    first = folder_index.take_folder(store, _template(), root)
    packs = sorted(store.packs.sizes)
    assert packs, "the files should have gone into a pack"
    blob = tmp_path / "lake" / BLOBS / packs[0]
    blob.write_bytes(b"\0" + blob.read_bytes()[1:])  # damaged in place
    assert store.verify() != []
    again = folder_index.take_folder(SnapshotStore(LocalObjectStore(tmp_path / "lake")),
                                     _template(), root)  # fmt: skip
    assert again.snapshot_id == first.snapshot_id and again.read > 0
    assert SnapshotStore(LocalObjectStore(tmp_path / "lake")).verify() == []


def test_gc_drops_the_listings_of_dropped_snapshots_only(tmp_path: Path) -> None:
    rng, root, store = _photos(tmp_path, 8)
    folder_index.take_folder(store, _template(), root)
    for path in sorted(root.rglob("*.bin"))[:2]:
        path.write_bytes(rng.randbytes(99))
    newest = folder_index.take_folder(store, _template(), root)
    wanted = {f[1] for f in newest.manifest.files.folders}  # type: ignore[attr-defined]
    assert wanted < _listings(store)
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    dropped, _ = store.gc(keep=1)
    assert len(dropped) == 1 and _listings(store) == wanted
    assert store.verify() == []
    (tmp_path / "lake" / listing_key(sorted(wanted)[0])).unlink()
    problems = store.verify()
    assert [p.what for p in problems] == ["missing"]  # a missing listing, named, not a crash


def test_an_erasure_rewrites_a_tree_manifest_and_its_old_listing_goes(tmp_path: Path) -> None:
    rng, root, store = _photos(tmp_path, 2)
    taken = folder_index.take_folder(store, _template(), root)
    victim = sorted(taken.manifest.files, key=lambda f: f.path)[rng.randrange(10)]

    def scrub(path, digest, read):  # type: ignore[no-untyped-def]
        return (None, 1) if digest == victim.sha256 else None

    record = {"at": "2026-12-01T00:00:00+00:00", "reason": "test", "subject": "x", "erasure": "e1"}
    done = erase_from_snapshots(store, scrub, lambda o: True, record)
    assert len(done.rewritten) == 1
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    now = store.read(taken.snapshot_id)  # through the tombstone
    assert victim.path not in {f.path for f in now.files}
    assert len(now.files) == len(taken.manifest.files) - 1 and now.schema_version == TREE
    old = {f[1] for f in taken.manifest.files.folders}  # type: ignore[attr-defined]
    current = {f[1] for f in now.files.folders}  # type: ignore[attr-defined]
    assert _listings(store) == current and len(old - current) == 1
    assert store.verify() == []


def test_an_old_flat_folder_snapshot_still_reads_and_is_carried_forward(tmp_path: Path) -> None:
    _, root, store = _photos(tmp_path, 4, _tree)
    files = list(snap.local_files(root))
    old = snap.take(store, _template(), files, snap.local_reader(root))  # as earlier versions wrote
    assert old is not None and old.manifest.schema_version == 1
    assert not list(store.store.list(LISTINGS))
    back = store.read(old.snapshot_id)
    assert back.id == old.snapshot_id and [f.path for f in back.files] == sorted(_contents(root))
    new = folder_index.take_folder(store, _template(), root)
    assert new.manifest.schema_version == TREE and new.snapshot_id != old.snapshot_id
    target = tmp_path / "out"
    snap.checkout(store, store.read(old.snapshot_id), target)
    assert _contents(target) == _contents(root)
    shutil.rmtree(target)
    assert store.verify() == []


def test_files_read_by_threads_make_the_snapshot_one_thread_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, root, _ = _photos(tmp_path, 13)
    taken = {}
    monkeypatch.setattr(folder_index, "READ_BATCH", 3)  # many batches, in flight at once
    for threads in (1, 3):
        monkeypatch.setattr(folder_index, "READ_THREADS", threads)
        store = SnapshotStore(LocalObjectStore(tmp_path / f"lake{threads}"))
        taken[threads] = folder_index.take_folder(store, _template(), root)
        assert store.verify() == []
        target = tmp_path / f"out{threads}"
        snap.checkout(store, store.read(taken[threads].snapshot_id), target)
        assert _contents(target) == _contents(root)
    assert taken[1].snapshot_id == taken[3].snapshot_id


def test_a_file_already_stored_loose_is_not_packed_again(tmp_path: Path) -> None:
    _, root, store = _photos(tmp_path, 17)
    files = sorted(p for p in root.rglob("*") if p.is_file())
    loose = store.put_blob(files[0].read_bytes())  # e.g. from another snapshot, not packed
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))  # it knows of no blob yet
    taken = folder_index.take_folder(store, _template(), root)
    assert taken.read == len(files)
    fresh = SnapshotStore(LocalObjectStore(tmp_path / "lake"))  # the pack indexes read anew
    assert loose not in fresh.packed() and len(fresh.packed()) == len(files) - 1
    assert fresh.verify() == []
