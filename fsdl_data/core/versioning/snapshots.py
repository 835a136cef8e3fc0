"""Taking snapshots, incrementally: of lake tables (an asset's partition files) and of folders.

A file whose fingerprint (S3 ETag, or a local file's size, mtime and inode) is the one the
previous snapshot of the same name recorded is not read again: its hash, size and row count
are carried over, provided its blob is still in the store at that size. Only new or changed
files are read, hashed and stored, so a night's snapshot costs what changed that night.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fsdl_data.core.storage.objects import ObjectStore
from fsdl_data.core.versioning.digests import sha256
from fsdl_data.core.versioning.store import FileEntry, Manifest, SnapshotStore


@dataclass(frozen=True)
class SourceFile:
    """A file as listed, before reading: where it is and what it looked like."""

    path: str  # its path inside the snapshot
    location: str  # where to read it (an object key, or a local path)
    fingerprint: str
    size: int
    partition: str | None = None
    data_version: str | None = None


@dataclass(frozen=True)
class Taken:
    snapshot_id: str
    manifest: Manifest
    read: int  # files read and hashed
    reused: int  # files carried over from the previous snapshot


def _reusable(snapshots: SnapshotStore, name: str) -> dict[tuple[str, str], FileEntry]:
    """The previous snapshot's entries, by (path, fingerprint), whose blob is still stored at
    its size: a gone or truncated blob is read and stored again (a re-run repairs it)."""
    cached = snapshots.cached_files(name)
    if not cached:
        return {}
    sizes = snapshots.blob_sizes()
    return {
        (entry.path, entry.fingerprint): entry
        for entry in cached.values()
        if entry.fingerprint is not None and sizes.get(entry.sha256) == entry.bytes
    }


def take(
    snapshots: SnapshotStore,
    template: Manifest,
    files: Iterable[SourceFile],
    read: Callable[[SourceFile], bytes],
    describe: Callable[[bytes], dict[str, Any]] | None = None,
    progress: Callable[[Iterable[SourceFile]], Iterable[SourceFile]] = lambda it: it,
    data_version: Callable[[SourceFile], str | None] | None = None,
    keep: Callable[[FileEntry], bool] = lambda entry: True,
) -> Taken | None:
    """Snapshots `files` under `template`'s name (its other fields are kept), reusing what the
    previous snapshot of that name already holds. `describe` adds per-file facts (rows, schema)
    from a file's bytes; `data_version` looks up the version of a file that had to be read;
    files `keep` rejects are left out. None, and nothing written, when no file is kept."""
    reusable = _reusable(snapshots, template.name)
    entries, read_count, reused = [], 0, 0
    schema: dict[str, str] = dict(template.schema) or snapshots.cached_schema(template.name)
    for source in progress(list(files)):
        known = reusable.get((source.path, source.fingerprint))
        if known is not None:
            entries.append(
                replace(
                    known,
                    partition=source.partition,
                    data_version=source.data_version or known.data_version,
                )
            )
            reused += 1
            continue
        data = read(source)
        if data_version is not None and source.data_version is None:
            source = replace(source, data_version=data_version(source))
        digest = snapshots.put_blob(data)
        facts = describe(data) if describe else {}
        schema = facts.pop("schema", schema)
        rows = facts.pop("rows", None)
        entries.append(
            FileEntry(
                path=source.path,
                sha256=digest,
                bytes=len(data),
                rows=rows,
                facts=facts or None,
                partition=source.partition,
                data_version=source.data_version,
                fingerprint=source.fingerprint,
            )
        )
        read_count += 1
    kept = tuple(sorted((e for e in entries if keep(e)), key=lambda e: e.path))
    if not kept:
        return None
    manifest = replace(template, files=kept, schema=schema)
    snapshot_id = snapshots.commit(manifest, tuple(e for e in entries if not keep(e)))
    return Taken(snapshot_id, manifest, read_count, reused)


def parquet_facts(data: bytes) -> dict[str, Any]:
    """Rows and schema of a Parquet file, from its footer; for a table of raw objects (a `key`
    and `etag` column), how many objects it names and how many by S3 VersionId."""
    import polars as pl  # here, not at the top: folder snapshots must start fast

    schema = pl.read_parquet_schema(io.BytesIO(data))
    rows = pl.scan_parquet(io.BytesIO(data)).select(pl.len()).collect().item()
    facts: dict[str, Any] = {"rows": int(rows), "schema": {c: str(t) for c, t in schema.items()}}
    if {"key", "etag", "version_id"} <= set(schema):
        objects = pl.read_parquet(io.BytesIO(data), columns=["key", "etag", "version_id"])
        facts["objects"] = len(objects)
        facts["objects_with_version_id"] = int(objects["version_id"].is_not_null().sum())
        facts["objects_digest"] = sha256(objects.sort("key").write_csv().encode())
    return facts


def load_table(snapshots: SnapshotStore, manifest: Manifest) -> Any:
    """A table snapshot's rows (a polars DataFrame), each file checked against its hash, with
    the partition it came from in `snapshot_part`."""
    import polars as pl

    frames = [
        pl.read_parquet(io.BytesIO(snapshots.get_blob(f.sha256))).with_columns(
            pl.lit(f.partition, dtype=pl.String).alias("snapshot_part")
        )
        for f in manifest.files
    ]
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


@dataclass(frozen=True)
class TableFiles:
    """A lake table's partition files as listed, for a snapshot: declared as an asset input
    (so lineage shows it) without reading the data (so the snapshot can skip unchanged files)."""

    table: str
    store: ObjectStore
    files: tuple[SourceFile, ...]
    data_version: Callable[[SourceFile], str | None] = field(default=lambda source: None)

    def read(self, source: SourceFile) -> bytes:
        return self.store.get(source.location)


def table_files(lake: Any, table: str, partitions: set[str] | None = None) -> list[SourceFile]:
    """The files of `table` in `lake` (those of `partitions` only, when given)."""
    return [
        SourceFile(
            path=stat.key.split("/", 2)[2],
            location=stat.key,
            fingerprint=stat.fingerprint,
            size=stat.size,
            partition=partition,
        )
        for partition, stat in lake.files(table)
        if partitions is None or partition in partitions
    ]


def snapshot_table(
    snapshots: SnapshotStore, template: Manifest, table: TableFiles, *, skip_empty: bool = False
) -> Taken | None:
    """Snapshots a lake table's files; None when there are none (or, with `skip_empty`, none
    holds a row)."""
    return take(
        snapshots,
        template,
        table.files,
        table.read,
        parquet_facts,
        data_version=table.data_version,
        keep=(lambda entry: bool(entry.rows)) if skip_empty else (lambda entry: True),
    )


# --- folders ---------------------------------------------------------------------------------
def local_files(root: Path) -> Iterator[SourceFile]:
    """Every file under `root` with its stat fingerprint (size, mtime, inode), not read."""
    root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_symlink():
                continue  # never followed: it could point outside the folder
            stat = path.stat()
            yield SourceFile(
                path=path.relative_to(root).as_posix(),
                location=str(path),
                fingerprint=f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}",
                size=stat.st_size,
            )


def object_files(store: ObjectStore, prefix: str) -> Iterator[SourceFile]:
    """Every object under `prefix` with its ETag (and VersionId) as fingerprint, not read."""
    for info in store.list(prefix):
        yield SourceFile(
            path=info.key[len(prefix) :].lstrip("/"),
            location=info.key,
            fingerprint=f"{info.etag}:{info.version_id or ''}",
            size=info.size,
        )


@dataclass(frozen=True)
class Status:
    added: list[str]
    removed: list[str]
    modified: list[str]

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.modified)


def status(
    before: dict[str, FileEntry], files: Iterable[SourceFile], read: Callable[[SourceFile], bytes]
) -> Status:
    """Added, removed and modified files against a snapshot's entries with the fingerprints
    they were listed with (SnapshotStore.cached_files). A file whose fingerprint matches is
    unchanged without being read; one whose fingerprint changed is read and hashed, so touching
    a file without changing it is not a modification."""
    now = {f.path: f for f in files}
    modified = []
    for path in sorted(set(now) & set(before)):
        if now[path].fingerprint == before[path].fingerprint:
            continue
        if now[path].size != before[path].bytes or sha256(read(now[path])) != before[path].sha256:
            modified.append(path)
    return Status(sorted(set(now) - set(before)), sorted(set(before) - set(now)), modified)
