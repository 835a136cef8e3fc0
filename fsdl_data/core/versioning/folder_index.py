"""Local folder snapshots, taken folder by folder, and the folder index behind them: the stat
cache of a local folder snapshot, its files as they were listed, folder by folder, in a compact
binary form, so that `snapshot status` of 200,000 files answers in about a second and a new
snapshot after 100 changes reads, hashes and writes only what changed.

    snapshots/cache/<name>.folders   written by each `snapshot add` of a local folder: per
                                     folder its files' names, sizes, times (ns) and SHA-256s,
                                     and the id of the folder's listing in the tree manifest;
                                     the fingerprints of the blobs that hold the files

What it detects, and how (every file is still looked at; nothing is trusted blindly):
- added, removed and renamed files: each folder is listed (the storage core's walker) and its
  names are compared with the recorded ones; a rename is a removal plus an addition;
- edits, touches: each file is stat'ed (one `lstat`) and its size and modification time (ns)
  compared with the recorded ones; a file whose size or time differs is read and hashed, so a
  touch without a change is not a modification, and an edit in place that keeps the size is
  found by its new time;
- not detected (as in git and DVC): an edit that keeps the size and puts the old modification
  time back by hand.
A folder's own modification time is not used to skip its files: it changes when entries are
added, removed or renamed, never when a file's content changes, so it cannot replace the stat.

The speed comes from comparing each folder's (names, sizes, times) as three lists in one
comparison each, against lists decoded from flat arrays, instead of building a record per file.
A new snapshot carries a folder over (its listing's id, without reading the listing or a file)
when those lists are the recorded ones and every blob that holds the snapshot's files lists as
it was recorded; when one does not (gc rewrote a pack, a blob was damaged or deleted), each
file is checked against the store's blobs, and one whose blob is gone or changed is read and
stored again (a re-run repairs it). The index names the snapshot it describes; when that is not
the newest snapshot of its name (another source, gc, an erasure), it is not used: status takes
the slow, general path, and a new snapshot reads every file.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fsdl_data.core.storage.backends.local import cpus, walk_folders
from fsdl_data.core.storage.objects import ObjectNotFound, ObjectStore
from fsdl_data.core.versioning.blobs import ROOT
from fsdl_data.core.versioning.digests import sha256
from fsdl_data.core.versioning.manifests import TREE, FileEntry, Manifest, TreeFiles, listing_body
from fsdl_data.core.versioning.snapshots import (
    PACK_MIN_FILES,
    Status,
    Taken,
    _BlobWriter,
    read_path,
)
from fsdl_data.core.versioning.store import SnapshotStore, cache_key

FORMAT = 2  # 1 had no listing ids nor blob fingerprints: not used (a snapshot reads all again)
MAGIC = b"FSDLFIDX"
LIST_PROCESSES = min(4, cpus())  # processes that list a folder at once (see walk_folders)
Warn = Callable[[str], None]


def index_key(name: str) -> str:
    return f"{ROOT}/cache/{name}.folders"


@dataclass(frozen=True)
class Recorded:
    """One folder's files as recorded: names (sorted), sizes, times (ns) and SHA-256s, and the
    id of its listing in the snapshot's tree manifest."""

    names: list[str]
    sizes: list[int]
    times: list[int]
    hashes: bytes  # 32 bytes a file, in the names' order
    listing: str = ""

    def digest(self, i: int) -> str:
        return self.hashes[32 * i : 32 * i + 32].hex()


@dataclass(frozen=True)
class Index:
    snapshot: str
    folders: dict[str, Recorded]
    blobs: dict[str, str]  # every blob that holds the snapshot's files -> its fingerprint


