"""The snapshot store: three pieces in the lake, and what is built on them.

    blobs.py      snapshots/blobs/<sha256>         loose blobs: a file's bytes by their hash
    packs.py      snapshots/packs/<pack>.json      many small files as one blob, with a format
    manifests.py  snapshots/manifests/, refs/      what a snapshot holds; the newest of a name
    here:         snapshots/cache/<name>.json      the newest snapshot's files as they were
                                                   listed (ETag, or size/mtime): the stat cache
                  snapshots/leases/<kind>-<id>.json  running writers and collectors (gc)
    and verify, gc, and `open_snapshot`, the one way to open a snapshot by id, name or `latest`.

A blob already present is never rewritten (a present blob whose bytes no longer match its name
is repaired: see `put_blob`). A manifest is written last, so it never names a blob that is not
there. gc and writers exclude each other through leases: a writer announces itself, then waits
while a gc runs; a gc announces itself, then waits while any writer runs (one of the two always
sees the other), so a gc never deletes a blob a running writer relies on.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fsdl_data.core.storage.objects import (
    TMP_PREFIX,
    Listed,
    ObjectNotFound,
    ObjectStore,
    local_root,
)
from fsdl_data.core.versioning.blobs import ROOT, Blobs, CorruptSnapshot, blob_key
from fsdl_data.core.versioning.digests import canonical_json, sha256
from fsdl_data.core.versioning.manifests import (
    MANIFEST_SCHEMA_VERSION,
    FileEntry,
    Manifest,
    Manifests,
    SnapshotNotFound,
    SnapshotRef,
    check_name,
    manifest_key,
    ref_key,
)
from fsdl_data.core.versioning.packs import (
    PACK_FILE_LIMIT,
    PACK_FORMAT,
    PACK_MIN_FILES,
    PACK_TARGET,
    Packs,
    pack_key,
)

__all__ = [
    "GRAPH_SNAPSHOTS", "MANIFEST_SCHEMA_VERSION", "PACK_FILE_LIMIT", "PACK_FORMAT",
    "PACK_MIN_FILES", "PACK_TARGET", "ROOT", "CorruptSnapshot", "FileEntry", "Manifest",
    "Problem", "SnapshotNotFound", "SnapshotRef", "SnapshotStore", "StoreBusy", "blob_key",
    "cache_key", "check_name", "check_user_name", "manifest_key", "pack_key", "ref_key",
]  # fmt: skip

# The snapshots the asset graph writes: name -> (the lake table it snapshots, the asset that
# does it). The one place that says so: `add --name` refuses these names; rebuild finds the
# asset here.
GRAPH_SNAPSHOTS: dict[str, tuple[str, str]] = {
    "training_set": ("training_set", "training_snapshot"),
    "labeled_set": ("labeled_set", "labeled_set_snapshot"),
    "raw_photos": ("raw_photos", "raw_photos_snapshot"),
}
LATEST = "latest"  # `open_snapshot("latest")`: the newest training_set snapshot
LEASES = f"{ROOT}/leases/"
LEASE_WAIT_S = 600.0  # how long a writer waits for a running gc, and a gc for writers
LEASE_TMP_GRACE = timedelta(hours=1)  # a lease's temporary file is a dead writer's after this
LEASE_FOREIGN_TTL = timedelta(hours=24)  # another machine's lease is live for this long


def cache_key(name: str) -> str:
    return f"{ROOT}/cache/{name}.json"


def check_user_name(name: str) -> str:
    """A name a user may give a snapshot: valid, and not one the graph writes."""
    check_name(name)
    if name in GRAPH_SNAPSHOTS:
        raise ValueError(
            f"snapshot name {name!r} is reserved: the graph's {GRAPH_SNAPSHOTS[name][1]} writes "
            "it; choose another name"
        )
    return name


class StoreBusy(RuntimeError):
    """A gc that waited too long for running writers (or a writer for a running gc)."""


@dataclass(frozen=True)
class Problem:
    snapshot: str
    path: str
    blob: str
    what: str  # "missing" or "corrupt"


@dataclass(frozen=True)
class Lease:
    key: str
    kind: str  # "writer" or "gc"
    host: str
    pid: int
    started: datetime

    def live(self, now: datetime) -> bool:
        """On this machine: its process is running; elsewhere: younger than a day."""
        if self.host != socket.gethostname():
            return now - self.started < LEASE_FOREIGN_TTL
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class SnapshotStore:
    """Snapshots over an object store (a local folder or an S3 prefix: the lake's)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.blobs = Blobs(store)
        self.packs = Packs(self.blobs)
        self.manifests = Manifests(store)
        self._stored: set[str] = set()  # blobs this object wrote or checked: no second look
        self._caches: dict[str, dict[str, Any]] = {}  # stat caches read, by name

    # --- blobs, loose or packed ----------------------------------------------------------
    def packed(self) -> dict[str, tuple[str, int, int]]:
        """Every packed file: its hash -> (pack, offset, size), from the pack indexes."""
        return self.packs.where()

    def has_blob(self, digest: str) -> bool:
        return (
            digest in self._stored or digest in self.packed() or self.blobs.size(digest) is not None
        )

    def put_blob(self, data: bytes, digest: str | None = None) -> str:
        """Stores `data` under its hash unless a blob with the right bytes is there already.
        A blob whose stored bytes do not match its name (tampered, truncated) is replaced."""
        digest = digest or sha256(data)
        if (digest in self.packed() or self.blobs.size(digest) == len(data)) and self._intact(
            digest
        ):
            self._stored.add(digest)
            return digest
        self.blobs.write(digest, data)
        self._stored.add(digest)
        return digest

    def put_pack(
        self, files: dict[str, bytes], known: set[str] | None = None,
        loose: set[str] | None = None,
    ) -> str | None:  # fmt: skip
        """Stores small files (by hash) as one pack blob, then its index; files already stored
        are left out: those in `known` (stored and checked by the caller) when given, without
        reading the store's pack indexes, else every stored one (loose ones looked up in
        `loose`, the loose blobs one listing found while the caller held its writer's lease,
        when given: a look-up per file costs more than reading and hashing it). Returns the
        pack's hash (None when nothing was new)."""
        new = {}
        for digest, data in files.items():
            if known is not None:
                if digest not in known and digest not in self._stored:
                    new[digest] = data
            elif digest in self.packed() and not self._intact(digest):
                self.blobs.write(digest, data)  # a damaged packed file: repaired loose
            elif not self._present(digest, loose):
                new[digest] = data
        if not new:
            return None
        pack = self.packs.write(new)
        self._stored |= set(new)
        return pack

    def _present(self, digest: str, loose: set[str] | None) -> bool:
        """Whether a file is stored: written or checked here, packed, or a loose blob (in
        `loose` when given, else looked up)."""
        if loose is None:
            return self.has_blob(digest)
        return digest in self._stored or digest in self.packed() or digest in loose

    def blob_listing(self) -> dict[str, Listed]:
        return self.blobs.listing()

    def blob_sizes(self, listing: dict[str, Listed] | None = None) -> dict[str, int]:
        """Every stored file's size by its hash, loose or packed (packs themselves left out),
        from one listing (`listing`, or a new one); a packed file counts only while its pack
        is there, whole."""
        listing = self.blob_listing() if listing is None else listing
        loose = {name: stat.size for name, stat in listing.items()}
        packed = self.packed()
        sizes = {d: size for d, size in loose.items() if d not in self.packs.sizes}
        for digest, (pack, _, size) in packed.items():
            if loose.get(pack) == self.packs.sizes[pack]:
                sizes.setdefault(digest, size)
        return sizes

    def _intact(self, digest: str) -> bool:
        try:
            self.get_blob(digest)
            return True
        except CorruptSnapshot:
            return False

    def get_blob(self, digest: str) -> bytes:
        """A file's bytes by its hash, packed or loose, checked against it."""
        found, damaged = self.packs.slice(digest), False
        if found is not None:  # packed: a loose copy (a repair) serves when the pack is bad
            data = found[1]
            if data is not None:
                if sha256(data) == digest:
                    return data
                damaged = True
        try:
            data = self.blobs.read(digest)
        except ObjectNotFound:
            if damaged:
                data = b""
            else:
                where = "" if found is None else f" (nor its pack {found[0][:12]})"
                raise CorruptSnapshot(
                    f"blob {digest}{where} is missing from {self.store.url}", "missing"
                ) from None
        if sha256(data) != digest:
            raise CorruptSnapshot(
                f"blob {digest} does not match its hash: storage corrupted (run `fsdl-data "
                "snapshot verify`, then re-run the snapshot to repair it)"
            )
        return data

    def holder(self, digest: str) -> str:
        """The blob that holds a file: its pack, or its own loose blob."""
        found = self.packed().get(digest)
        return found[0] if found else digest

    def blob_fingerprints(self, listing: dict[str, Listed] | None = None) -> dict[str, str]:
        """Every stored blob (loose files and packs) by name, with its listing fingerprint (ETag,
        or size/mtime): a blob rewritten behind our back lists differently."""
        listing = self.blob_listing() if listing is None else listing
        return {name: stat.fingerprint for name, stat in listing.items()}

    # --- manifests, refs and the stat cache ----------------------------------------------
    def commit(
        self,
        manifest: Manifest,
        also_seen: tuple[FileEntry, ...] = (),
        cached: tuple[FileEntry, ...] | None = None,
    ) -> str:
        """Writes the manifest (after its blobs, which must all be present) and returns its id.
        `also_seen`: files listed but left out (e.g. empty ones), cached so they are not read
        again while unchanged; `cached`: the manifest's files as the stat cache keeps them (with
        facts the manifest holds elsewhere), by default the manifest's own."""
        missing = [f.sha256 for f in manifest.files if not self.has_blob(f.sha256)]
        if missing:
            raise CorruptSnapshot(f"{len(missing)} blobs are not stored, e.g. {missing[0]}")
        snapshot_id = self.manifests.put(manifest)
        seen = [f for f in (*(cached or manifest.files), *also_seen) if f.fingerprint]
        cache = {f.path: {**f.as_dict(), "fingerprint": f.fingerprint} for f in seen}
        listed = self.blob_fingerprints()
        blobs = {c: listed.get(c) for c in {self.holder(f.sha256) for f in seen}}
        body = {"id": snapshot_id, "files": cache, "schema": manifest.schema, "blobs": blobs}
        self.store.put(cache_key(manifest.name), canonical_json(body))
        self._caches.pop(manifest.name, None)
        return snapshot_id

    def _cache_body(self, name: str) -> dict[str, Any]:
        """The stat cache of `name`, read once per store object (it is large: one entry a file)."""
        if name not in self._caches:
            try:
                self._caches[name] = json.loads(self.store.get(cache_key(name)))
            except ObjectNotFound:
                self._caches[name] = {}
        return self._caches[name]

    def cached_blobs(self, name: str) -> dict[str, str]:
        """The fingerprints the newest snapshot of `name` recorded for the blobs it wrote."""
        return self._cache_body(name).get("blobs", {})

    def cached_files(self, name: str) -> dict[str, FileEntry]:
        """The newest snapshot's entries with the fingerprints they were listed with: from its
        stat cache, or a local folder's from its folder index."""
        found = self._cache(name)[0]
        if found:
            return found
        from fsdl_data.core.versioning import folder_index

        index = folder_index.read_index(self.store, name, self.manifests.newest_id(name))
        return folder_index.entries(index) if index is not None else {}

    def cached_schema(self, name: str) -> dict[str, str]:
        return self._cache_body(name).get("schema", {})  # without building every entry again

    def _cache(self, name: str) -> tuple[dict[str, FileEntry], dict[str, str]]:
        cache = self._cache_body(name)
        if not cache:
            return {}, {}
        files = {path: FileEntry(**entry) for path, entry in cache["files"].items()}
        return files, cache.get("schema", {})

    def read(self, snapshot_id: str, name: str | None = None) -> Manifest:
        return self.manifests.read(snapshot_id, name)

    def resolve(self, snapshot_id: str, name: str | None = None) -> tuple[str, str]:
        return self.manifests.resolve(snapshot_id, name)

    def ids(self, name: str | None = None) -> Iterator[tuple[str, str]]:
        return self.manifests.ids(name)

    def history(self, name: str | None = None) -> list[SnapshotRef]:
        return self.manifests.history(name)

    def latest(self, name: str) -> tuple[str, Manifest] | None:
        """The newest snapshot of `name` (its ref, else the newest manifest written)."""
        snapshot_id = self.manifests.newest_id(name)
        return None if snapshot_id is None else (snapshot_id, self.read(snapshot_id, name))

    def open_snapshot(self, ref: str) -> tuple[str, str, Manifest]:
        """(name, full id, manifest) of what a user typed: an id or a unique prefix of one, a
        snapshot name (its newest snapshot), or `latest` (the newest training_set snapshot).
        Every verb opens snapshots here."""
        text = ref.strip()
        if text == LATEST:
            found = self.latest("training_set")
            if found is None:
                raise SnapshotNotFound(
                    "no training_set snapshot yet: run `fsdl-data materialize` first"
                )
            return "training_set", found[0], found[1]
        if _plain(text):
            newest = self.manifests.newest_id(text)
            if newest is not None:
                return text, newest, self.read(newest, text)
        name, full = self.resolve(text)
        return name, full, self.read(full, name)

    # --- leases: writers and gc exclude each other ---------------------------------------
    def _leases(self) -> list[Lease]:
        found = []
        for key in (o.key for o in self.store.list(LEASES)):
            try:
                d = json.loads(self.store.get(key))
                found.append(Lease(key, d["kind"], d["host"], int(d["pid"]),
                                   datetime.fromisoformat(d["started"])))  # fmt: skip
            except (ObjectNotFound, ValueError, KeyError):
                continue  # released meanwhile, or not ours to read
        return found

    def _take_lease(self, kind: str) -> str:
        key = f"{LEASES}{kind}-{uuid.uuid4().hex}.json"
        body = {"kind": kind, "host": socket.gethostname(), "pid": os.getpid(),
                "started": datetime.now(UTC).isoformat()}  # fmt: skip
        self.store.put(key, canonical_json(body))
        return key

    def _live(self, kind: str, own: str | None = None) -> list[Lease]:
        now = datetime.now(UTC)
        return [
            lease
            for lease in self._leases()
            if lease.kind == kind and lease.key != own and lease.live(now)
        ]

    @contextlib.contextmanager
    def writing(self, wait_s: float = LEASE_WAIT_S) -> Iterator[None]:
        """Held while a snapshot writes blobs and its manifest: no gc runs meanwhile."""
        key = self._take_lease("writer")
        try:
            deadline = time.monotonic() + wait_s
            while self._live("gc"):
                if time.monotonic() > deadline:
                    raise StoreBusy(
                        f"a snapshot gc is running on {self.store.url}: try again later"
                    )
                time.sleep(0.1)
            yield
        finally:
            self.store.delete(key)

    @contextlib.contextmanager
    def collecting(self, wait_s: float = LEASE_WAIT_S) -> Iterator[None]:
        """Held while gc deletes: it starts only once no writer runs (dead writers' leases, of a
        killed process, are removed)."""
        deadline = time.monotonic() + wait_s
        while True:
            key = self._take_lease("gc")
            writers = self._live("writer")
            if not writers:
                break
            self.store.delete(key)  # step aside, so the writers can finish
            if time.monotonic() > deadline:
                raise StoreBusy(
                    f"{len(writers)} snapshot writers are still running on {self.store.url} "
                    f"(pid {writers[0].pid} since {writers[0].started:%H:%M:%S}): try gc later"
                )
            time.sleep(0.2)
        try:
            now = datetime.now(UTC)
            for lease in self._leases():
                if lease.key != key and not lease.live(now):
                    self.store.delete(lease.key)
            yield
        finally:
            self.store.delete(key)

    def _temporaries(self) -> list[Path]:
        """Half-written files a killed writer left in a local store (temporary names). A lease
        being written is not one: a writer writes its lease before it holds one, so a gc that
        sees no writer may still see that lease's temporary file; those are left alone until
        they are older than LEASE_TMP_GRACE (then their writer is surely gone)."""
        root = local_root(self.store)
        if root is None or not (root / ROOT).is_dir():
            return []
        leases, oldest = root / LEASES.rstrip("/"), time.time() - LEASE_TMP_GRACE.total_seconds()
        return [
            p
            for p in (root / ROOT).rglob(f"{TMP_PREFIX}*")
            if p.is_file() and (p.parent != leases or p.stat().st_mtime < oldest)
        ]

    # --- integrity and space -------------------------------------------------------------
    def verify(self, snapshot_ids: Iterable[str] | None = None) -> list[Problem]:
        """Re-hashes every blob the snapshots name; lists each missing or corrupt one."""
        chosen = list(snapshot_ids) if snapshot_ids is not None else [i for _, i in self.ids()]
        problems, checked = [], {}
        for snapshot_id in chosen:
            manifest = self.read(snapshot_id)
            try:
                files = list(manifest.files)  # a tree's listings are read (and checked) here
                list(manifest.objects)  # and its object listings
            except CorruptSnapshot as e:
                problems.append(Problem(snapshot_id, "(listing)", "", e.what))
                continue
            for f in files:
                if f.sha256 not in checked:
                    try:
                        self.get_blob(f.sha256)
                        checked[f.sha256] = "ok"
                    except CorruptSnapshot as e:
                        checked[f.sha256] = e.what
                if checked[f.sha256] != "ok":
                    problems.append(Problem(snapshot_id, f.path, f.sha256, checked[f.sha256]))
        return problems

    def gc(
        self, keep: int, name: str | None = None, pinned: Iterable[str] = (),
        wait_s: float = LEASE_WAIT_S,
    ) -> tuple[list[str], list[str]]:  # fmt: skip
        """Keeps the newest `keep` snapshots of every name (or of `name` only, every other
        name's all) and every `pinned` one (named by a model or a lineage record); deletes the
        other manifests, then every blob no kept manifest names, and what killed writers left
        half-written. Waits while writers run. Returns (deleted snapshot ids, deleted blobs)."""
        if keep < 1:
            raise ValueError("--keep must be at least 1")
        pins = set(pinned)  # and what an erasure replaced a pinned snapshot by
        pins |= {
            self.manifests.follow(n, i)[1] for n, i in self.manifests.tombstoned() if i in pins
        }
        with self.collecting(wait_s):
            self.packs = Packs(self.blobs)  # what writers stored before we started
            self._stored.clear()
            by_name: dict[str, list[SnapshotRef]] = {}
            for ref in self.history():
                by_name.setdefault(ref.name, []).append(ref)
            kept_blobs: set[str] = set()
            kept_listings: set[str] = set()
            dropped: list[SnapshotRef] = []
            for snapshot_name, refs in by_name.items():
                newest = refs[-keep:] if name in (None, snapshot_name) else refs
                kept = [r for r in refs if r in newest or r.id in pins]
                for ref in kept:
                    manifest = self.read(ref.id, ref.name)
                    kept_blobs |= {f.sha256 for f in manifest.files}
                    kept_listings |= listings_of(manifest)
                dropped += [r for r in refs if r not in kept]
            for ref in dropped:
                self.manifests.delete(ref.name, ref.id)
            for listing in set(self.manifests.listings()) - kept_listings:
                self.manifests.delete_listing(listing)
            orphans = sorted(set(self.blob_sizes()) - kept_blobs)
            self._drop_from_packs(set(orphans))
            for digest in orphans:
                self.blobs.delete(digest)
            for leftover in self._temporaries():  # no writer runs: every one is a dead one's
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        return [r.id for r in dropped], orphans

    def _drop_from_packs(self, unwanted: set[str]) -> None:
        """Rewrites every pack that holds unwanted files with only its other files (a new pack
        and index first, then the old index and pack go), or deletes it when none is left."""
        for pack, digests in sorted(self.packs.members().items()):
            if not digests & unwanted:
                continue
            wanted = {d: self.get_blob(d) for d in sorted(digests - unwanted)}
            self.packs.unindex(pack)
            self._stored -= digests
            if wanted:
                self.put_pack(wanted)  # the new pack is whole before the old one goes
            self.packs.remove(pack)


def listings_of(manifest: Manifest) -> set[str]:
    """The ids of the listings a tree manifest names, of files and of raw objects (none for a
    flat one)."""
    folders = getattr(manifest.files, "folders", ())
    groups = getattr(manifest.objects, "groups", ())
    return {f[1] for f in folders} | {g[1] for g in groups}


def _plain(name: str) -> bool:
    """A string that may be a snapshot name (so it is looked up as one before as an id)."""
    try:
        check_name(name)
        return True
    except ValueError:
        return False
