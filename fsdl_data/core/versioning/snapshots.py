"""Taking snapshots, incrementally: of lake tables (an asset's partition files) and of folders.

A file whose fingerprint (S3 ETag, or a local file's size and mtime) is the one the
previous snapshot of the same name recorded is not read again: its hash, size and row count
are carried over, provided its blob is still in the store at that size. Only new or changed
files are read, hashed and stored, so a night's snapshot costs what changed that night.

A file to snapshot is the storage core's record of a listed object (`Listed`) whose key is its
path in the snapshot: `local_files`, `object_files` and `table_files` list them relative to
their folder, prefix or table, and `local_reader`, `object_reader` and `TableFiles.read` read
them from there.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fsdl_data.core.storage.backends.local import kind, listed_file, walk
from fsdl_data.core.storage.objects import Listed, ObjectStore
from fsdl_data.core.versioning.digests import sha256
from fsdl_data.core.versioning.store import (
    PACK_FILE_LIMIT,
    PACK_MIN_FILES,
    PACK_TARGET,
    FileEntry,
    Manifest,
    SnapshotStore,
)


@dataclass(frozen=True)
class Taken:
    snapshot_id: str
    manifest: Manifest
    read: int  # files of the snapshot that were read and hashed
    reused: int  # files of the snapshot carried over from the previous one (read + reused = files)
    left_out: int = 0  # files listed but not kept (e.g. empty partitions)


def _reusable(snapshots: SnapshotStore, name: str) -> dict[tuple[str, str], FileEntry]:
    """The previous snapshot's entries, by (path, fingerprint), whose blob is still stored as it
    was written (the same listing fingerprint, or at least the same size): a blob that is gone,
    truncated or rewritten since is read from the source and stored again (a re-run repairs
    it) without reading any other blob."""
    cached = snapshots.cached_files(name)
    if not cached:
        return {}
    listing, recorded = snapshots.blob_listing(), snapshots.cached_blobs(name)
    sizes, listed = snapshots.blob_sizes(listing), snapshots.blob_fingerprints(listing)

    def intact(entry: FileEntry) -> bool:
        holder = snapshots.holder(entry.sha256)
        if recorded.get(holder) is not None and listed.get(holder) != recorded[holder]:
            return False
        return sizes.get(entry.sha256) == entry.bytes

    return {
        (entry.path, entry.fingerprint): entry
        for entry in cached.values()
        if entry.fingerprint is not None and intact(entry)
    }


READ_WINDOW = 64  # files in flight at most when reading with threads, to bound memory


def _read_ahead(
    sources: list[Listed], read: Callable[[Listed], bytes], threads: int
) -> Iterator[tuple[bytes, str]]:
    """(bytes, SHA-256) of each source in order; with `threads` > 1, read a window ahead by
    that many threads (an object store answers many requests at once faster than one by one;
    a local disk's small files are read fastest by one thread: measured, bench/snapshot_folder)."""

    def fetch(source: Listed) -> tuple[bytes, str]:
        data = read(source)
        return data, sha256(data)

    if threads <= 1 or len(sources) < READ_WINDOW:
        yield from map(fetch, sources)
        return
    from concurrent.futures import ThreadPoolExecutor  # here: `status` never needs threads

    with ThreadPoolExecutor(threads) as pool:
        for start in range(0, len(sources), READ_WINDOW):
            yield from pool.map(fetch, sources[start : start + READ_WINDOW])


PACK_WRITERS = 1  # packs written at once (and in flight): two measured no faster than one


class _BlobWriter:
    """Stores the files a snapshot reads: as loose blobs, or (many small files) gathered into
    pack blobs, so that ten thousand photos cost a few large writes instead of ten thousand.
    A pack is written by a background thread while the next one fills. With `known` (files
    the caller knows are stored, and checked), a file is looked up there only, and no pack
    index of the store is read; `holders` then tells which blob holds each file written."""

    def __init__(self, snapshots: SnapshotStore, pack: bool, known: set[str] | None = None) -> None:
        self.snapshots, self.pack, self.known = snapshots, pack, known
        # the loose blobs, listed once (this writer holds its lease: no gc deletes one meanwhile)
        self.loose = set(snapshots.blob_listing()) if pack and known is None else None
        self.pending: dict[str, bytes] = {}
        self.pending_bytes = 0
        self.holders: dict[str, str] = {}
        from concurrent.futures import Future, ThreadPoolExecutor

        self.writer = ThreadPoolExecutor(PACK_WRITERS) if pack else None
        self.in_flight: list[tuple[Future[str | None], list[str]]] = []

    def put(self, data: bytes, digest: str) -> None:
        known = self.known
        if known is not None and (digest in known or digest in self.holders):
            return
        if not self.pack or len(data) > PACK_FILE_LIMIT:
            if known is None:
                self.snapshots.put_blob(data, digest)
                self.holders[digest] = self.snapshots.holder(digest)
                return
            if self.snapshots.blobs.size(digest) != len(data):
                self.snapshots.blobs.write(digest, data)
            self.snapshots._stored.add(digest)
            self.holders[digest] = digest
            return
        if digest not in self.pending:
            self.pending[digest] = data
            self.pending_bytes += len(data)
            if self.pending_bytes >= PACK_TARGET:
                self._send()

    def _send(self) -> None:
        assert self.writer is not None
        if len(self.in_flight) >= PACK_WRITERS:
            self._done(*self.in_flight.pop(0))  # packs in flight bound memory; raises their error
        future = self.writer.submit(self.snapshots.put_pack, self.pending, self.known, self.loose)
        self.in_flight.append((future, list(self.pending)))
        self.pending, self.pending_bytes = {}, 0

    def _done(self, future: Any, digests: list[str]) -> None:
        pack = future.result()
        if self.known is not None:
            if pack is not None:
                for digest in digests:  # with `known`, a pack holds every file not held before
                    self.holders.setdefault(digest, pack)
            return
        where = self.snapshots.packed()  # read already, to leave out what was stored
        for digest in digests:
            self.holders.setdefault(digest, where[digest][0] if digest in where else digest)

    def finish(self) -> None:
        """Writes what is pending and waits until every pack is stored."""
        if self.writer is None:
            return
        if self.pending:
            self._send()
        for future, digests in self.in_flight:
            self._done(future, digests)
        self.writer.shutdown()


def take(
    snapshots: SnapshotStore,
    template: Manifest,
    files: Iterable[Listed],
    read: Callable[[Listed], bytes],
    describe: Callable[[bytes], dict[str, Any]] | None = None,
    progress: Callable[[Iterable[Listed]], Iterable[Listed]] = lambda it: it,
    data_version: Callable[[Listed], str | None] | None = None,
    keep: Callable[[FileEntry], bool] = lambda entry: True,
    read_threads: int = 1,
) -> Taken | None:
    """Snapshots `files` under `template`'s name (its other fields are kept), reusing what the
    previous snapshot of that name already holds. `describe` adds per-file facts (rows, schema)
    from a file's bytes; `data_version` looks up the version of a file that had to be read;
    files `keep` rejects are left out; `read_threads` read ahead in parallel (for object
    stores). None, and nothing written, when no file is kept."""
    with snapshots.writing():  # no gc deletes what this snapshot reuses or writes meanwhile
        return _take(snapshots, template, files, read, describe, progress, data_version, keep,
                     read_threads)  # fmt: skip


def _take(
    snapshots: SnapshotStore,
    template: Manifest,
    files: Iterable[Listed],
    read: Callable[[Listed], bytes],
    describe: Callable[[bytes], dict[str, Any]] | None,
    progress: Callable[[Iterable[Listed]], Iterable[Listed]],
    data_version: Callable[[Listed], str | None] | None,
    keep: Callable[[FileEntry], bool],
    read_threads: int,
) -> Taken | None:
    reusable = _reusable(snapshots, template.name)
    entries: list[FileEntry] = []
    read_paths: set[str] = set()
    schema: dict[str, str] = dict(template.schema) or snapshots.cached_schema(template.name)
    sources = list(files)
    to_read = [s for s in sources if (s.key, s.fingerprint) not in reusable]
    blobs = _BlobWriter(snapshots, pack=len(to_read) >= PACK_MIN_FILES)
    fetched = _read_ahead(to_read, read, read_threads)
    for source in progress(sources):
        known = reusable.get((source.key, source.fingerprint))
        if known is not None:
            entries.append(  # the same bytes; an object rewritten alike has a new VersionId
                known._replace(
                    partition=source.partition,
                    etag=source.etag or known.etag,
                    version_id=source.version_id or known.version_id,
                )
            )
            continue
        data, digest = next(fetched)
        blobs.put(data, digest)
        facts = describe(data) if describe else {}
        schema = facts.pop("schema", schema)
        rows = facts.pop("rows", None)
        entries.append(
            FileEntry(
                path=source.key,
                sha256=digest,
                bytes=len(data),
                rows=rows,
                facts=facts or None,
                partition=source.partition,
                data_version=data_version(source) if data_version is not None else None,
                fingerprint=source.fingerprint,
                etag=source.etag,
                version_id=source.version_id,
            )
        )
        read_paths.add(source.key)
    blobs.finish()
    kept = tuple(sorted((e for e in entries if keep(e)), key=lambda e: e.path))
    if not kept:
        return None
    left_out = tuple(e for e in entries if not keep(e))
    manifest = replace(template, files=tuple(_without_records(e) for e in kept), schema=schema)
    manifest = replace(manifest, objects=_object_records(kept) or template.objects,
                       upstream={**_upstream(template.source, kept), **template.upstream})  # fmt: skip
    snapshot_id = snapshots.commit(manifest, left_out, cached=kept)
    read_count = sum(e.path in read_paths for e in kept)
    return Taken(snapshot_id, manifest, read_count, len(kept) - read_count, len(left_out))


RECORDS = "object_records"  # a raw-object table file's objects, as parquet_facts lists them
RECORD_FIELDS = ("key", "size", "sha256", "etag", "version_id")


def _object_records(entries: Iterable[FileEntry]) -> tuple[dict[str, Any], ...]:
    """Every raw object the files name (key, size, SHA-256, ETag, VersionId), in key order:
    the manifest holds them, not only a count."""
    found = [r for e in entries for r in (e.facts or {}).get(RECORDS, ())]
    return tuple(sorted(found, key=lambda r: str(r.get("key"))))


def _without_records(entry: FileEntry) -> FileEntry:
    """The entry as the manifest lists it: its objects move to the manifest's `objects`."""
    if not entry.facts or RECORDS not in entry.facts:
        return entry
    rest = {k: v for k, v in entry.facts.items() if k != RECORDS}
    return entry._replace(facts=rest or None)


def _upstream(source: str, entries: Iterable[FileEntry]) -> dict[str, str]:
    """The data version of each partition of the source asset the snapshot was taken of."""
    return {
        f"{source}[{e.partition}]" if e.partition else source: e.data_version
        for e in entries
        if e.data_version and source
    }


def parquet_facts(data: bytes) -> dict[str, Any]:
    """Rows and schema of a Parquet file, from its footer; for a table of raw objects (a `key`
    and `etag` column), how many objects it names and how many by S3 VersionId."""
    import polars as pl  # here, not at the top: folder snapshots must start fast

    schema = pl.read_parquet_schema(io.BytesIO(data))
    rows = pl.scan_parquet(io.BytesIO(data)).select(pl.len()).collect().item()
    facts: dict[str, Any] = {"rows": int(rows), "schema": {c: str(t) for c, t in schema.items()}}
    if {"key", "etag", "version_id"} <= set(schema):
        wanted = [c for c in RECORD_FIELDS if c in schema]
        objects = pl.read_parquet(io.BytesIO(data), columns=wanted)
        facts[RECORDS] = objects.sort("key").to_dicts()
        objects = objects.select("key", "etag", "version_id")
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
    files: tuple[Listed, ...]
    data_version: Callable[[Listed], str | None] = field(default=lambda source: None)

    def read(self, source: Listed) -> bytes:
        from fsdl_data.core.storage.lake import table_folder  # here: folder snapshots start fast

        return self.store.get(table_folder(self.table) + source.key)


def table_files(lake: Any, table: str, partitions: set[str] | None = None) -> list[Listed]:
    """The files of `table` in `lake` (those of `partitions` only, when given), keyed by their
    path in the table's folder."""
    from fsdl_data.core.storage.lake import table_folder

    start = len(table_folder(table))
    return [  # a table file's entry records its fingerprint only, not the listed ETag
        stat._replace(key=stat.key[start:], etag=None)
        for stat in lake.files(table)
        if partitions is None or stat.partition in partitions
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
Warn = Callable[[str], None]


def _ignore(message: str) -> None:
    """The default for warnings nobody asked to hear."""


def local_files(root: Path, warn: Warn = _ignore) -> Iterator[Listed]:
    """Every regular file under `root`, keyed by its path there, with its fingerprint (size
    and mtime: the storage walker's, kept by a copy that keeps times), not read, in path
    order. Symbolic links are never followed (one could lead out of the folder); special files
    (FIFOs, sockets, devices) are never opened: reading one could block forever or never end.
    Both are skipped with a warning."""
    for path, size, time_ns in walk(str(root.resolve()), file_links=False, warn=warn):
        yield listed_file(path, size, time_ns)


def local_reader(root: Path) -> Callable[[Listed], bytes]:
    """Reads what `local_files(root)` lists; refused (never blocking) for a file that has
    become a link or a special file since it was listed."""
    folder = str(root.resolve())
    return lambda source: read_path(os.path.join(folder, source.key))


def read_path(path: str) -> bytes:
    """A local file's bytes, in one read; refused (never blocking) when it is a link or a
    special file."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ValueError(f"{path} became a symbolic link: not followed") from None
        raise
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} became {kind(info.st_mode)}: not read")
        data = os.read(descriptor, info.st_size + 1)  # one call for the whole file: no buffer
        if len(data) == info.st_size:  # asked one byte more: the end
            return data
        chunks = [data]  # a short read (over 2 GiB), or it changed since: read to its end
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def usable_key(path: str) -> bool:
    """A key that can be a path inside a snapshot: no empty, '.' or '..' segment."""
    return (
        bool(path)
        and not path.startswith("/")
        and all(part not in ("", ".", "..") for part in path.split("/"))
    )


def object_files(store: ObjectStore, prefix: str, warn: Warn = _ignore) -> Iterator[Listed]:
    """Every object under `prefix` with its ETag as fingerprint and, on a versioned bucket, its
    current VersionId, not read. A key that cannot be a path (with a '..', '.' or empty
    segment) is skipped with a warning."""
    from fsdl_data.core.storage.objects import Capability, supports

    listed = (
        store.list_latest(prefix)  # type: ignore[attr-defined]
        if supports(store, Capability.VERSIONED_LISTING)
        else store.list(prefix)
    )
    for info in listed:
        path = info.key[len(prefix) :]
        if not usable_key(path) or not usable_key(info.key):
            warn(f"skipped object {info.key!r}: a key with an empty, '.' or '..' part")
            continue
        yield info._replace(key=path)


def object_reader(store: ObjectStore, prefix: str) -> Callable[[Listed], bytes]:
    """Reads what `object_files(store, prefix)` lists."""
    return lambda source: store.get(prefix + source.key)


@dataclass(frozen=True)
class Status:
    added: list[str]
    removed: list[str]
    modified: list[str]

    @property
    def clean(self) -> bool:
        return not (self.added or self.removed or self.modified)


def status(
    before: dict[str, FileEntry], files: Iterable[Listed], read: Callable[[Listed], bytes]
) -> Status:
    """Added, removed and modified files against a snapshot's entries with the fingerprints
    they were listed with (SnapshotStore.cached_files). A file whose fingerprint matches is
    unchanged without being read; one whose fingerprint changed is read and hashed, so touching
    a file without changing it is not a modification."""
    now = {f.key: f for f in files}
    modified = []
    for path in sorted(set(now) & set(before)):
        if now[path].fingerprint == before[path].fingerprint:
            continue
        if now[path].size != before[path].bytes or sha256(read(now[path])) != before[path].sha256:
            modified.append(path)
    return Status(sorted(set(now) - set(before)), sorted(set(before) - set(now)), modified)


# --- checkout --------------------------------------------------------------------------------
def checkout(snapshots: SnapshotStore, manifest: Manifest, target: Path) -> int:
    """Restores a snapshot's files into `target` (new, or an empty folder), byte for byte and
    each checked against its hash. Atomic: the files are written into a temporary folder beside
    the target, renamed onto it at the end; refused or failed, nothing is left behind. Returns
    how many files were written."""
    import shutil
    import uuid

    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} is a file: check out into a new or empty folder")
    if target.is_dir() and any(target.iterdir()):
        raise FileExistsError(f"{target} is not empty: check out into a new or empty folder")
    paths = [f.path for f in manifest.files]
    bad = next((p for p in paths if not usable_key(p)), None)
    if bad is not None:
        raise ValueError(f"snapshot path {bad!r} would leave the folder or name it: refusing it")
    parent = target.absolute().parent
    created = [p for p in (parent, *parent.parents) if not p.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    scratch = parent / f".{target.name}.checkout-{uuid.uuid4().hex[:12]}"
    try:
        scratch.mkdir()
        for f in manifest.files:
            path = scratch / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(snapshots.get_blob(f.sha256))  # checked against its hash
        if target.is_dir():
            target.rmdir()  # empty (checked above): the rename takes its place
        os.rename(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        for folder in created:  # innermost first: only the folders this checkout made
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return len(manifest.files)


def snapshots_models_name(lake: Any) -> set[str]:
    """Every snapshot a trained model names (the popularity_model table's `snapshot_version`,
    promoted or not): its lineage record, which `snapshot gc` must never break."""
    from fsdl_data.core.storage.lake import TableNotFound

    try:
        models = lake.read("popularity_model")
    except TableNotFound:
        return set()
    if "snapshot_version" not in models.columns:
        return set()
    return {str(v) for v in models["snapshot_version"].drop_nulls().to_list()}


def retake(
    lake: Any,
    manifest: Manifest,
    data_version: Callable[[Listed], str | None],
    code: dict[str, str],
) -> Taken | None:
    """A table snapshot taken again from the lake's files of the partitions it recorded (not
    today's other partitions), with `code` (today's code versions), into a scratch store: the
    real one is left as it is. Its id equals the recorded one when inputs and code are."""
    import tempfile

    from fsdl_data.core.storage.backends.local import LocalObjectStore

    partitions = {f.partition for f in manifest.files if f.partition is not None}
    files = TableFiles(manifest.source, lake.store,
                       tuple(table_files(lake, manifest.source, partitions or None)), data_version)  # fmt: skip
    template = replace(manifest, files=(), schema={}, upstream={}, objects=(), code=code)
    with tempfile.TemporaryDirectory(prefix="fsdl-rebuild-") as scratch:
        return snapshot_table(SnapshotStore(LocalObjectStore(scratch)), template, files)


def first_difference(recorded: Manifest, again: Manifest) -> str:
    """What differs first between a snapshot and its rebuild, in words. A changed code version
    comes first: it is why the files differ, and what a user can act on."""
    before = {f.path: f for f in recorded.files}
    after = {f.path: f for f in again.files}
    if recorded.code != again.code:
        moved = sorted(k for k in set(recorded.code) | set(again.code)
                       if recorded.code.get(k) != again.code.get(k))  # fmt: skip
        paths = set(before) | set(after)
        changed = sum(1 for path in paths if getattr(before.get(path), "sha256", None)
                      != getattr(after.get(path), "sha256", None))  # fmt: skip
        versions = [f"{k}: {again.code.get(k, '-')} (recorded {recorded.code.get(k, '-')})"
                    for k in moved]  # fmt: skip
        return f"code {', '.join(versions)}; {changed} of {len(paths)} files have other bytes"
    for path in sorted(set(before) | set(after)):
        if path not in after:
            return f"{path} is gone from the lake"
        if path not in before:
            return f"{path} is new"
        if before[path].sha256 != after[path].sha256:
            return f"{path} now has other bytes (sha256 {after[path].sha256[:12]}, recorded {before[path].sha256[:12]})"
    for field_name in ("code", "schema", "key", "upstream", "objects", "extra"):
        was, now = getattr(recorded, field_name), getattr(again, field_name)
        if was == now:
            continue
        if isinstance(was, dict) and isinstance(now, dict):
            keys = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
            return f"{field_name} " + ", ".join(
                f"{k}: {now.get(k, '-')} (recorded {was.get(k, '-')})" for k in keys
            )
        return f"{field_name} differs: {now} (recorded {was})"
    return "nothing"
