"""The snapshot store under mistakes and races: special files and links are skipped, unusable
object keys too; checkout is atomic; graph names are reserved; gc keeps what models name,
removes what killed writers left, never runs while a writer writes, and refuses unknown pack
formats; the CLI's environment errors are one line."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fsdl_data.cli import one_line
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.objects import Listed
from fsdl_data.core.versioning import snapshots as snap
from fsdl_data.core.versioning.packs import PACKS
from fsdl_data.core.versioning.store import (
    CorruptSnapshot,
    FileEntry,
    Manifest,
    SnapshotStore,
    StoreBusy,
    check_user_name,
)

FOLDER = Manifest(name="f", kind="folder", files=())


def add(store: SnapshotStore, root: Path, name: str = "f", warn=lambda m: None) -> snap.Taken:
    template = Manifest(name=name, kind="folder", files=(), source=str(root))
    files = list(snap.local_files(root, warn))
    return snap.take(store, template, files, snap.local_reader(root))


def versions(
    tmp_path: Path, count: int, size: int, name: str = "f"
) -> tuple[SnapshotStore, list[snap.Taken]]:
    """A store with `count` snapshots named `name` of a folder whose one file (`size` bytes)
    changes between each."""
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    root = tmp_path / "f"
    root.mkdir()
    taken = []
    for i in range(count):
        (root / "x.bin").write_bytes(bytes([i]) * size)
        taken.append(add(store, root, name=name))
    return store, taken


def test_special_files_and_links_are_skipped_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "f"
    (root / "d").mkdir(parents=True)
    (root / "d" / "ok.bin").write_bytes(b"ok")
    os.mkfifo(root / "d" / "pipe")  # opening it for reading would block forever
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(root / "sock"))
    (root / "zero").symlink_to("/dev/zero")  # reading it would never end
    (root / "out").symlink_to(tmp_path)  # a link out of the root
    warnings: list[str] = []
    signal.alarm(30)  # a FIFO that is opened hangs the test: fail it instead
    try:
        taken = add(SnapshotStore(LocalObjectStore(tmp_path / "lake")), root, warn=warnings.append)
    finally:
        signal.alarm(0)
        listener.close()
    assert [f.path for f in taken.manifest.files] == ["d/ok.bin"]
    assert sorted(w.split(":")[0] for w in warnings) == [
        "skipped d/pipe", "skipped out", "skipped sock", "skipped zero"]  # fmt: skip
    assert any("FIFO" in w for w in warnings) and any("socket" in w for w in warnings)
    fifo = Listed("d/pipe", "x", datetime.now(UTC))
    with pytest.raises(ValueError, match="FIFO"):  # became special after listing: refused
        snap.local_reader(root)(fifo)


def test_one_unusable_object_key_is_skipped_not_fatal(s3_env: str, s3_bucket: str) -> None:
    import boto3

    from fsdl_data.core.storage.backends.s3 import S3ObjectStore

    client = boto3.client("s3", endpoint_url=s3_env, region_name="us-east-1")
    for key in ("p/ok/1.bin", "p/a/../b.bin", "p/./c.bin", "p//d.bin", "p/dir/"):
        client.put_object(Bucket=s3_bucket, Key=key, Body=b"x" + key.encode())
    objects = S3ObjectStore(client, s3_bucket)
    warnings: list[str] = []
    files = list(snap.object_files(objects, "p/", warnings.append))
    assert [f.key for f in files] == ["ok/1.bin"] and len(warnings) == 4
    store = SnapshotStore(LocalObjectStore(Path(os.environ.get("TMPDIR", "/tmp")) / s3_bucket))
    taken = snap.take(store, FOLDER, files, snap.object_reader(objects, "p/"))
    (entry,) = taken.manifest.files
    assert entry.etag and entry.etag == client.head_object(Bucket=s3_bucket, Key="p/ok/1.bin")[
        "ETag"].strip('"')  # fmt: skip


def test_checkout_is_atomic_refused_or_failed_it_leaves_nothing(tmp_path: Path) -> None:
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    root = tmp_path / "f"
    (root / "d").mkdir(parents=True)
    for i in range(5):
        (root / "d" / f"{i}.bin").write_bytes(bytes([i]) * 10)
    taken = add(store, root)
    target = tmp_path / "new" / "out"
    assert snap.checkout(store, taken.manifest, target) == 5
    assert (target / "d" / "3.bin").read_bytes() == bytes([3]) * 10
    entry = taken.manifest.files[0]
    for bad in (".", "d/../../x", "a//b", "/abs"):  # listed last: refused before anything
        manifest = Manifest("f", "folder", (*taken.manifest.files, entry._replace(path=bad)))
        with pytest.raises(ValueError, match="refusing"):
            snap.checkout(store, manifest, tmp_path / "bad" / "out")
        assert not (tmp_path / "bad").exists()
    missing = FileEntry("z/last.bin", "0" * 64, 1)  # fails after four files were written
    with pytest.raises(CorruptSnapshot, match="missing"):
        snap.checkout(store, Manifest("f", "folder", (*taken.manifest.files, missing)),
                      tmp_path / "failed")  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "lake", "new"]
    (tmp_path / "empty").mkdir()
    snap.checkout(store, taken.manifest, tmp_path / "empty")  # an empty folder is fine
    assert len(list((tmp_path / "empty" / "d").iterdir())) == 5
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file"):
        snap.checkout(store, taken.manifest, tmp_path / "file")
    with pytest.raises(FileExistsError, match="not empty"):
        snap.checkout(store, taken.manifest, target)


def test_graph_snapshot_names_are_reserved() -> None:
    for name in ("training_set", "labeled_set", "raw_photos"):
        with pytest.raises(ValueError, match="reserved"):
            check_user_name(name)
    assert check_user_name("my_photos") == "my_photos"


def test_gc_keeps_pinned_snapshots_and_removes_dead_writers_leftovers(tmp_path: Path) -> None:
    store, taken = versions(tmp_path, 3, size=100)
    ids = [t.snapshot_id for t in taken]
    leftover = tmp_path / "lake" / "snapshots" / "blobs" / ".tmp-0123-deadbeef"
    leftover.write_bytes(b"half a pack")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    store.store.put("snapshots/leases/writer-dead.json", json.dumps(
        {"kind": "writer", "host": socket.gethostname(), "pid": int(dead),
         "started": "2026-01-01T00:00:00+00:00"}).encode())  # fmt: skip
    dropped, _ = store.gc(1, pinned={ids[0]})  # a model was trained on the first
    assert dropped == [ids[1]]
    assert {r.id for r in store.history()} == {ids[0], ids[2]} and store.verify() == []
    assert not leftover.exists() and not list(o.key for o in store.store.list("snapshots/leases/"))
    leftover.write_bytes(b"a live writer's pack")
    with store.writing(), pytest.raises(StoreBusy, match="writers are still running"):
        store.gc(1, wait_s=0.3)  # a running writer: gc waits, then says so; nothing deleted
    assert leftover.exists() and len(store.history()) == 2


def test_gc_concurrent_with_add_never_breaks_a_snapshot(tmp_path: Path) -> None:
    store_root = tmp_path / "lake"
    root = tmp_path / "f"
    for i in range(300):
        (root / f"d{i % 10}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i % 10}" / f"{i}.bin").write_bytes(os.urandom(300))
    add(SnapshotStore(LocalObjectStore(store_root)), root)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for round_ in range(6):
                for i in range(0, 300, 2):  # half the files change each round: new packs
                    (root / f"d{i % 10}" / f"{i}.bin").write_bytes(os.urandom(300 + round_))
                add(SnapshotStore(LocalObjectStore(store_root)), root)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    collections = 0
    while thread.is_alive() or collections < 3:
        SnapshotStore(LocalObjectStore(store_root)).gc(1)
        collections += 1
    thread.join()
    assert not errors, errors
    store = SnapshotStore(LocalObjectStore(store_root))
    assert store.history() and store.verify() == []
    for ref in store.history():
        snap.checkout(store, store.read(ref.id), tmp_path / "out" / ref.id)


def test_an_unknown_pack_format_is_refused_clearly(tmp_path: Path) -> None:
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    root = tmp_path / "f"
    root.mkdir()
    for i in range(70):
        (root / f"{i}.bin").write_bytes(bytes([i]) * 10)
    taken = add(store, root)
    (key,) = [k for k in (o.key for o in store.store.list(PACKS))]
    index = json.loads(store.store.get(key))
    assert index["format"] == 1  # written into every pack
    store.store.put(key, json.dumps({**index, "format": 99}).encode())
    with pytest.raises(CorruptSnapshot, match="format 99; this fsdl-data reads pack format 1"):
        SnapshotStore(store.store).get_blob(taken.manifest.files[0].sha256)


def test_environment_errors_are_one_line() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/lake/snapshots/blobs/x")
    assert "no space left" in one_line(full) and "gc" in one_line(full)
    denied = PermissionError(errno.EACCES, "Permission denied", "/ro/out")
    assert one_line(denied) == "permission denied: /ro/out: choose a folder you can write to"
    assert one_line(RuntimeError("a bug")) is None  # bugs keep their traceback


def test_open_snapshot_by_id_prefix_name_or_latest_and_models_pin_theirs(tmp_path: Path) -> None:
    import polars as pl

    from fsdl_data.core.storage.lake import Lake
    from fsdl_data.core.versioning.store import SnapshotNotFound

    store, taken = versions(tmp_path, 2, size=10, name="training_set")
    newest = taken[-1].snapshot_id
    for ref in ("latest", "training_set", newest, newest[:8]):
        assert store.open_snapshot(ref)[:2] == ("training_set", newest)
    assert store.open_snapshot(taken[0].snapshot_id[:6])[1] == taken[0].snapshot_id
    with pytest.raises(SnapshotNotFound, match="a snapshot name or `latest`"):
        store.open_snapshot("no-such-name")
    lake = Lake(store.store)
    assert snap.snapshots_models_name(lake) == set()
    lake.write(
        "popularity_model",
        pl.DataFrame({"version": ["m1"], "snapshot_version": [taken[0].snapshot_id]}),
    )
    assert snap.snapshots_models_name(lake) == {taken[0].snapshot_id}
    store.gc(1, pinned=snap.snapshots_models_name(lake))  # the model's snapshot stays
    assert {r.id for r in store.history()} == {t.snapshot_id for t in taken}


def test_gc_leaves_a_lease_being_written_and_removes_an_old_one(tmp_path: Path) -> None:
    """A writer writes its lease (a temporary file, then a rename) before it holds one: a gc
    that sees no writer must not delete that temporary file (the writer's rename would fail);
    one older than the grace is a dead writer's and goes."""
    root = tmp_path / "f"
    root.mkdir()
    (root / "a.bin").write_bytes(os.urandom(64))
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    add(store, root)
    leases = tmp_path / "lake" / "snapshots" / "leases"
    leases.mkdir(exist_ok=True)
    young, old = leases / ".tmp-1-writer-young.json", leases / ".tmp-2-writer-old.json"
    young.write_bytes(b"{}")
    old.write_bytes(b"{}")
    long_ago = datetime.now(UTC).timestamp() - 2 * 3600
    os.utime(old, (long_ago, long_ago))
    store.gc(1)
    assert young.exists() and not old.exists()