def encode(index: Index) -> bytes:
    """An index's bytes: a JSON header (folders, blobs), then every file's name, size, time and
    SHA-256 as flat arrays, folder after folder."""
    chosen = sorted(index.folders)
    folders = [index.folders[f] for f in chosen]
    text = "\0".join(n for r in folders for n in r.names).encode()
    sizes, times = array("q"), array("q")
    for r in folders:
        sizes.extend(r.sizes)
        times.extend(r.times)
    rows = [[f, len(r.names), r.listing] for f, r in zip(chosen, folders, strict=True)]
    header = json.dumps({"format": FORMAT, "snapshot": index.snapshot, "folders": rows,
                         "names_bytes": len(text), "blobs": index.blobs}).encode()  # fmt: skip
    parts = (MAGIC, len(header).to_bytes(8, "little"), header, text, sizes.tobytes(),
             times.tobytes(), b"".join(r.hashes for r in folders))  # fmt: skip
    return b"".join(parts)


def decode(body: bytes) -> Index | None:
    """An index; None for one this code cannot read (then the general path is taken)."""
    if not body.startswith(MAGIC):
        return None
    start = len(MAGIC) + 8
    end = start + int.from_bytes(body[len(MAGIC) : start], "little")
    try:
        header = json.loads(body[start:end])
    except ValueError:
        return None
    if header.get("format") != FORMAT:
        return None
    count = sum(row[1] for row in header["folders"])
    text_end = end + header["names_bytes"]
    names = body[end:text_end].decode().split("\0") if count else []
    sizes = memoryview(body[text_end : text_end + 8 * count]).cast("q").tolist()
    times = memoryview(body[text_end + 8 * count : text_end + 16 * count]).cast("q").tolist()
    hashes = body[text_end + 16 * count : text_end + 48 * count]
    folders, at = {}, 0
    for folder, n, listing in header["folders"]:
        folders[folder] = Recorded(names[at : at + n], sizes[at : at + n], times[at : at + n],
                                   hashes[32 * at : 32 * (at + n)], listing)  # fmt: skip
        at += n
    return Index(header["snapshot"], folders, header.get("blobs", {}))


def drop(store: ObjectStore, name: str) -> None:
    """Deletes `name`'s index (an erasure rewrote what it describes)."""
    if store.head(index_key(name)) is not None:
        store.delete(index_key(name))


def read_index(store: ObjectStore, name: str, newest: str | None) -> Index | None:
    """`name`'s index when it describes `newest` (the name's newest snapshot)."""
    try:
        found = decode(store.get(index_key(name)))
    except ObjectNotFound:
        return None
    if found is None or newest is None or found.snapshot != newest:
        return None
    return found


def read(store: ObjectStore, name: str, newest: str | None) -> dict[str, Recorded] | None:
    """The folders of `name`'s index when it describes `newest` (the name's newest snapshot)."""
    found = read_index(store, name, newest)
    return None if found is None else found.folders


def entries(index: Index) -> dict[str, FileEntry]:
    """The recorded files as a stat cache holds them: path -> entry, with its fingerprint."""
    found = {}
    for folder, r in index.folders.items():
        prefix = f"{folder}/" if folder else ""
        for i, name in enumerate(r.names):
            found[prefix + name] = FileEntry(prefix + name, r.digest(i), r.sizes[i],
                                             fingerprint=f"{r.sizes[i]}:{r.times[i]}")  # fmt: skip
    return found


Listing = tuple[str, str, list[str], list[int], list[int]]


def _folders(root: str, warn: Warn) -> Iterator[Listing]:
    """(key, path, names sorted, sizes, times) of every folder's regular files under `root`, by
    the storage core's walker (links and special files skipped with a warning)."""
    walked = walk_folders(root, file_links=False, warn=warn, processes=LIST_PROCESSES)
    for key, path, files in walked:  # each folder's files sorted by name
        yield key, path, [f[0] for f in files], [f[1] for f in files], [f[2] for f in files]


