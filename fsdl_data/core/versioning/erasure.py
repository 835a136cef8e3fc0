"""Erasing data from history: rewriting only the snapshot files that hold it.

A snapshot is immutable and named by its hash, so erasing rows from it makes a new snapshot.
For every manifest with a file that holds the subject (the caller's `scrub` says which, and
what the file becomes):

1. the file's new bytes are stored as a new blob (a file that is the subject's whole leaves the
   manifest);
2. a new manifest is written: the same snapshot less those rows, with an `erasures` record in
   its `extra` (when, why, a digest of the subject, how many rows), so its id is the hash of
   what it now holds and `snapshot verify` passes;
3. a tombstone `snapshots/tombstones/<name>/<old id>.json` records the old id, the id that
   replaces it, and what was erased, when and why (counts, never the data); every read of the
   old id follows it (`Manifests.read`), so a model's lineage record still resolves;
4. the name's ref moves to the new manifest, its stat cache (which lists the erased files) is
   deleted, so its next snapshot reads the files again; the old manifest is deleted;
5. once no manifest names them, the old blobs go: a loose one is deleted; a pack that holds one
   loses it by its holes file (`packs/<pack>.holes`, the range recorded there; the index is
   left as it is) and, on a local store, that range is zeroed in place, so only the erased
   bytes and that small file are written; on an object store without in-place writes the pack
   is rewritten with its other files only (their bytes unchanged), the new pack before the old
   one goes.

Every step is one atomic put or delete, in this order, so a crash at any point leaves a store
that verifies, and a rerun (with the same record) makes the same new manifests and finishes.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from fsdl_data.core.storage.objects import Capability, ObjectNotFound, supports
from fsdl_data.core.versioning.blobs import blob_key
from fsdl_data.core.versioning.digests import canonical_json
from fsdl_data.core.versioning.manifests import (
    FileEntry,
    Manifest,
    listing_key,
    manifest_key,
    ref_key,
    tombstone_key,
)
from fsdl_data.core.versioning.packs import (
    PACK_FORMAT,
    PACKS,
    Packs,
    holes_key,
    pack_key,
    read_index,
)
from fsdl_data.core.versioning.store import SnapshotStore, cache_key, listings_of

# scrub(path, sha256, read) -> (new bytes, or None when the file goes whole; erased rows), or
# None when the file does not hold the subject; `read()` gives its bytes (a photo is known by
# its hash alone, so it is never read)
Scrub = Callable[[str, str, Callable[[], bytes]], "tuple[bytes | None, int] | None"]
KeepObject = Callable[[dict[str, Any]], bool]


@dataclass
class SnapshotErasure:
    """What an erasure did to the snapshot store."""

    rewritten: list[dict[str, Any]] = field(default_factory=list)  # old id -> new id, counts
    blobs_written: int = 0
    bytes_written: int = 0  # data: new blobs, zeroed or rewritten pack bytes
    metadata_bytes: int = 0  # new manifests, tombstones, pack indexes
    blobs_removed: int = 0
    packs_rewritten: int = 0
    files_scanned: int = 0
    versions_deleted: int = 0  # old versions purged (versioned S3 buckets)
    purge: bool = False  # whether deleted keys' old versions are purged too
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [files, data bytes]

    def wrote(self, kind: str, written: int, files: int = 1) -> None:
        """Counts data bytes written, by kind (new blobs, pack ranges zeroed, packs rewritten)."""
        self.bytes_written += written
        counted = self.by_kind.setdefault(kind, [0, 0])
        counted[0] += files
        counted[1] += written

    def as_dict(self) -> dict[str, Any]:
        return {"rewritten": self.rewritten, "blobs_written": self.blobs_written,
                "bytes_written": self.bytes_written, "metadata_bytes": self.metadata_bytes,
                "blobs_removed": self.blobs_removed,
                "packs_rewritten": self.packs_rewritten,
                "files_scanned": self.files_scanned,
                "versions_deleted": self.versions_deleted,
                "bytes_by_folder": {k: {"files": files, "bytes": written} for k, (files, written)
                                    in sorted(self.by_kind.items())}}  # fmt: skip


def erasure_facts(snapshot_id: str, manifest: Manifest) -> dict[str, str]:
    """What lineage says of a snapshot that erasures rewrote: how often, when, why, how many
    rows, and the id that now holds it when the one recorded was replaced."""
    erasures = manifest.extra.get("erasures", ())
    if not erasures:
        return {}
    facts = {"erased": " ; ".join(
        f"erasure {e['erasure']} at {e['at'][:19]}: {e['rows']} rows ({e['reason']})"
        for e in erasures)}  # fmt: skip
    if manifest.id != snapshot_id:
        facts["now"] = manifest.id[:12]
    return facts


def erase_from_snapshots(
    snapshots: SnapshotStore, scrub: Scrub, keep_object: KeepObject, record: dict[str, Any],
) -> SnapshotErasure:  # fmt: skip
    """Rewrites every snapshot that holds the subject (see the module's docstring); `record`
    (at, reason, subject digest) goes into each new manifest and tombstone. Holds a writer's
    lease, so no gc runs meanwhile."""
    done = SnapshotErasure()
    store = snapshots.store
    purging = supports(store, Capability.VERSION_PURGE) and store.versioned()  # type: ignore[attr-defined]
    done.purge = purging
    with snapshots.writing():
        history = snapshots.history()  # oldest first: rewritten in the order they were made
        written = {ref.id: ref.written for ref in history}
        manifests = [(ref.name, ref.id, snapshots.read(ref.id, ref.name)) for ref in history]
        outcome = _scrub_blobs(snapshots, manifests, scrub, done)
        replaced: set[str] = set()
        old_listings: set[str] = set()
        for name, old_id, manifest in manifests:
            changed = [f for f in manifest.files if outcome.get(f.sha256) is not None]
            objects = tuple(o for o in manifest.objects if keep_object(o))
            if not changed and len(objects) == len(manifest.objects):
                continue
            new = _erased_manifest(manifest, outcome, objects, record)
            when = written.get(old_id)
            stamped = {**record, "written": when.isoformat() if when is not None else None}
            _replace_manifest(snapshots, name, old_id, manifest, new, changed, stamped, done)
            replaced |= {f.sha256 for f in changed}
            old_listings |= listings_of(manifest)
        _drop_old_blobs(snapshots, replaced, done)
        _drop_old_listings(snapshots, old_listings, done)
    return done


def _drop_old_listings(snapshots: SnapshotStore, old: set[str], done: SnapshotErasure) -> None:
    """Deletes the listings of rewritten tree manifests that no manifest names any more (they
    name the erased files)."""
    if not old:
        return
    still = set().union(*(listings_of(snapshots.read(i, n)) for n, i in snapshots.ids()))
    for listing in sorted(old - still):
        _gone(snapshots, listing_key(listing), done)


def _scrub_blobs(
    snapshots: SnapshotStore, manifests: list[tuple[str, str, Manifest]], scrub: Scrub,
    done: SnapshotErasure,
) -> dict[str, tuple[FileEntry | None, int] | None]:  # fmt: skip
    """Each distinct file of every snapshot, scrubbed once (in pack order, so a pack is read
    once): its hash -> None (untouched) or (the entry it becomes, None when it goes; rows
    erased). The new bytes are stored."""
    from fsdl_data.core.versioning.snapshots import parquet_facts

    first: dict[str, FileEntry] = {}
    for _, _, manifest in manifests:
        for entry in manifest.files:
            first.setdefault(entry.sha256, entry)
    outcome: dict[str, tuple[FileEntry | None, int] | None] = {}
    for digest in sorted(first, key=lambda d: (snapshots.holder(d), d)):
        entry = first[digest]
        done.files_scanned += 1
        found = scrub(entry.path, digest, lambda d=digest: snapshots.get_blob(d))
        if found is None:
            outcome[digest] = None
            continue
        data, erased = found
        if data is None:
            outcome[digest] = (None, erased)
            continue
        new_digest = snapshots.put_blob(data)
        done.blobs_written += 1
        done.wrote("blobs (new files)", len(data))
        facts = parquet_facts(data) if entry.path.endswith(".parquet") else {}
        facts.pop("schema", None)
        facts.pop("object_records", None)
        rows = facts.pop("rows", entry.rows)
        kept_facts = {**(entry.facts or {}), **facts} if entry.facts or facts else None
        outcome[digest] = (entry._replace(sha256=new_digest, bytes=len(data), rows=rows,
                                          facts=kept_facts), erased)  # fmt: skip
    return outcome


def _erased_manifest(
    manifest: Manifest, outcome: dict[str, tuple[FileEntry | None, int] | None],
    objects: tuple[dict[str, Any], ...], record: dict[str, Any],
) -> Manifest:  # fmt: skip
    files, erased = [], len(manifest.objects) - len(objects)
    for entry in manifest.files:
        found = outcome.get(entry.sha256)
        if found is None:
            files.append(entry)
            continue
        new, rows = found
        erased += rows
        if new is not None:  # the same place in the snapshot, with the file's new content
            files.append(new._replace(path=entry.path, partition=entry.partition,
                                      data_version=entry.data_version))  # fmt: skip
    entry_record = {**record, "rows": erased, "files": sum(
        outcome.get(f.sha256) is not None for f in manifest.files)}  # fmt: skip
    history = [*manifest.extra.get("erasures", ()), entry_record]
    return replace(manifest, files=tuple(files), objects=objects,
                   extra={**manifest.extra, "erasures": history})  # fmt: skip


def _replace_manifest(
    snapshots: SnapshotStore, name: str, old_id: str, old: Manifest, new: Manifest,
    changed: list[FileEntry], record: dict[str, Any], done: SnapshotErasure,
) -> None:  # fmt: skip
    store = snapshots.store
    new_id, written = snapshots.manifests.write(new)  # a tree's changed listings, then its top
    erased = new.extra["erasures"][-1]
    record = {k: v for k, v in record.items() if v is not None}
    tombstone = canonical_json({"name": name, "erased": old_id, "replaced_by": new_id,
                                **record, "rows": erased["rows"],
                                "files": sorted(f.path for f in changed)})  # fmt: skip
    store.put(tombstone_key(name, old_id), tombstone)
    try:
        if json.loads(store.get(ref_key(name))).get("id") == old_id:
            ref = canonical_json({"id": new_id})
            store.put(ref_key(name), ref)
            done.metadata_bytes += len(ref)
    except ObjectNotFound:
        pass
    _drop_cache(snapshots, name, old_id, done)
    _gone(snapshots, manifest_key(name, old_id), done)
    done.metadata_bytes += written + len(tombstone)
    done.rewritten.append({"name": name, "erased": old_id, "replaced_by": new_id,
                           "files": len(changed), "rows": erased["rows"]})  # fmt: skip


def _drop_cache(snapshots: SnapshotStore, name: str, old_id: str, done: SnapshotErasure) -> None:
    """The stat cache and folder index of a rewritten newest snapshot go: they list the erased
    files (paths, hashes, a raw-object table's records), and writing them again without those
    would cost as much as the whole listing. The next snapshot of the name reads its files
    again (so it never carries the old content over) and writes them anew."""
    from fsdl_data.core.versioning import folder_index

    folder_index.drop(snapshots.store, name)
    cache = snapshots._cache_body(name)  # read once for all of the name's rewritten manifests
    if cache.get("id") == old_id:
        _gone(snapshots, cache_key(name), done)
        snapshots._caches[name] = {}


def _drop_old_blobs(snapshots: SnapshotStore, replaced: set[str], done: SnapshotErasure) -> None:
    """Deletes the erased files' old blobs that no manifest names any more (loose, or out of
    their packs: a pack is rewritten with its other files, byte for byte)."""
    still = {f.sha256 for name, i in snapshots.ids() for f in snapshots.read(i, name).files}
    gone = replaced - still
    if supports(snapshots.store, Capability.LOCAL_PATHS):
        _punch_holes(snapshots, gone, done)
    elif gone:
        rewritten = []
        for pack, digests in snapshots.packs.members().items():
            if digests & gone:
                rewritten.append(pack)
                done.packs_rewritten += 1
                done.wrote(
                    "packs (rewritten)", sum(snapshots.packs.where()[d][2] for d in digests - gone)
                )
        snapshots._drop_from_packs(gone)
        for pack in rewritten:  # deleted by the rewrite; their old versions go too
            for key in (pack_key(pack), blob_key(pack)):
                _gone(snapshots, key, done, delete=False)
    for digest in sorted(gone):
        _gone(snapshots, blob_key(digest), done)
        done.blobs_removed += 1


def _gone(snapshots: SnapshotStore, key: str, done: SnapshotErasure, delete: bool = True) -> None:
    """Deletes a key that held erased data, and on a versioned bucket every version of it."""
    if delete:
        snapshots.store.delete(key)
    if done.purge:
        done.versions_deleted += snapshots.store.purge_versions(key, keep_current=False)  # type: ignore[attr-defined]


def _punch_holes(snapshots: SnapshotStore, gone: set[str], done: SnapshotErasure) -> None:
    """On a local store, a pack loses an erased file without being rewritten: the file's range
    is added to the pack's holes file (`packs.py`; the index, one entry a file, is left as it
    is), then that range (and any hole an interrupted erasure left unfilled) is overwritten
    with zeros in place. Only the holes file and the erased bytes are written; every other
    file of the pack keeps its bytes and offset (a pack is named by its offsets, not its
    bytes)."""
    store = snapshots.store
    where = snapshots.packs.where()
    for pack, digests in sorted(snapshots.packs.members().items()):
        holes = set(snapshots.packs.holes(pack))
        erased = digests & gone
        if erased:
            holes |= {where[d][1:] for d in erased}
            body = canonical_json({"format": PACK_FORMAT, "pack": pack, "holes": sorted(holes)})
            store.put(holes_key(pack), body)  # first: no reader looks at the range any more
            done.packs_rewritten += 1
            done.metadata_bytes += len(body)
        if holes:
            zeroed = _zero(store.local_path(blob_key(pack)), sorted(holes))
            if zeroed:
                done.wrote("packs (zeroed in place)", zeroed)
    snapshots.packs = Packs(snapshots.blobs)


def _zero(path: str, holes: list[tuple[int, int]]) -> int:
    """Overwrites the ranges that are not zero yet with zeros; returns the bytes written."""
    written = 0
    with open(path, "r+b") as pack:
        for offset, size in holes:
            pack.seek(offset)
            if pack.read(size).count(0) == size:
                continue
            pack.seek(offset)
            pack.write(bytes(size))
            written += size
        pack.flush()
        os.fsync(pack.fileno())
    return written


def unfilled_holes(snapshots: SnapshotStore) -> int:
    """Bytes in the packs' holes that are not zero (an erasure interrupted while punching)."""
    found = 0
    for listed in snapshots.store.list(PACKS):
        if not listed.key.endswith(".json"):
            continue
        pack = read_index(snapshots.store.get(listed.key), listed.key)["pack"]
        holes = snapshots.packs.holes(pack)
        if not holes:
            continue
        with contextlib.suppress(ObjectNotFound):
            data = snapshots.blobs.read(pack)
            found += sum(size - data[o : o + size].count(0) for o, size in holes)
    return found
