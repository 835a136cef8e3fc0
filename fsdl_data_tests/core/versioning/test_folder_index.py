"""The folder index (core.versioning.folder_index) behind a quick `snapshot status`: every kind
of change is found as the general status finds it, on random trees with random changes."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.versioning import folder_index
from fsdl_data.core.versioning import snapshots as snap
from fsdl_data.core.versioning.store import Manifest, SnapshotStore

KINDS = ("edit_same_size", "touch", "add", "delete", "rename", "new_folder", "drop_folder")


def _tree(root: Path, rng: random.Random) -> None:
    for i in range(rng.randrange(1, 40)):
        folder = root / "/".join(f"f{rng.randrange(4)}" for _ in range(rng.randrange(0, 3)))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{i}.bin").write_bytes(rng.randbytes(rng.randrange(1, 30)))


def _later(path: Path) -> None:
    """Moves a file's modification time on by a second (a coarse clock cannot hide an edit)."""
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))


def _change(root: Path, kind: str, rng: random.Random) -> None:
    """Applies one change of `kind` to a random file."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    path = rng.choice(files)
    if kind == "edit_same_size":
        data = path.read_bytes()
        path.write_bytes(bytes(b ^ 0xFF for b in data[:1]) + data[1:])
        _later(path)
        return
    if kind == "touch":
        _later(path)
        return
    if kind == "add":
        new = path.parent / f"new{rng.randrange(10**6)}.bin"
        new.write_bytes(rng.randbytes(5))
        return
    if kind == "delete":
        path.unlink()
        return
    if kind == "rename":
        new = rng.choice(files).parent / f"moved{rng.randrange(10**6)}.bin"
        path.rename(new)
        return
    if kind == "new_folder":
        new = root / f"fresh{rng.randrange(10**6)}" / "inner" / "a.bin"
        new.parent.mkdir(parents=True)
        new.write_bytes(b"x")
        return
    folder = path.parent
    if folder == root:
        path.unlink()
        return
    shutil.rmtree(folder)


def _contents(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _snapshot(store: SnapshotStore, root: Path) -> str:
    template = Manifest(name="photos", kind="folder", files=())
    return folder_index.take_folder(store, template, root).snapshot_id


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32), kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
def test_every_change_kind_is_found_as_the_general_status_finds_it(
    tmp_path_factory: pytest.TempPathFactory, seed: int, kinds: list[str]
) -> None:
    rng = random.Random(seed)
    base = tmp_path_factory.mktemp("index")
    root = base / "photos"
    _tree(root, rng)
    store = SnapshotStore(LocalObjectStore(base / "lake"))
    snapshot_id = _snapshot(store, root)
    recorded = folder_index.read(store.store, "photos", snapshot_id)
    assert recorded is not None and folder_index.changes(str(root), recorded, print).clean
    before = _contents(root)
    for kind in kinds:
        if not any(p.is_file() for p in root.rglob("*")):
            break
        _change(root, kind, rng)
    after = _contents(root)
    found = folder_index.changes(str(root), recorded, print)
    assert found.added == sorted(set(after) - set(before))
    assert found.removed == sorted(set(before) - set(after))
    assert found.modified == sorted(p for p in set(before) & set(after) if before[p] != after[p])
    general = snap.status(
        store.cached_files("photos"), snap.local_files(root), snap.local_reader(root)
    )
    assert (found.added, found.removed, found.modified) == (
        general.added,
        general.removed,
        general.modified,
    )


def test_an_index_of_another_snapshot_is_not_used(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    _tree(root, random.Random(7))
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    first = _snapshot(store, root)
    assert folder_index.read(store.store, "photos", first) is not None
    assert folder_index.read(store.store, "photos", "0" * 64) is None  # a newer snapshot
    assert folder_index.read(store.store, "other", first) is None
    store.store.put(folder_index.index_key("photos"), b"not an index")
    assert folder_index.read(store.store, "photos", first) is None


def test_links_and_special_files_are_skipped_with_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    _tree(root, random.Random(3))
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    recorded = folder_index.read(store.store, "photos", _snapshot(store, root))
    assert recorded is not None
    (root / "link").symlink_to("/etc/passwd")
    os.mkfifo(root / "pipe")
    warnings: list[str] = []
    assert folder_index.changes(str(root), recorded, warnings.append).clean
    assert sorted(w.split(":")[0] for w in warnings) == ["skipped link", "skipped pipe"]
