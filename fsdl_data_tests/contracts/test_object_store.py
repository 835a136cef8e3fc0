"""One contract for every object store: run against a local folder and an S3 server over HTTP."""

from __future__ import annotations

import hashlib

import pytest

from fsdl_data.core.storage.objects import TMP_PREFIX, LocalObjectStore, ObjectNotFound, ObjectStore


def test_put_get_roundtrip_and_etag_is_md5(object_store: ObjectStore) -> None:
    data = b"\x00\xffhello" * 100
    info = object_store.put("photos/date=2026-01-01/1.jpg", data)
    assert object_store.get("photos/date=2026-01-01/1.jpg") == data
    assert info.size == len(data)
    assert info.etag == hashlib.md5(data).hexdigest()
    body, fetched = object_store.fetch("photos/date=2026-01-01/1.jpg")
    assert body == data and fetched.etag == info.etag and fetched.size == len(data)


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
    assert head is not None and head.size == 3 and head.etag == hashlib.md5(b"x/y").hexdigest()


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
    assert uri.endswith("/k/v") and uri.split("://")[0] in ("file", "s3")


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
    from fsdl_data.core.storage.objects import S3ObjectStore
    from fsdl_data_tests.conftest import s3_client

    client = s3_client(s3_env)
    client.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    store = S3ObjectStore(client, s3_bucket)
    v1 = store.put("k", b"1").version_id
    v2 = store.put("k", b"2").version_id
    assert v1 and v2 and v1 != v2
    _, info = store.fetch("k")
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


def test_keys_match_list(object_store: ObjectStore) -> None:
    for key in ["k/2", "k/1", "j/1", "k/sub/3"]:
        object_store.put(key, b"x")
    assert (
        list(object_store.keys("k/"))
        == [o.key for o in object_store.list("k/")]
        == ["k/1", "k/2", "k/sub/3"]
    )
    assert list(object_store.keys("k/", start_after="k/1")) == ["k/2", "k/sub/3"]
