"""The snapshot store, on a local folder and an S3 server: content addressing, incremental
snapshots, folder status, integrity (verify, repair), gc (a property test), diffs, export."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake, to_parquet_bytes
from fsdl_data.core.storage.objects import Listed, ObjectStore
from fsdl_data.core.versioning import snapshots as snap
from fsdl_data.core.versioning.diff import diff_files, diff_tables
from fsdl_data.core.versioning.digests import sha256
from fsdl_data.core.versioning.store import (
    CorruptSnapshot,
    Manifest,
    SnapshotNotFound,
    SnapshotStore,
    blob_key,
)

A = pl.DataFrame({"photo_id": [1, 2], "label": ["cat", "dog"], "x": [0.5, 1.5]})
B = pl.DataFrame({"photo_id": [3], "label": ["dog"], "x": [2.5]})
TABLE = Manifest(
    name="t", kind="table", files=(), source="t", key=("photo_id",), extra={"label_column": "label"}
)

LISTED_AT = datetime(2026, 1, 1, tzinfo=UTC)  # when hand-made sources were listed


def lake_with(store: ObjectStore, parts: dict[str, pl.DataFrame]) -> Lake:
    lake = Lake(store)
    for day, df in parts.items():
        lake.write("t", df, day)
    return lake


def table(lake: Lake) -> snap.TableFiles:
    return snap.TableFiles("t", lake.store, tuple(snap.table_files(lake, "t")))


def test_same_content_same_id_and_blobs_are_shared(object_store: ObjectStore) -> None:
    store = SnapshotStore(object_store)
    lake = lake_with(object_store, {"2026-01-01": A, "2026-01-02": B})
    first = snap.snapshot_table(store, TABLE, table(lake))
    assert first.read == 2 and first.reused == 0 and first.manifest.row_count == 3
    lake.write("t", A.clone(), "2026-01-01")  # rewritten with the same bytes: a new fingerprint
    again = snap.snapshot_table(store, TABLE, table(lake))
    assert again.snapshot_id == first.snapshot_id  # identity is content, not where files sat
    lake.write("t", A.with_columns(pl.lit("cat").alias("label")), "2026-01-02")
    changed = snap.snapshot_table(store, TABLE, table(lake))
    assert changed.snapshot_id != first.snapshot_id and changed.read == 1 and changed.reused == 1
    assert len(store.blob_sizes()) == 3  # the unchanged partition is stored once
    back = snap.load_table(store, store.read(first.snapshot_id))
    assert back.drop("snapshot_part").equals(pl.concat([A, B]))
    assert back["snapshot_part"].to_list() == ["2026-01-01", "2026-01-01", "2026-01-02"]


def test_an_unchanged_partition_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = LocalObjectStore(tmp_path / "lake")
    store, lake = SnapshotStore(local), lake_with(local, {"2026-01-01": A, "2026-01-02": B})
    snap.snapshot_table(store, TABLE, table(lake))
    lake.write("t", B.with_columns(pl.lit(9.5).alias("x")), "2026-01-03")
    reads: list[str] = []
    files, read = table(lake), snap.TableFiles.read
    monkeypatch.setattr(
        snap.TableFiles, "read", lambda self, s: reads.append(s.key) or read(self, s)
    )
    taken = snap.snapshot_table(store, TABLE, files)
    assert reads == ["date=2026-01-03/data.parquet"] and taken.reused == 2


def test_ids_prefixes_and_clear_errors(tmp_path: Path) -> None:
    store = SnapshotStore(LocalObjectStore(tmp_path))
    taken = snap.snapshot_table(store, TABLE, table(lake_with(store.store, {"2026-01-01": A})))
    assert store.resolve(taken.snapshot_id[:6]) == ("t", taken.snapshot_id)
    with pytest.raises(SnapshotNotFound, match="snapshot list"):
        store.read("abcdef0")
    with pytest.raises(SnapshotNotFound, match="at least 4 hex"):
        store.read("xyz")
    with pytest.raises(ValueError, match="invalid snapshot name"):
        store.commit(Manifest(name="../up", kind="folder", files=()))


def test_tampered_blob_is_caught_on_read_verify_and_write_and_repaired(
    object_store: ObjectStore,
) -> None:
    store = SnapshotStore(object_store)
    lake = lake_with(object_store, {"2026-01-01": A})
    taken = snap.snapshot_table(store, TABLE, table(lake))
    digest = taken.manifest.files[0].sha256
    good = object_store.get(blob_key(digest))
    object_store.put(blob_key(digest), good[:-1] + bytes([good[-1] ^ 1]))  # same size, one bit off
    with pytest.raises(CorruptSnapshot, match="does not match its hash"):
        snap.load_table(store, store.read(taken.snapshot_id))
    (problem,) = store.verify()
    assert (problem.what, problem.blob) == ("corrupt", digest)
    again = snap.snapshot_table(store, TABLE, table(lake))  # re-running the snapshot ...
    assert again.snapshot_id == taken.snapshot_id and again.read == 1  # ... re-reads that file
    assert store.verify() == []  # ... and repairs its blob
    object_store.put(blob_key(digest), good[:-1] + bytes([good[-1] ^ 1]))
    store.put_blob(good)  # writing the same content again detects and repairs it
    assert store.verify() == []
    object_store.delete(blob_key(digest))
    assert [p.what for p in store.verify([taken.snapshot_id])] == ["missing"]
    again = snap.snapshot_table(store, TABLE, table(lake))  # a re-run repairs a missing blob
    assert again.snapshot_id == taken.snapshot_id and again.read == 1 and store.verify() == []


def test_folder_snapshot_status_and_checkout_byte_identical(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    for i in range(12):
        (folder / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (folder / f"d{i % 3}" / f"{i}.jpg").write_bytes(os.urandom(100 + i))
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    read = lambda s: (folder / s.key).read_bytes()  # noqa: E731
    first = snap.take(
        store, Manifest(name="photos", kind="folder", files=()), snap.local_files(folder), read
    )
    assert first.read == 12 and len(first.manifest.files) == 12
    assert snap.status(store.cached_files("photos"), snap.local_files(folder), read).clean
    touched = folder / "d0" / "0.jpg"
    os.utime(touched, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched, not changed
    (folder / "d1" / "1.jpg").write_bytes(b"changed")
    (folder / "d2" / "new.jpg").write_bytes(b"new")
    (folder / "d0" / "3.jpg").unlink()
    found = snap.status(store.cached_files("photos"), snap.local_files(folder), read)
    assert (found.added, found.removed, found.modified) == (
        ["d2/new.jpg"],
        ["d0/3.jpg"],
        ["d1/1.jpg"],
    )
    second = snap.take(
        store, Manifest(name="photos", kind="folder", files=()), snap.local_files(folder), read
    )
    assert second.read == 3 and second.reused == 9  # the touched file is re-read, once
    files = diff_files(first.manifest, second.manifest)
    assert (files.added, files.removed, files.changed) == (
        ["d2/new.jpg"],
        ["d0/3.jpg"],
        ["d1/1.jpg"],
    )
    out = tmp_path / "out"
    for f in first.manifest.files:
        (out / f.path).parent.mkdir(parents=True, exist_ok=True)
        (out / f.path).write_bytes(store.get_blob(f.sha256))
    assert (out / "d0" / "3.jpg").read_bytes() == first_bytes(first, store, "d0/3.jpg")


def first_bytes(taken: snap.Taken, store: SnapshotStore, path: str) -> bytes:
    (entry,) = [f for f in taken.manifest.files if f.path == path]
    return store.get_blob(entry.sha256)


def test_many_small_files_go_into_packs_that_verify_checkout_and_gc_handle(
    object_store: ObjectStore,
) -> None:
    store = SnapshotStore(object_store)
    contents = {f"d/{i:03d}.jpg": os.urandom(50 + i) for i in range(snap.PACK_MIN_FILES + 6)}
    sources = lambda: [  # noqa: E731
        Listed(p, sha256(d), LISTED_AT, len(d)) for p, d in sorted(contents.items())
    ]
    template = Manifest(name="photos", kind="folder", files=())
    first = snap.take(store, template, sources(), lambda s: contents[s.key])
    assert len(store.packed()) == len(contents)  # every file packed ...
    assert len(list(object_store.list("snapshots/blobs/"))) == 1  # ... into one blob
    assert all(store.get_blob(f.sha256) == contents[f.path] for f in first.manifest.files)
    contents["d/000.jpg"] = b"changed"
    time.sleep(1.1)  # S3's LastModified has one-second resolution: history orders by it
    second = snap.take(store, template, sources(), lambda s: contents[s.key])
    assert second.read == 1 and store.verify() == []
    (pack,) = {p for p, _, _ in store.packed().values()}
    body = bytearray(object_store.get(blob_key(pack)))
    _, offset, _ = store.packed()[second.manifest.files[5].sha256]
    body[offset] ^= 1  # one bit off inside the pack: that file, and only it, is corrupt
    object_store.put(blob_key(pack), bytes(body))
    fresh = SnapshotStore(object_store)
    (problem,) = fresh.verify([second.snapshot_id])
    assert (problem.what, problem.path) == ("corrupt", second.manifest.files[5].path)
    body[offset] ^= 1
    object_store.put(blob_key(pack), bytes(body))
    store.gc(1)  # the first snapshot's version of d/000.jpg goes: its pack is rewritten
    assert SnapshotStore(object_store).verify() == []
    needed = {f.sha256 for f in second.manifest.files}
    assert set(SnapshotStore(object_store).blob_sizes()) == needed


def test_row_level_diff_with_schema_changes_and_label_flips() -> None:
    old = pl.DataFrame({"photo_id": [1, 2, 3], "label": ["a", "b", "c"], "x": [1, 2, 3]})
    new = pl.DataFrame(
        {"photo_id": [2, 3, 4], "label": ["b", "z", "d"], "x": [2.0, 3.0, 9.0], "y": [0, 0, 0]}
    )
    d = diff_tables(old, new, ["photo_id"], "label")
    assert (d.added_rows, d.removed_rows, d.changed_rows, d.unchanged_rows) == (1, 1, 1, 1)
    assert d.added_columns == ["y"] and d.retyped_columns == {"x": ("Int64", "Float64")}
    assert d.changed_by_column == {"label": 1} and d.label_flips == 1
    assert d.examples["changed"] == [(3,)]
    with pytest.raises(ValueError, match="key columns"):
        diff_tables(old, new.drop("photo_id"), ["photo_id"])


@settings(max_examples=25, deadline=None)
@given(
    contents=st.lists(
        st.lists(st.binary(min_size=1, max_size=6), min_size=1, max_size=4), min_size=1, max_size=6
    ),
    names=st.lists(st.sampled_from(["a", "b"]), min_size=6, max_size=6),
    keep=st.integers(1, 3),
    packed=st.booleans(),
)
def test_gc_never_deletes_a_blob_a_kept_snapshot_names(
    contents, names, keep, packed, tmp_path_factory
) -> None:
    store = SnapshotStore(LocalObjectStore(tmp_path_factory.mktemp("gc")))
    for i, files in enumerate(contents):
        named = {f"f{j}": data for j, data in enumerate(files)}
        sources = [Listed(name, data.hex(), LISTED_AT, len(data)) for name, data in named.items()]
        template = Manifest(name=names[i], kind="folder", files=(), extra={"n": i})
        with mock.patch.object(snap, "PACK_MIN_FILES", 1 if packed else 10**9):
            snap.take(store, template, sources, lambda s: named[s.key])  # noqa: B023 (read now)
        time.sleep(0.002)  # distinct write times order the history
    kept_ids = {ref.id for name in ("a", "b") for ref in store.history(name)[-keep:]}
    dropped, _ = store.gc(keep)
    assert {ref.id for ref in store.history()} == kept_ids and not (set(dropped) & kept_ids)
    assert store.verify() == []  # every blob a kept manifest names is still there, intact
    needed = {f.sha256 for i in kept_ids for f in store.read(i).files}
    assert set(store.blob_sizes()) == needed  # and nothing else is


def test_export_loads_and_streams_with_datasets(tmp_path: Path) -> None:
    import datasets

    from fsdl_data.core.versioning.export import export_snapshot

    local = LocalObjectStore(tmp_path / "lake")
    store = SnapshotStore(local)
    taken = snap.snapshot_table(
        store, TABLE, table(lake_with(local, {"2026-01-01": A, "2026-01-02": B}))
    )
    shards = export_snapshot(store, taken.snapshot_id, taken.manifest, tmp_path / "hf", "cc-by-4.0")
    assert [p.read_bytes() for p in shards] == [to_parquet_bytes(A), to_parquet_bytes(B)]
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "license: cc-by-4.0" in card and taken.snapshot_id in card and "num_examples: 3" in card
    files = str(tmp_path / "hf" / "data" / "*.parquet")
    loaded = datasets.load_dataset("parquet", data_files=files, split="train")
    assert loaded.num_rows == 3 and sorted(loaded["photo_id"]) == [1, 2, 3]
    streamed = datasets.load_dataset("parquet", data_files=files, split="train", streaming=True)
    assert sorted(row["photo_id"] for row in streamed) == [1, 2, 3]


def test_exports_of_every_column_type_load_as_typed_datasets(tmp_path: Path) -> None:
    import datetime as dt
    import io

    import datasets
    import PIL.Image
    import pyarrow.parquet as pq

    from fsdl_data.core.versioning.export import card_features, export_snapshot

    jpeg = io.BytesIO()
    PIL.Image.new("RGB", (4, 3), (200, 10, 10)).save(jpeg, format="JPEG")
    utc = dt.UTC
    day = pl.DataFrame(
        {
            "photo_id": [1, 2],
            "tags": [["a", "b"], []],
            "meta": [{"w": 4, "scores": [0.5]}, {"w": None, "scores": []}],
            "at": [dt.datetime(2026, 1, 1, tzinfo=utc), None],
            "day": [dt.date(2026, 1, 1), dt.date(2026, 1, 2)],
            "image": [jpeg.getvalue(), None],
            "raw": [b"\x00\x01", b""],
            "small": pl.Series([1, 2], dtype=pl.Int8),
            "ok": [True, None],
            "x": pl.Series([0.5, 1.0], dtype=pl.Float32),
        }
    )
    local = LocalObjectStore(tmp_path / "lake")
    store = SnapshotStore(local)
    taken = snap.snapshot_table(
        store, TABLE, table(lake_with(local, {"2026-01-01": day, "2026-01-02": day}))
    )
    folder = tmp_path / "hf"
    export_snapshot(store, taken.snapshot_id, taken.manifest, folder)
    shard = (folder / "data" / "train-00000-of-00002.parquet").read_bytes()
    expected = datasets.Features.from_arrow_schema(pq.read_schema(io.BytesIO(shard)))
    expected["image"] = datasets.Image()  # the oracle, with the image column as one
    assert card_features([shard]) == expected._to_yaml_list()
    loaded = datasets.load_dataset(str(folder), split="train")
    assert loaded.num_rows == 4 and loaded.features == expected
    assert loaded[0]["image"].size == (4, 3) and loaded[0]["meta"] == {"w": 4, "scores": [0.5]}
    streamed = datasets.load_dataset(str(folder), split="train", streaming=True)
    assert [row["photo_id"] for row in streamed] == [1, 2, 1, 2]
    smaller = snap.snapshot_table(
        store, TABLE, table(lake_with(LocalObjectStore(tmp_path / "l2"), {"2026-01-03": day}))
    )
    export_snapshot(store, smaller.snapshot_id, smaller.manifest, folder)  # replaces, whole
    assert [p.name for p in (folder / "data").iterdir()] == ["train-00000-of-00001.parquet"]
    assert datasets.load_dataset(str(folder), split="train").num_rows == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf", "l2", "lake"]  # no temporaries
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        export_snapshot(store, taken.snapshot_id, taken.manifest, other)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_a_raw_object_manifest_holds_every_object_and_its_upstream(tmp_path: Path) -> None:
    import json

    from fsdl_data.core.versioning.describe import object_lines
    from fsdl_data.core.versioning.store import manifest_key

    raw = pl.DataFrame(
        {
            "key": ["photos/2.jpg", "photos/1.jpg"],
            "photo_id": [2, 1],
            "etag": ["e2", "e1"],
            "version_id": [None, "v1"],
            "size": [20, 10],
            "sha256": ["b" * 64, "a" * 64],
        }
    )
    local = LocalObjectStore(tmp_path / "lake")
    store = SnapshotStore(local)
    lake = lake_with(local, {"2026-01-01": raw})
    files = snap.TableFiles("t", local, tuple(snap.table_files(lake, "t")), lambda s: "dv-1")
    template = Manifest(name="raw", kind="table", files=(), source="t", key=("key",))
    first = snap.snapshot_table(store, template, files)
    lake.write("t", raw.head(0), "2026-01-02")  # a second night: the first file is reused
    files = snap.TableFiles("t", local, tuple(snap.table_files(lake, "t")), lambda s: "dv-2")
    second = snap.snapshot_table(store, template, files)
    assert second.reused == 1 and second.read == 1
    for taken in (first, second):  # read back from the stored manifest itself
        body = json.loads(local.get(manifest_key("raw", taken.snapshot_id)))
        assert body["objects"] == [
            {
                "key": "photos/1.jpg",
                "size": 10,
                "sha256": "a" * 64,
                "etag": "e1",
                "version_id": "v1",
            },
            {
                "key": "photos/2.jpg",
                "size": 20,
                "sha256": "b" * 64,
                "etag": "e2",
                "version_id": None,
            },
        ]
        assert body["upstream"]["t[2026-01-01]"] == "dv-1"
        assert "object_records" not in json.dumps(body["files"])  # held once, in objects
    lines = object_lines(store.read(second.snapshot_id))
    assert f"photos/1.jpg\t10\t{'a' * 64}\te1\tv1" in lines
    assert f"photos/2.jpg\t20\t{'b' * 64}\te2\t-" in lines


def test_a_tree_table_manifest_names_its_objects_by_listing_per_key_folder(
    tmp_path: Path,
) -> None:
    """The graph's table snapshots are trees: the top names one listing of raw objects per
    folder of their keys (inside its hash), read back as the same records; a tampered
    listing is refused and named by verify."""
    import json

    from fsdl_data.core.versioning.describe import object_lines
    from fsdl_data.core.versioning.manifests import TREE, listing_key
    from fsdl_data.core.versioning.store import manifest_key

    days = {"2026-01-01": ["a", "b"], "2026-01-02": ["c"]}
    local = LocalObjectStore(tmp_path / "lake")
    store, lake = SnapshotStore(local), Lake(local)
    for day, names in days.items():
        lake.write("t", pl.DataFrame({
            "key": [f"photos/date={day}/{n}.jpg" for n in names], "etag": names,
            "version_id": [None] * len(names), "size": [1] * len(names),
            "sha256": [n * 64 for n in names]}, schema_overrides={"version_id": pl.String}), day)  # fmt: skip
    files = snap.TableFiles("t", local, tuple(snap.table_files(lake, "t")))
    template = Manifest(name="raw", kind="table", files=(), source="t", schema_version=TREE)
    taken = snap.snapshot_table(store, template, files)
    body = json.loads(local.get(manifest_key("raw", taken.snapshot_id)))
    assert "objects" not in body and [g[0] for g in body["object_listings"]] == [
        "photos/date=2026-01-01", "photos/date=2026-01-02"]  # fmt: skip
    first = json.loads(local.get(listing_key(body["object_listings"][0][1])))
    assert [r["etag"] for r in first["objects"]] == ["a", "b"]
    back = SnapshotStore(local).read(taken.snapshot_id)
    assert back.id == taken.snapshot_id and len(back.objects) == 3
    assert list(back.objects) == list(taken.manifest.objects)
    assert f"photos/date=2026-01-02/c.jpg\t1\t{'c' * 64}\tc\t-" in object_lines(back)
    local.put(listing_key(body["object_listings"][1][1]), b'{"format": 1, "objects": []}')
    assert [p.path for p in SnapshotStore(local).verify()] == ["(listing)"]


@settings(max_examples=60, deadline=None)
@given(
    old_rows=st.dictionaries(
        st.integers(0, 30),
        st.tuples(st.one_of(st.none(), st.integers(-3, 3)), st.sampled_from(["a", "b", None])),
        max_size=25,
    ),
    edits=st.dictionaries(
        st.integers(0, 40),
        st.one_of(
            st.none(),
            st.tuples(st.one_of(st.none(), st.integers(-3, 3)), st.sampled_from(["a", "c", None])),
        ),
        max_size=25,
    ),
    retype=st.booleans(),
    shuffle=st.none() | st.integers(0, 2**16),
)
def test_row_diff_matches_a_naive_comparison(old_rows, edits, retype, shuffle) -> None:
    """In key order (rows that line up are compared in place) or shuffled (matched by key)."""
    new_rows = dict(old_rows)
    for key, value in edits.items():  # None: removed; else added or replaced
        if value is None:
            new_rows.pop(key, None)
        else:
            new_rows[key] = value

    def frame(rows: dict, text: bool) -> pl.DataFrame:
        keys = sorted(rows)
        values = [rows[k][0] for k in keys]
        return pl.DataFrame(
            {"id": keys, "n": [None if v is None else str(v) for v in values] if text else values,
             "label": [rows[k][1] for k in keys], "snapshot_part": ["p"] * len(keys)},
            schema={"id": pl.Int64, "n": pl.String if text else pl.Int64, "label": pl.String,
                    "snapshot_part": pl.String},
        )  # fmt: skip

    after = frame(new_rows, retype)
    if shuffle is not None:
        after = after.sample(fraction=1.0, shuffle=True, seed=shuffle)
    d = diff_tables(frame(old_rows, False), after, ["id"], "label")
    both = set(old_rows) & set(new_rows)
    changed = {k for k in both if old_rows[k] != new_rows[k]}  # "2" == 2 as text: the rule
    assert (d.added_rows, d.removed_rows) == (
        len(set(new_rows) - set(old_rows)),
        len(set(old_rows) - set(new_rows)),
    )
    assert (d.changed_rows, d.unchanged_rows) == (len(changed), len(both) - len(changed))
    assert d.label_flips == sum(old_rows[k][1] != new_rows[k][1] for k in both)
    assert "snapshot_part" not in d.changed_by_column and d.retyped_columns == (
        {"n": ("Int64", "String")} if retype else {}
    )


def test_counts_mean_one_thing_each(tmp_path: Path) -> None:
    local = LocalObjectStore(tmp_path / "lake")
    store = SnapshotStore(local)
    lake = lake_with(local, {"2026-01-01": A, "2026-01-02": A.head(0)})
    first = snap.snapshot_table(store, TABLE, table(lake), skip_empty=True)
    assert (len(first.manifest.files), first.read, first.reused, first.left_out) == (1, 1, 0, 1)
    lake.write("t", B, "2026-01-03")
    again = snap.snapshot_table(store, TABLE, table(lake), skip_empty=True)
    # files = files_read + files_reused; the empty partition is counted apart, once
    assert (len(again.manifest.files), again.read, again.reused, again.left_out) == (2, 1, 1, 1)


@pytest.mark.parametrize("versioned", [True, False])
def test_an_s3_folder_snapshot_records_each_objects_current_version_id(
    s3_env: str, s3_bucket: str, tmp_path: Path, versioned: bool
) -> None:
    """On a versioned bucket the manifest holds every object's current VersionId (listed with
    list_object_versions: list_objects_v2 has none), also for an object rewritten with the same
    bytes (not read again, but a new version); deleted keys are gone. Unversioned: none."""
    import random

    from fsdl_data.core.storage.backends.s3 import S3ObjectStore
    from fsdl_data_tests.conftest import s3_client

    client = s3_client(s3_env)
    if versioned:
        client.put_bucket_versioning(
            Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"}
        )
    objects = S3ObjectStore(client, s3_bucket, "photos")
    rng = random.Random(len(s3_bucket))
    keys = [f"d{rng.randrange(3)}/{i:03d}.jpg" for i in range(rng.randrange(4, 12))]
    for key in keys:
        for _ in range(rng.randrange(1, 3)):  # some objects have older versions
            objects.put(key, rng.randbytes(rng.randrange(1, 50)))
    gone = rng.choice(keys)
    objects.delete(gone)  # its latest version is a delete marker
    store = SnapshotStore(LocalObjectStore(tmp_path / "lake"))
    template = Manifest(name="photos", kind="folder", files=(), source="s3")

    def taken() -> Manifest:
        found = snap.take(store, template, snap.object_files(objects, ""),
                          snap.object_reader(objects, ""))  # fmt: skip
        assert found is not None
        return found.manifest

    def current(key: str) -> str | None:
        return client.head_object(Bucket=s3_bucket, Key=f"photos/{key}").get("VersionId")

    first = taken()
    assert sorted(f.path for f in first.files) == sorted(set(keys) - {gone})
    for entry in first.files:
        assert entry.version_id == (current(entry.path) if versioned else None)
        assert entry.version_id is None or entry.version_id != "null"
    same = first.files[0]
    objects.put(same.path, objects.get(same.path))  # the same bytes again: a new version
    again = taken()
    entry = next(f for f in again.files if f.path == same.path)
    assert entry.sha256 == same.sha256
    assert entry.version_id == (current(same.path) if versioned else None)
    assert (entry.version_id != same.version_id) == versioned