def changes(root: str, recorded: dict[str, Recorded], warn: Warn) -> Status:
    """Added, removed and modified files under `root` against the recorded folders."""
    added: list[str] = []
    removed: list[str] = []
    modified: list[str] = []
    seen: set[str] = set()
    for key, path, names, sizes, times in _folders(os.path.abspath(root), warn):
        seen.add(key)
        was = recorded.get(key)
        if was is not None and (names, sizes, times) == (was.names, was.sizes, was.times):
            continue  # the common case: three list comparisons for the whole folder
        prefix = f"{key}/" if key else ""
        before = {} if was is None else {n: i for i, n in enumerate(was.names)}
        for name, size, time_ns in zip(names, sizes, times, strict=True):
            i = before.pop(name, None)
            if i is None:
                added.append(prefix + name)
            elif was is not None and _modified(os.path.join(path, name), size, time_ns, was, i):
                modified.append(prefix + name)
        removed.extend(prefix + name for name in before)
    for key in set(recorded) - seen:  # folders that are gone
        removed.extend(f"{key}/{n}" if key else n for n in recorded[key].names)
    return Status(sorted(added), sorted(removed), sorted(modified))


def _modified(path: str, size: int, time_ns: int, was: Recorded, i: int) -> bool:
    """Whether a file differs from the recorded file `i`: a changed size, or (only when its size
    or time moved) other bytes."""
    if (size, time_ns) == (was.sizes[i], was.times[i]):
        return False
    return size != was.sizes[i] or _hash(path) != was.hashes[32 * i : 32 * i + 32]


def _hash(path: str) -> bytes:
    """The SHA-256 of a listed file, read as a snapshot reads it (never following a link)."""
    return hashlib.sha256(read_path(path)).digest()


# --- taking a snapshot, folder by folder -----------------------------------------------------
READ_THREADS = min(4, cpus())  # threads that read and hash files (a read and a hash of 2 KiB
READ_BATCH = 64  # or more release the GIL); each takes this many files at a time, so that the
# cost of handing work to a thread is paid once per batch, not once per 12 KB photo


def _read(paths: Iterable[str]) -> Iterator[tuple[bytes, str]]:
    """(bytes, SHA-256) of each file, in order, read ahead in batches by READ_THREADS threads,
    at most two batches a thread in flight (memory stays bounded)."""

    def batch(chunk: list[str]) -> list[tuple[bytes, str]]:
        return [(data, sha256(data)) for data in map(read_path, chunk)]

    chunks = _batches(paths, READ_BATCH)
    if READ_THREADS <= 1:
        for chunk in chunks:
            yield from batch(chunk)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor  # here: `status` never needs threads

    with ThreadPoolExecutor(READ_THREADS) as pool:
        in_flight: deque[Any] = deque()
        for chunk in chunks:
            in_flight.append(pool.submit(batch, chunk))
            if len(in_flight) >= 2 * READ_THREADS:
                yield from in_flight.popleft().result()
        while in_flight:
            yield from in_flight.popleft().result()


