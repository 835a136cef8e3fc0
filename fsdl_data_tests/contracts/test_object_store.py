"""One contract for every object store: run against a local folder and an S3 server over HTTP."""

from __future__ import annotations

import hashlib

import pytest

from fsdl_data.core.storage.backends import BACKENDS
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.objects import (
    TMP_PREFIX,
    Capability,
    ObjectNotFound,
    ObjectStore,
    supports,
)


def test_put_get_roundtrip_and_etag_is_md5(object_store: ObjectStore) -> None:
    data = b"\x00\xffhello" * 100
    object_store.put("photos/date=2026-01-01/1.jpg", data)
    assert object_store.get("photos/date=2026-01-01/1.jpg") == data
    body, info = object_store.get("photos/date=2026-01-01/1.jpg", with_info=True)
    assert body == data and info.size == len(data)
    assert info.etag == hashlib.md5(data).hexdigest()
    assert info.key == "photos/date=2026-01-01/1.jpg" and info.last_modified is not None


def test_overwrite_replaces_whole_object(object_store: ObjectStore) -> None:
    object_store.put("a/b.bin", b"x" * 1000)
    object_store.put("a/b.bin", b"short")
    assert object_store.get("a/b.bin") == b"short"


def test_missing_key(object_store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        object_store.get("nope/none.bin")
    assert object_store.head("nope/none.bin") is None


def test_list_by_prefix_sorted_and_head(object_store: ObjectStore) -> None:
    for key in [
        "events/date=2026-01-02/p1",
        "events/date=2026-01-01/p2",
        "events/date=2026-01-01/p1",
        "x/y",
    ]:
        object_store.put(key, key.encode())
    keys = [o.key for o in object_store.list("events/date=2026-01-01/")]
    assert keys == ["events/date=2026-01-01/p1", "events/date=2026-01-01/p2"]
    assert len(list(object_store.list("events/"))) == 3
    assert len(list(object_store.list())) == 4
    head = object_store.head("x/y")
    (listed,) = object_store.list("x/")
    assert head is not None and head.size == 3 == listed.size
    assert head.fingerprint == listed.fingerprint and head.key == listed.key == "x/y"


def test_delete(object_store: ObjectStore) -> None:
    object_store.put("d/e", b"1")
    object_store.delete("d/e")
    assert object_store.head("d/e") is None
    object_store.delete("d/e")  # idempotent


@pytest.mark.parametrize("bad", ["", "/abs", "a/../b", "a//b", f"a/{TMP_PREFIX}x"])
def test_invalid_keys_rejected(object_store: ObjectStore, bad: str) -> None:
    with pytest.raises(ValueError):
        object_store.put(bad, b"1")


def test_uri_names_the_backend(object_store: ObjectStore) -> None:
    uri = object_store.uri("k/v")
    assert uri.endswith("/k/v") and uri.split("://")[0] in BACKENDS


def test_local_put_is_atomic_when_write_fails(tmp_path, monkeypatch) -> None:
    """A crash mid-write leaves the old object intact and no temporary file behind."""
    store = LocalObjectStore(tmp_path)
    store.put("t/obj", b"old")

    class Boom(Exception):
        pass

    real_open = open

    def failing_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        if "w" in mode and TMP_PREFIX in str(path):
            f.write(b"partial")
            f.close()
            raise Boom()
        return f

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(Boom):
        store.put("t/obj", b"new and longer")
    monkeypatch.undo()
    assert store.get("t/obj") == b"old"
    assert [p.name for p in (tmp_path / "t").iterdir()] == ["obj"]


def test_s3_versioned_bucket_reports_version_ids(s3_env: str, s3_bucket: str) -> None:
    from fsdl_data.core.storage.backends.s3 import S3ObjectStore
    from fsdl_data_tests.conftest import s3_client

    client = s3_client(s3_env)
    client.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    store = S3ObjectStore(client, s3_bucket)
    assert supports(store, Capability.VERSIONED_READS)
    store.put("k", b"1")
    v1 = store.head("k").version_id
    store.put("k", b"2")
    v2 = store.head("k").version_id
    assert v1 and v2 and v1 != v2
    _, info = store.get("k", with_info=True)
    assert info.version_id == v2


def test_list_start_after(object_store: ObjectStore) -> None:
    for key in [
        "e/date=2026-01-01/a",
        "e/date=2026-01-01/_SUCCESS",
        "e/date=2026-01-02/a",
        "e/date=2026-01-03/a",
    ]:
        object_store.put(key, b"1")
    keys = [o.key for o in object_store.list("e/", start_after="e/date=2026-01-01/~")]
    assert keys == ["e/date=2026-01-02/a", "e/date=2026-01-03/a"]
    assert len(list(object_store.list("e/", start_after=None))) == 4


def test_listing_is_in_key_order_across_folders(object_store: ObjectStore) -> None:
    for key in ["k/2", "k/1", "j/1", "k/sub/3"]:
        object_store.put(key, b"x")
    assert [o.key for o in object_store.list("k/")] == ["k/1", "k/2", "k/sub/3"]
    assert [o.key for o in object_store.list("k/", start_after="k/1")] == ["k/2", "k/sub/3"]
    assert object_store.folders("k/") == ["sub"]


def test_a_rewrite_changes_the_fingerprint(object_store: ObjectStore) -> None:
    """Rewritten with other bytes of the same size at once: the listing's fingerprint changes,
    so every cursor and stat cache built on it sees the change."""
    object_store.put("r/obj", b"aaaa")
    before = object_store.head("r/obj")
    object_store.put("r/obj", b"bbbb")
    after = object_store.head("r/obj")
    assert before is not None and after is not None and before.fingerprint != after.fingerprint


def test_capabilities_are_declared(object_store: ObjectStore) -> None:
    """An optional operation exists exactly where the backend declares it."""
    assert hasattr(object_store, "presigned_url") == supports(
        object_store, Capability.PRESIGNED_URLS
    )
    assert hasattr(object_store, "local_path") == supports(object_store, Capability.LOCAL_PATHS)
    if supports(object_store, Capability.PRESIGNED_URLS):
        object_store.put("p/q", b"1")
        assert "p/q" in object_store.presigned_url("p/q", 60)


def test_unknown_scheme_is_a_one_line_error() -> None:
    from fsdl_data.core.storage.objects import open_object_store

    with pytest.raises(ValueError, match=r"unsupported storage URL.*file://"):
        open_object_store("gopher://host/x")


def test_local_rewrite_within_one_clock_tick_changes_the_fingerprint(tmp_path, monkeypatch) -> None:
    """The local fingerprint is size and mtime (no inode, so copies keep it); a rewrite of the
    same size that the clock stamps with the same time (a coarse tick) still moves it on."""
    import os

    from fsdl_data.core.storage.backends import local

    real_write, tick = local._write, 1_700_000_000 * 10**9

    def frozen_clock_write(path: str, data: bytes) -> None:
        real_write(path, data)
        os.utime(path, ns=(tick, tick))

    monkeypatch.setattr(local, "_write", frozen_clock_write)
    store = LocalObjectStore(tmp_path)
    store.put("r/obj", b"aaaa")
    before = store.head("r/obj")
    store.put("r/obj", b"bbbb")
    assert before is not None and store.head("r/obj").fingerprint != before.fingerprint
