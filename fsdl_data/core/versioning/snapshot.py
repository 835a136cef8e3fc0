"""Content-addressed, versioned dataset snapshots (the lecture's "level 2" versioning).

A snapshot is Parquet files named by the SHA-256 of their bytes plus a manifest:
    snapshots/<name>/files/<sha256>.parquet
    snapshots/<name>/manifests/<manifest sha256>.json
The manifest hash is the snapshot's version: identical inputs give an identical version, and
any change to any row gives a new one. Files shared between versions are stored once.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from fsdl_data.core.storage.objects import ObjectStore
from fsdl_data.core.versioning.hashing import canonical_json, parquet_and_digest, sha256

SNAPSHOTS = "snapshots"


@dataclass(frozen=True)
class Snapshot:
    name: str
    version: str
    manifest: dict[str, Any]

    @property
    def row_count(self) -> int:
        return int(self.manifest["row_count"])


def write_snapshot(
    store: ObjectStore,
    name: str,
    parts: Mapping[str, pl.DataFrame],
    upstream: Mapping[str, str],
    extra: Mapping[str, Any] | None = None,
) -> Snapshot:
    """Write `parts` (e.g. one per day) as content-addressed files, then the manifest.

    `upstream` maps "asset[partition]" to the data version it was built from. Files go first and
    the manifest last, so a manifest never names a file that is not there.
    """
    files = []
    schema: dict[str, str] | None = None
    for part in sorted(parts):
        df = parts[part]
        part_schema = {c: str(t) for c, t in df.schema.items()}
        if schema is not None and part_schema != schema:
            raise ValueError(
                f"part {part!r} of snapshot {name!r} has schema {part_schema}, expected {schema}"
            )
        schema = part_schema
        data, digest = parquet_and_digest(df)
        key = f"{SNAPSHOTS}/{name}/files/{digest}.parquet"
        if store.head(key) is None:
            store.put(key, data)
        files.append(
            {"part": part, "path": key, "sha256": digest, "rows": len(df), "bytes": len(data)}
        )
    manifest = {
        "name": name,
        "row_count": sum(f["rows"] for f in files),
        "schema": schema or {},
        "files": files,
        "upstream": dict(sorted(upstream.items())),
        **(dict(extra) if extra else {}),
    }
    body = canonical_json(manifest)
    version = sha256(body)
    store.put(f"{SNAPSHOTS}/{name}/manifests/{version}.json", body)
    return Snapshot(name, version, manifest)


def read_manifest(store: ObjectStore, name: str, version: str) -> Snapshot:
    body = store.get(f"{SNAPSHOTS}/{name}/manifests/{version}.json")
    if sha256(body) != version:
        raise ValueError(
            f"manifest {version} of snapshot {name!r} does not match its hash: storage corrupted"
        )
    return Snapshot(name, version, json.loads(body))


def load_snapshot(store: ObjectStore, snap: Snapshot, verify: bool = True) -> pl.DataFrame:
    """All rows of a snapshot, each file checked against its hash."""
    frames = []
    for f in snap.manifest["files"]:
        data = store.get(f["path"])
        if verify and sha256(data) != f["sha256"]:
            raise ValueError(f"file {f['path']} does not match its hash: storage corrupted")
        frames.append(
            pl.read_parquet(io.BytesIO(data)).with_columns(pl.lit(f["part"]).alias("snapshot_part"))
        )
    return pl.concat(frames) if frames else pl.DataFrame()


def diff_manifests(old: Snapshot, new: Snapshot) -> dict[str, list[str]]:
    """Which parts were added, removed or changed between two versions."""
    a = {f["part"]: f["sha256"] for f in old.manifest["files"]}
    b = {f["part"]: f["sha256"] for f in new.manifest["files"]}
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "changed": sorted(p for p in set(a) & set(b) if a[p] != b[p]),
    }