def _batches(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _intact(snapshots: SnapshotStore, index: Index | None) -> Callable[[str, int], bool] | None:
    """None when every blob the index recorded lists as it was (the common case: one listing
    of the store's blobs, no pack index read); else whether one file (hash, size) is still
    stored whole, as the general snapshot path checks it."""
    if index is None:
        return None
    listing = snapshots.blob_listing()
    if all(
        (found := listing.get(b)) is not None and found.fingerprint == fingerprint
        for b, fingerprint in index.blobs.items()
    ):
        return None
    sizes = snapshots.blob_sizes(listing)
    listed = snapshots.blob_fingerprints(listing)

    def intact(digest: str, size: int) -> bool:
        holder = snapshots.holder(digest)
        recorded = index.blobs.get(holder)
        return sizes.get(digest) == size and (recorded is None or listed.get(holder) == recorded)

    return intact


def take_folder(
    snapshots: SnapshotStore, template: Manifest, root: Path, warn: Warn = lambda m: None,
    progress: Callable[[list[str]], Iterable[str]] = lambda paths: paths,
) -> Taken:  # fmt: skip
    """Snapshots the local folder `root` under `template`'s name as a tree manifest (a listing
    per folder), carrying over each folder the name's newest snapshot recorded unchanged, and
    writes its folder index. Raises FileNotFoundError for a folder that holds no file."""
    with snapshots.writing():  # no gc deletes what this snapshot reuses or writes meanwhile
        return _take_folder(snapshots, template, root, warn, progress)


def _take_folder(
    snapshots: SnapshotStore, template: Manifest, root: Path, warn: Warn,
    progress: Callable[[list[str]], Iterable[str]],
) -> Taken:  # fmt: skip
    store, name = snapshots.store, template.name
    index = read_index(store, name, snapshots.manifests.newest_id(name))
    intact = _intact(snapshots, index)
    recorded = index.folders if index is not None else {}
    folders: dict[str, Recorded] = {}  # the new index
    changed: list[tuple[str, list[str], list[int], list[int], list[str | None]]] = []
    to_read: list[str] = []
    slots: list[tuple[list[str | None], int]] = []  # where each file read goes
    carried: list[str] = []  # files carried over one by one (checked against the store's blobs)
    reused = 0
    for key, path, names, sizes, times in _folders(str(root.resolve()), warn):
        if not names:
            continue
        was = recorded.get(key)
        if intact is None and was is not None and (names, sizes, times) == (
            was.names, was.sizes, was.times,
        ):  # fmt: skip
            folders[key] = was
            reused += len(names)
            continue
        before = {} if was is None else {n: i for i, n in enumerate(was.names)}
        hashes: list[str | None] = []
        for file, size, time_ns in zip(names, sizes, times, strict=True):
            i = before.get(file)
            if i is not None and (was.sizes[i], was.times[i]) == (size, time_ns):  # type: ignore[union-attr]
                digest = was.digest(i)  # type: ignore[union-attr]
                if intact is None or intact(digest, size):
                    hashes.append(digest)
                    carried.append(digest)
                    continue
            slots.append((hashes, len(hashes)))
            hashes.append(None)
            to_read.append(f"{path}/{file}")
        changed.append((key, names, sizes, times, hashes))
    if not folders and not changed:
        raise FileNotFoundError(f"{root} holds no files to snapshot")
    fast = intact is None and index is not None
    # stored, and checked: the recorded files of the folders that changed (a touched file's
    # bytes are not stored twice; a file that equals one elsewhere may be, in a new pack)
    was = [recorded[key] for key, *_ in changed if key in recorded]
    known = {r.digest(i) for r in was for i in range(len(r.names))} if fast else None
    blobs = _BlobWriter(snapshots, pack=len(to_read) >= PACK_MIN_FILES, known=known)
    for (data, digest), (hashes, at) in zip(_read(progress(to_read)), slots, strict=True):
        blobs.put(data, digest)
        hashes[at] = digest
    blobs.finish()
    bodies: dict[str, bytes] = {}
    for key, names, sizes, times, hashes in changed:
        digests: list[str] = hashes  # type: ignore[assignment]  # every one read now
        body = listing_body(key, names, {"sha256": digests, "bytes": sizes})
        listing = sha256(body)
        bodies[listing] = body
        folders[key] = Recorded(names, sizes, times, b"".join(bytes.fromhex(d) for d in digests),
                                listing)  # fmt: skip
    rows = [(k, r.listing, len(r.names), sum(r.sizes)) for k, r in sorted(folders.items())]
    files = TreeFiles(rows, snapshots.manifests.listing, bodies, rows=0)
    manifest = replace(template, files=files, schema_version=TREE)  # type: ignore[arg-type]
    held = set(blobs.holders.values())  # every blob that holds the snapshot's files
    if fast:
        held |= set(index.blobs)  # type: ignore[union-attr]
    else:
        held |= {snapshots.holder(d) for d in carried}  # (every file read is in `holders`)
    listing = snapshots.blob_fingerprints()
    holders = {b: listing[b] for b in sorted(held) if b in listing}
    # after every blob and listing it names; the fast path's reused listings are named by the
    # newest manifest, which the index proves stored, and the writing lease keeps them
    stored = {r.listing for r in recorded.values()} if fast else frozenset()
    snapshot_id = snapshots.manifests.put(manifest, stored)
    store.put(index_key(name), encode(Index(snapshot_id, folders, holders)))
    store.delete(cache_key(name))  # a JSON stat cache of an older fsdl-data: no longer true
    return Taken(snapshot_id, manifest, len(to_read), reused + len(carried))
