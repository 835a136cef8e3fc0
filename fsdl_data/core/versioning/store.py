"""The snapshot store: content-addressed blobs and versioned manifests, in the lake.

Layout (the one place that knows it):
    snapshots/blobs/<sha256>                       a file's bytes, named by their hash (loose)
    snapshots/packs/<pack sha256>.json             where a pack blob holds which files: many
                                                   small files read at once go into one pack
                                                   blob (offset, size by file hash), as in git
    snapshots/manifests/<name>/<manifest id>.json  what a snapshot holds; id = SHA-256 of the JSON
    snapshots/refs/<name>.json                     the newest snapshot of a name (an index only)
    snapshots/cache/<name>.json                    the newest snapshot's files as they were listed
                                                   (ETag, or size and mtime): the stat cache

A blob already present is never rewritten (a present blob whose bytes no longer match its name
is repaired: see `put_blob`). A manifest is written last, in one atomic put, so it never names a
blob that is not there. Identical inputs give an identical manifest, hence the same id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fsdl_data.core.storage.objects import Listed, ObjectNotFound, ObjectStore
from fsdl_data.core.versioning.digests import canonical_json, sha256

ROOT = "snapshots"
MANIFEST_SCHEMA_VERSION = 1


def blob_key(digest: str) -> str:
    return f"{ROOT}/blobs/{digest}"


def manifest_key(name: str, snapshot_id: str) -> str:
    return f"{ROOT}/manifests/{name}/{snapshot_id}.json"


def pack_key(pack: str) -> str:
    return f"{ROOT}/packs/{pack}.json"


PACK_MIN_FILES = 64  # a snapshot that reads this many small files writes them as packs
PACK_FILE_LIMIT = 1 << 20  # files up to 1 MiB go into packs; larger ones are loose blobs
PACK_TARGET = 16 << 20  # a pack is closed at about this size (one is written, one fills)


def ref_key(name: str) -> str:
    return f"{ROOT}/refs/{name}.json"


def cache_key(name: str) -> str:
    return f"{ROOT}/cache/{name}.json"


def check_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ValueError(
            f"invalid snapshot name {name!r}: use letters, digits, '-', '_' and '.' only"
        )
    return name


class SnapshotNotFound(LookupError):
    """An id (or prefix) that names no snapshot, or names several."""


class CorruptSnapshot(ValueError):
    """Bytes that do not match the hash they are stored under (`what` = "corrupt"), or that
    are not stored at all ("missing")."""

    def __init__(self, message: str, what: str = "corrupt") -> None:
        super().__init__(message)
        self.what = what


class FileEntry(NamedTuple):
    """One file of a snapshot: where it goes, what it is, and for tables what it holds. (A
    named tuple: the stat cache loads ten thousand of them for `snapshot status`.)"""

    path: str  # relative path inside the snapshot (e.g. date=2026-01-01/data.parquet)
    sha256: str
    bytes: int
    rows: int | None = None  # table files
    partition: str | None = None  # table files of partitioned assets
    data_version: str | None = None  # the Dagster data version of that partition, if known
    fingerprint: str | None = None  # what the source looked like (ETag or stat): cache only
    facts: dict[str, Any] | None = None  # more about the file (e.g. how many raw objects it names)

    def as_dict(self) -> dict[str, Any]:
        """The entry as the manifest holds it: where a file happened to sit (its fingerprint) is
        not what it is, so it stays out of the snapshot's identity."""
        return {k: v for k, v in self._asdict().items() if v is not None and k != "fingerprint"}


