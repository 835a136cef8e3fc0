"""Content-addressed snapshots: identity from content, dedup, corruption detected, diffs."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from fsdl_data.core.storage.objects import LocalObjectStore
from fsdl_data.core.versioning.hashing import frame_digest
from fsdl_data.core.versioning.snapshot import (
    diff_manifests,
    load_snapshot,
    read_manifest,
    write_snapshot,
)

A = pl.DataFrame({"x": [1, 2], "y": ["a", "b"]})
B = pl.DataFrame({"x": [3], "y": ["c"]})


def test_same_content_same_version_and_files_are_shared(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    s1 = write_snapshot(store, "ts", {"d1": A, "d2": B}, {"up[d1]": "v1"})
    s2 = write_snapshot(store, "ts", {"d2": B, "d1": A.clone()}, {"up[d1]": "v1"})
    assert s1.version == s2.version and s1.row_count == 3
    s3 = write_snapshot(
        store,
        "ts",
        {"d1": A, "d2": B.with_columns(pl.lit(4, dtype=pl.Int64).alias("x"))},
        {"up[d1]": "v1"},
    )
    assert s3.version != s1.version
    assert diff_manifests(s1, s3) == {"added": [], "removed": [], "changed": ["d2"]}
    assert len(list(store.list("snapshots/ts/files/"))) == 3  # d1's file stored once
    back = load_snapshot(store, read_manifest(store, "ts", s1.version))
    assert back.drop("snapshot_part").equals(pl.concat([A, B]))
    assert (
        write_snapshot(store, "ts", {"d1": A, "d2": B}, {"up[d1]": "v2"}).version != s1.version
    )  # lineage counts


def test_corruption_and_schema_mismatch_are_refused(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    snap = write_snapshot(store, "ts", {"d1": A}, {})
    path = snap.manifest["files"][0]["path"]
    store.put(path, b"garbage")
    with pytest.raises(ValueError, match="does not match its hash"):
        load_snapshot(store, snap)
    with pytest.raises(ValueError, match="schema"):
        write_snapshot(store, "ts", {"d1": A, "d2": A.cast({"x": pl.Float64})}, {})


def test_frame_digest_ignores_chunking_not_content() -> None:
    chunked = pl.concat([A.head(1), A.tail(1)], rechunk=False)
    assert frame_digest(chunked) == frame_digest(A)
    assert frame_digest(A) != frame_digest(A.reverse())