@dataclass(frozen=True)
class Manifest:
    name: str
    kind: str  # "table" or "folder"
    files: tuple[FileEntry, ...]
    source: str = ""  # the asset or the folder/prefix it was taken of
    schema: dict[str, str] = field(default_factory=dict)  # tables: column -> type
    key: tuple[str, ...] = ()  # tables: the columns that identify a row, for row-level diffs
    upstream: dict[str, str] = field(default_factory=dict)  # "asset[partition]" -> data version
    objects: tuple[dict[str, Any], ...] = ()  # raw objects referenced: key, etag, version_id
    code: dict[str, str] = field(default_factory=dict)  # code versions, git commit
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return sum(f.rows or 0 for f in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def body(self) -> bytes:
        return canonical_json(
            {
                "schema_version": MANIFEST_SCHEMA_VERSION,
                "name": self.name,
                "kind": self.kind,
                "source": self.source,
                "files": [f.as_dict() for f in self.files],
                "row_count": self.row_count,
                "schema": self.schema,
                "key": list(self.key),
                "upstream": dict(sorted(self.upstream.items())),
                "objects": list(self.objects),
                "code": self.code,
                "extra": self.extra,
            }
        )

    @property
    def id(self) -> str:
        return sha256(self.body())

    @classmethod
    def from_body(cls, body: bytes) -> Manifest:
        d = json.loads(body)
        if d.get("schema_version") != MANIFEST_SCHEMA_VERSION:
            raise CorruptSnapshot(
                f"manifest schema version {d.get('schema_version')} is not supported "
                f"(this fsdl-data reads version {MANIFEST_SCHEMA_VERSION})"
            )
        return cls(
            name=d["name"],
            kind=d["kind"],
            source=d.get("source", ""),
            files=tuple(FileEntry(**f) for f in d["files"]),
            schema=d.get("schema", {}),
            key=tuple(d.get("key", ())),
            upstream=d.get("upstream", {}),
            objects=tuple(d.get("objects", ())),
            code=d.get("code", {}),
            extra=d.get("extra", {}),
        )


@dataclass(frozen=True)
class SnapshotRef:
    name: str
    id: str
    written: Any  # when the manifest was written (datetime), from the listing


@dataclass(frozen=True)
class Problem:
    snapshot: str
    path: str
    blob: str
    what: str  # "missing" or "corrupt"


class SnapshotStore:
    """Snapshots over an object store (a local folder or an S3 prefix: the lake's)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._stored: set[str] = set()  # blobs this object wrote or checked: no second look
        self._packed: dict[str, tuple[str, int, int]] | None = None  # hash -> (pack, offset, size)
        self._pack_sizes: dict[str, int] = {}
        self._open_pack: tuple[str, bytes] | None = None  # the last pack read, kept for slices

    # --- blobs ---------------------------------------------------------------------------
    def packed(self) -> dict[str, tuple[str, int, int]]:
        """Every packed file: its hash -> (pack, offset, size), from the pack indexes."""
        if self._packed is None:
            self._packed = {}
            for key in (o.key for o in self.store.list(f"{ROOT}/packs/")):
                if key.endswith(".json"):
                    self._index_pack(json.loads(self.store.get(key)))
        return self._packed

    def _index_pack(self, index: dict[str, Any]) -> None:
        assert self._packed is not None
        self._pack_sizes[index["pack"]] = index["bytes"]
        for digest, (offset, size) in index["files"].items():
            self._packed.setdefault(digest, (index["pack"], offset, size))

    def has_blob(self, digest: str) -> bool:
        return (
            digest in self._stored
            or digest in self.packed()
            or self.store.head(blob_key(digest)) is not None
        )

    def put_blob(self, data: bytes, digest: str | None = None) -> str:
        """Stores `data` under its hash unless a blob with the right bytes is there already.
        A blob whose stored bytes do not match its name (tampered, truncated) is replaced."""
        digest = digest or sha256(data)
        key = blob_key(digest)
        stored = None if digest in self.packed() else self.store.head(key)
        present = digest in self.packed() or (stored is not None and stored.size == len(data))
        if present and self._intact(digest):
            self._stored.add(digest)
            return digest
        self.store.put(key, data)
        self._stored.add(digest)
        return digest

    def put_pack(self, files: dict[str, bytes]) -> str | None:
        """Stores small files (by hash) as one pack blob, then its index; files already stored
        are left out. Returns the pack's hash (None when nothing was new)."""
        new = {}
        for digest, data in files.items():
            if digest in self.packed() and not self._intact(digest):
                self.store.put(blob_key(digest), data)  # a damaged packed file: repaired loose
            elif not self.has_blob(digest):
                new[digest] = data
        if not new:
            return None
        offsets, offset = {}, 0
        for digest, data in new.items():
            offsets[digest] = (offset, len(data))
            offset += len(data)
        # Named by the hash of its index, which names every file's hash: content-addressed
        # like a Merkle tree, without hashing the bytes a second time.
        pack = sha256(canonical_json(offsets))
        body = b"".join(new.values())
        self.store.put(blob_key(pack), body)
        index = {"pack": pack, "bytes": len(body), "files": offsets}
        self.store.put(pack_key(pack), canonical_json(index))  # after the pack: never dangles
        self.packed()
        self._index_pack(index)
        self._stored |= set(new)
        return pack

    def blob_listing(self) -> dict[str, Listed]:
        """Every stored blob (loose files and packs) by name, as one listing shows it."""
        return {s.key.rsplit("/", 1)[1]: s for s in self.store.list(f"{ROOT}/blobs/")}

    def blob_sizes(self, listing: dict[str, Listed] | None = None) -> dict[str, int]:
        """Every stored file's size by its hash, loose or packed (packs themselves left out),
        from one listing (`listing`, or a new one); a packed file counts only while its pack
        is there, whole."""
        listing = self.blob_listing() if listing is None else listing
        loose = {name: stat.size for name, stat in listing.items()}
        packed = self.packed()
        sizes = {d: size for d, size in loose.items() if d not in self._pack_sizes}
        for digest, (pack, _, size) in packed.items():
            if loose.get(pack) == self._pack_sizes[pack]:
                sizes.setdefault(digest, size)
        return sizes

    def _intact(self, digest: str) -> bool:
        try:
            self.get_blob(digest)
            return True
        except CorruptSnapshot:
            return False

    def _pack_bytes(self, pack: str) -> bytes:
        if self._open_pack is None or self._open_pack[0] != pack:
            self._open_pack = (pack, self.store.get(blob_key(pack)))
        return self._open_pack[1]

    def get_blob(self, digest: str) -> bytes:
        """A file's bytes by its hash, packed or loose, checked against it."""
        found, damaged = self.packed().get(digest), False
        if found is not None:  # packed: a loose copy (a repair) serves when the pack is bad
            pack, offset, size = found
            try:
                data = self._pack_bytes(pack)[offset : offset + size]
                if sha256(data) == digest:
                    return data
                damaged = True
            except ObjectNotFound:
                pass
        try:
            data = self.store.get(blob_key(digest))
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

    # --- manifests -----------------------------------------------------------------------
    def commit(self, manifest: Manifest, also_seen: tuple[FileEntry, ...] = ()) -> str:
        """Writes the manifest (after its blobs, which must all be present) and returns its id.
        `also_seen`: files listed but left out (e.g. empty ones), cached so they are not read
        again while unchanged."""
        missing = [f.sha256 for f in manifest.files if not self.has_blob(f.sha256)]
        if missing:
            raise CorruptSnapshot(f"{len(missing)} blobs are not stored, e.g. {missing[0]}")
        body = manifest.body()
        snapshot_id = sha256(body)
        self.store.put(manifest_key(check_name(manifest.name), snapshot_id), body)
        self.store.put(ref_key(manifest.name), canonical_json({"id": snapshot_id}))
        cached = [f for f in (*manifest.files, *also_seen) if f.fingerprint]
        cache = {f.path: {**f.as_dict(), "fingerprint": f.fingerprint} for f in cached}
        listed = self.blob_fingerprints()
        blobs = {c: listed.get(c) for c in {self.holder(f.sha256) for f in cached}}
        self.store.put(
            cache_key(manifest.name),
            canonical_json(
                {"id": snapshot_id, "files": cache, "schema": manifest.schema, "blobs": blobs}
            ),
        )
        return snapshot_id

    def holder(self, digest: str) -> str:
        """The blob that holds a file: its pack, or its own loose blob."""
        found = self.packed().get(digest)
        return found[0] if found else digest

    def blob_fingerprints(self, listing: dict[str, Listed] | None = None) -> dict[str, str]:
        """Every stored blob (loose files and packs) by name, with its listing fingerprint (ETag,
        or size and mtime): a blob rewritten behind our back lists differently."""
        listing = self.blob_listing() if listing is None else listing
        return {name: stat.fingerprint for name, stat in listing.items()}

    def cached_blobs(self, name: str) -> dict[str, str]:
        """The fingerprints the newest snapshot of `name` recorded for the blobs it wrote."""
        try:
            return json.loads(self.store.get(cache_key(name))).get("blobs", {})
        except ObjectNotFound:
            return {}

    def cached_files(self, name: str) -> dict[str, FileEntry]:
        """The newest snapshot's entries with the fingerprints they were listed with."""
        return self._cache(name)[0]

    def cached_schema(self, name: str) -> dict[str, str]:
        return self._cache(name)[1]

    def _cache(self, name: str) -> tuple[dict[str, FileEntry], dict[str, str]]:
        try:
            cache = json.loads(self.store.get(cache_key(name)))
        except ObjectNotFound:
            return {}, {}
        files = {path: FileEntry(**entry) for path, entry in cache["files"].items()}
        return files, cache.get("schema", {})

    def read(self, snapshot_id: str, name: str | None = None) -> Manifest:
        """A snapshot by id or unique id prefix (4 characters at least). A full id with its
        name (what `resolve` returns) is read without listing the manifests again."""
        full = snapshot_id.strip().lower()
        if name and len(full) == 64 and all(c in "0123456789abcdef" for c in full):
            found = (name, full)
        else:
            found = self.resolve(snapshot_id, name)
        try:
            body = self.store.get(manifest_key(found[0], found[1]))
        except ObjectNotFound:
            raise SnapshotNotFound(
                f"no snapshot {snapshot_id!r} named {name!r} in {self.store.url}"
            ) from None
        if sha256(body) != found[1]:
            raise CorruptSnapshot(f"manifest {found[1]} does not match its hash: storage corrupted")
        return Manifest.from_body(body)

    def resolve(self, snapshot_id: str, name: str | None = None) -> tuple[str, str]:
        """(name, full id) of the snapshot an id or prefix names."""
        prefix = snapshot_id.strip().lower()
        if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
            raise SnapshotNotFound(
                f"{snapshot_id!r} is not a snapshot id: give at least 4 hex characters "
                "(`fsdl-data snapshot list` shows them)"
            )
        matches = [(n, i) for n, i in self.ids(name) if i.startswith(prefix)]
        if not matches:
            raise SnapshotNotFound(
                f"no snapshot {snapshot_id!r} in {self.store.url}: `fsdl-data snapshot list` shows them"
            )
        if len(matches) > 1:
            raise SnapshotNotFound(
                f"{snapshot_id!r} names {len(matches)} snapshots: give more characters"
            )
        return matches[0]

    def ids(self, name: str | None = None) -> Iterator[tuple[str, str]]:
        prefix = f"{ROOT}/manifests/{name}/" if name else f"{ROOT}/manifests/"
        for key in (o.key for o in self.store.list(prefix)):
            parts = key.split("/")
            if len(parts) == 4 and parts[3].endswith(".json"):
                yield parts[2], parts[3][: -len(".json")]

    def history(self, name: str | None = None) -> list[SnapshotRef]:
        """Every snapshot (of `name`), oldest first, without reading a manifest."""
        prefix = f"{ROOT}/manifests/{name}/" if name else f"{ROOT}/manifests/"
        found = []
        for stat in self.store.list(prefix):
            parts = stat.key.split("/")
            if len(parts) == 4 and parts[3].endswith(".json"):
                found.append(SnapshotRef(parts[2], parts[3][: -len(".json")], stat.last_modified))
        return sorted(found, key=lambda r: (r.written is None, r.written, r.id))

    def latest(self, name: str) -> tuple[str, Manifest] | None:
        """The newest snapshot of `name` (its ref, else the newest manifest written)."""
        try:
            snapshot_id = json.loads(self.store.get(ref_key(name)))["id"]
            return snapshot_id, self.read(snapshot_id, name)
        except (ObjectNotFound, SnapshotNotFound):
            found = self.history(name)
            return (found[-1].id, self.read(found[-1].id, name)) if found else None

    # --- integrity and space -------------------------------------------------------------
    def verify(self, snapshot_ids: Iterable[str] | None = None) -> list[Problem]:
        """Re-hashes every blob the snapshots name; lists each missing or corrupt one."""
        chosen = list(snapshot_ids) if snapshot_ids is not None else [i for _, i in self.ids()]
        problems, checked = [], {}
        for snapshot_id in chosen:
            manifest = self.read(snapshot_id)
            for f in manifest.files:
                if f.sha256 not in checked:
                    try:
                        self.get_blob(f.sha256)
                        checked[f.sha256] = "ok"
                    except CorruptSnapshot as e:
                        checked[f.sha256] = e.what
                if checked[f.sha256] != "ok":
                    problems.append(Problem(snapshot_id, f.path, f.sha256, checked[f.sha256]))
        return problems

    def gc(self, keep: int, name: str | None = None) -> tuple[list[str], list[str]]:
        """Keeps the newest `keep` snapshots of every name (or of `name` only, every other
        name's all); deletes the other manifests, then every blob no kept manifest names.
        Returns (deleted snapshot ids, deleted blobs)."""
        if keep < 1:
            raise ValueError("--keep must be at least 1")
        by_name: dict[str, list[SnapshotRef]] = {}
        for ref in self.history():
            by_name.setdefault(ref.name, []).append(ref)
        kept_blobs: set[str] = set()
        dropped: list[SnapshotRef] = []
        for snapshot_name, refs in by_name.items():
            kept = refs[-keep:] if name in (None, snapshot_name) else refs
            for ref in kept:
                kept_blobs |= {f.sha256 for f in self.read(ref.id, ref.name).files}
            dropped += refs[: len(refs) - len(kept)]
        for ref in dropped:
            self.store.delete(manifest_key(ref.name, ref.id))
        orphans = sorted(set(self.blob_sizes()) - kept_blobs)
        self._drop_from_packs(set(orphans))
        for digest in orphans:
            self.store.delete(blob_key(digest))
        return [r.id for r in dropped], orphans

    def _drop_from_packs(self, unwanted: set[str]) -> None:
        """Rewrites every pack that holds unwanted files with only its other files (a new pack
        and index first, then the old index and pack go), or deletes it when none is left."""
        by_pack: dict[str, set[str]] = {}
        for digest, (pack, _, _) in self.packed().items():
            by_pack.setdefault(pack, set()).add(digest)
        for pack, digests in sorted(by_pack.items()):
            if not digests & unwanted:
                continue
            wanted = {d: self.get_blob(d) for d in sorted(digests - unwanted)}
            for digest in digests:
                self.packed().pop(digest, None)
                self._stored.discard(digest)
            if wanted:
                self.put_pack(wanted)
            self.store.delete(pack_key(pack))
            self.store.delete(blob_key(pack))
            self._pack_sizes.pop(pack, None)
