"""Piece three of the snapshot store: manifests (what a snapshot holds) and refs (the newest
snapshot of a name).

    snapshots/manifests/<name>/<manifest id>.json  id = SHA-256 of the JSON: the snapshot id
    snapshots/listings/<listing id>.json           a tree manifest's files of one folder
    snapshots/refs/<name>.json                     the newest snapshot of a name (an index only)
    snapshots/tombstones/<name>/<old id>.json      a snapshot rewritten by an erasure: the id
                                                   that replaces it, and what was erased

Two layouts, both read: a flat manifest (schema version 1) lists every file in its own JSON; a
tree manifest (version 2, what folder and table snapshots write) lists, per folder, the id
(SHA-256) of a listing that holds that folder's files column by column, and, per folder of
their keys, the id of a listing of the raw objects it records. The tree's top names every
listing by hash, so its id still covers every file and object (a Merkle tree); a new snapshot
of a folder where 100 files changed, or an erasure of one photo, writes only the listings of
the folders that changed, and the top.

Identical inputs give an identical manifest, hence the same id. A manifest is written last, in
one atomic put, after everything it names (its blobs, its listings). Whatever the layout,
`Manifest.files` is every file of the snapshot (a tree's listings are read when first needed).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, NamedTuple

from fsdl_data.core.storage.objects import ObjectNotFound, ObjectStore
from fsdl_data.core.versioning.blobs import ROOT, CorruptSnapshot
from fsdl_data.core.versioning.digests import canonical_json, sha256

FLAT, TREE = 1, 2  # manifest schema versions: every file in the manifest; listings per folder
MANIFEST_SCHEMA_VERSION = TREE  # the newest this code writes (flat ones are written and read too)
MANIFESTS = f"{ROOT}/manifests/"
LISTINGS = f"{ROOT}/listings/"
LISTING_FORMAT = 1
TOMBSTONES = f"{ROOT}/tombstones/"


def manifest_key(name: str, snapshot_id: str) -> str:
    return f"{MANIFESTS}{name}/{snapshot_id}.json"


def listing_key(listing: str) -> str:
    return f"{LISTINGS}{listing}.json"


def ref_key(name: str) -> str:
    return f"{ROOT}/refs/{name}.json"


def tombstone_key(name: str, snapshot_id: str) -> str:
    return f"{TOMBSTONES}{name}/{snapshot_id}.json"


def check_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ValueError(
            f"invalid snapshot name {name!r}: use letters, digits, '-', '_' and '.' only"
        )
    return name


class SnapshotNotFound(LookupError):
    """An id (or prefix) that names no snapshot, or names several."""


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
    etag: str | None = None  # an object-store source's ETag when it was read
    version_id: str | None = None  # and its S3 VersionId (versioned buckets)

    def as_dict(self) -> dict[str, Any]:
        """The entry as the manifest holds it: where a file happened to sit (its fingerprint) is
        not what it is, so it stays out of the snapshot's identity."""
        return {  # zip, not _asdict: a manifest of 200,000 files calls this 400,000 times
            k: v
            for k, v in zip(self._fields, self, strict=True)
            if v is not None and k != "fingerprint"
        }


COLUMNS = tuple(f for f in FileEntry._fields if f not in ("path", "fingerprint"))
Folder = tuple[str, str, int, int]  # a tree's folder: (folder, listing id, files, bytes)


def folder_of(path: str) -> str:
    return path.rpartition("/")[0]


def listing_body(folder: str, names: list[str], columns: dict[str, list[Any]]) -> bytes:
    """One folder's listing: its files' names (sorted) and, column by column, what FileEntry
    holds of each (a column with no value at all is left out)."""
    body: dict[str, Any] = {"format": LISTING_FORMAT, "folder": folder, "names": names}
    body.update((c, v) for c, v in columns.items() if any(x is not None for x in v))
    return canonical_json(body)


def encode_listing(folder: str, entries: Sequence[FileEntry]) -> bytes:
    """The listing of `entries`, the files directly in `folder`, sorted by path."""
    columns = {c: [getattr(e, c) for e in entries] for c in COLUMNS}
    return listing_body(folder, [e.path.rpartition("/")[2] for e in entries], columns)


def decode_listing(body: bytes, listing: str) -> list[FileEntry]:
    """A listing's files, its format checked."""
    d = json.loads(body)
    if d.get("format") != LISTING_FORMAT:
        raise CorruptSnapshot(
            f"listing {listing} has format {d.get('format')!r}; this fsdl-data reads listing "
            f"format {LISTING_FORMAT}: upgrade fsdl-data to read this store", "unreadable")  # fmt: skip
    prefix = f"{d['folder']}/" if d["folder"] else ""
    columns = [d.get(c) or repeat(None) for c in COLUMNS]
    paths = [prefix + name for name in d["names"]]
    sha, size, rows, partition, data_version, facts, etag, version_id = columns
    return list(map(FileEntry, paths, sha, size, rows, partition, data_version, repeat(None),
                    facts, etag, version_id))  # fmt: skip


def tree_of(files: Iterable[FileEntry]) -> tuple[list[Folder], dict[str, bytes]]:
    """(folders, listing bodies by id) of files sorted by path."""
    by_folder: dict[str, list[FileEntry]] = {}
    for entry in files:
        by_folder.setdefault(folder_of(entry.path), []).append(entry)
    folders, bodies = [], {}
    for folder in sorted(by_folder):
        entries = by_folder[folder]
        body = encode_listing(folder, entries)
        listing = sha256(body)
        bodies[listing] = body
        folders.append((folder, listing, len(entries), sum(e.bytes for e in entries)))
    return folders, bodies


ObjectGroup = tuple[str, str, int]  # raw objects of one key folder: (folder, listing, objects)


def _record_key(record: dict[str, Any]) -> str:
    return str(record.get("key"))


def object_tree(objects: Iterable[dict[str, Any]]) -> tuple[list[ObjectGroup], dict[str, bytes]]:
    """(groups, listing bodies by id) of raw-object records, one listing per folder of their
    keys: an erasure of one photo then writes that folder's listing again, not every record."""
    by_folder: dict[str, list[dict[str, Any]]] = {}
    for record in objects:
        by_folder.setdefault(folder_of(_record_key(record)), []).append(record)
    groups, bodies = [], {}
    for folder in sorted(by_folder):
        records = sorted(by_folder[folder], key=_record_key)
        body = canonical_json({"format": LISTING_FORMAT, "folder": folder, "objects": records})
        listing = sha256(body)
        bodies[listing] = body
        groups.append((folder, listing, len(records)))
    return groups, bodies


class ObjectListings(Sequence[dict[str, Any]]):
    """A tree manifest's raw-object records, held in listings by key folder: counted from the
    groups without reading a listing, read (each checked against its id) when first iterated,
    in key order (as a snapshot records them)."""

    def __init__(
        self, groups: Iterable[ObjectGroup], load: Callable[[str], bytes],
        bodies: dict[str, bytes] | None = None,
    ) -> None:  # fmt: skip
        self.groups: tuple[ObjectGroup, ...] = tuple((g[0], g[1], g[2]) for g in groups)
        self.load, self.bodies = load, bodies or {}
        self._records: tuple[dict[str, Any], ...] | None = None

    def _all(self) -> tuple[dict[str, Any], ...]:
        if self._records is None:
            found = []
            for _, listing, _ in self.groups:
                body = self.bodies.get(listing) or self.load(listing)
                if sha256(body) != listing:
                    raise CorruptSnapshot(
                        f"listing {listing} does not match its hash: storage corrupted"
                    )
                d = json.loads(body)
                if d.get("format") != LISTING_FORMAT or "objects" not in d:
                    raise CorruptSnapshot(
                        f"listing {listing} is not an object listing of format "
                        f"{LISTING_FORMAT}: upgrade fsdl-data to read this store", "unreadable")  # fmt: skip
                found.extend(d["objects"])
            self._records = tuple(sorted(found, key=_record_key))
        return self._records

    def __len__(self) -> int:
        return sum(g[2] for g in self.groups)

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ObjectListings({len(self.groups)} folders, {len(self)} objects)"


class TreeFiles(Sequence[FileEntry]):
    """A tree manifest's files: counted and summed from its folders without reading a listing;
    listed (every listing read, each checked against its id) when first iterated. `bodies`
    holds listings not stored yet (a snapshot being taken); the rest come from `load`."""

    def __init__(
        self, folders: Iterable[Folder], load: Callable[[str], bytes],
        bodies: dict[str, bytes] | None = None, rows: int | None = None,
    ) -> None:  # fmt: skip
        self.folders: tuple[Folder, ...] = tuple((f[0], f[1], f[2], f[3]) for f in folders)
        self.load, self.bodies, self.rows = load, bodies or {}, rows
        self._files: tuple[FileEntry, ...] | None = None

    def body(self, listing: str) -> bytes:
        if listing in self.bodies:
            return self.bodies[listing]
        body = self.load(listing)
        if sha256(body) != listing:
            raise CorruptSnapshot(f"listing {listing} does not match its hash: storage corrupted")
        return body

    def _all(self) -> tuple[FileEntry, ...]:
        if self._files is None:
            found = [e for _, listing, _, _ in self.folders
                     for e in decode_listing(self.body(listing), listing)]  # fmt: skip
            found.sort(key=lambda e: e.path)  # runs of sorted folders: nearly sorted already
            self._files = tuple(found)
        return self._files

    def __len__(self) -> int:
        return sum(f[2] for f in self.folders)

    @property
    def total_bytes(self) -> int:
        return sum(f[3] for f in self.folders)

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[FileEntry]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TreeFiles({len(self.folders)} folders, {len(self)} files)"


@dataclass(frozen=True)
class Manifest:
    name: str
    kind: str  # "table" or "folder"
    files: tuple[FileEntry, ...]
    source: str = ""  # the asset or the folder/prefix it was taken of
    schema: dict[str, str] = field(default_factory=dict)  # tables: column -> type
    key: tuple[str, ...] = ()  # tables: the columns that identify a row, for row-level diffs
    upstream: dict[str, str] = field(default_factory=dict)  # "asset[partition]" -> data version
    objects: tuple[
        dict[str, Any], ...
    ] = ()  # raw objects referenced: key, size, sha256, etag, version_id
    code: dict[str, str] = field(default_factory=dict)  # code versions, git commit
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = FLAT  # FLAT: every file in this JSON; TREE: listings per folder

    @property
    def row_count(self) -> int:
        if isinstance(self.files, TreeFiles) and self.files.rows is not None:
            return self.files.rows  # as the tree's top records it: no listing read
        return sum(f.rows or 0 for f in self.files)

    @property
    def total_bytes(self) -> int:
        if isinstance(self.files, TreeFiles):
            return self.files.total_bytes
        return sum(f.bytes for f in self.files)

    def tree(self) -> tuple[list[Folder], dict[str, bytes]]:
        """(folders, listing bodies not stored yet) of a tree manifest."""
        if isinstance(self.files, TreeFiles):
            return list(self.files.folders), self.files.bodies
        return tree_of(self.files)

    def object_tree(self) -> tuple[list[ObjectGroup], dict[str, bytes]]:
        """(groups, listing bodies not stored yet) of a tree manifest's raw objects."""
        if isinstance(self.objects, ObjectListings):
            return list(self.objects.groups), self.objects.bodies
        return object_tree(self.objects)

    def body(self) -> bytes:
        if self.schema_version != TREE:
            return self._body(None)
        return self._body(self.tree()[0], self.object_tree()[0])

    def _body(self, folders: list[Folder] | None, groups: list[ObjectGroup] | None = None) -> bytes:
        """A flat body holds its raw objects; a tree's top names their listings (when it has
        any: a tree without objects keeps the body it always had)."""
        if folders is None:
            return self._flat_body()
        described = self._described(objects=not groups)
        if groups:
            described["object_listings"] = [list(g) for g in groups]
        return canonical_json(
            {
                "schema_version": TREE,
                "folders": [list(f) for f in folders],
                "file_count": sum(f[2] for f in folders),
                **described,
            }
        )

    def _flat_body(self) -> bytes:
        return canonical_json(
            {
                "schema_version": FLAT,
                "files": [f.as_dict() for f in self.files],
                **self._described(),
            }
        )

    def _described(self, objects: bool = True) -> dict[str, Any]:
        """The fields both layouts write the same way (canonical JSON sorts keys, so their
        place in the body changes no id); `objects` false leaves the raw objects out (a tree
        names their listings instead)."""
        described = {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "row_count": self.row_count,
            "schema": self.schema,
            "key": list(self.key),
            "upstream": dict(sorted(self.upstream.items())),
            "code": self.code,
            "extra": self.extra,
        }
        if objects:
            described["objects"] = list(self.objects)
        return described

    @property
    def id(self) -> str:
        return sha256(self.body())

    @classmethod
    def from_body(cls, body: bytes, load: Callable[[str], bytes] | None = None) -> Manifest:
        """A manifest from its JSON; a tree's listings are read by `load` (listing id -> its
        bytes) when its files are first needed."""
        d = json.loads(body)
        version = d.get("schema_version")
        if version not in (FLAT, TREE) or (version == TREE and load is None):
            raise CorruptSnapshot(
                f"manifest schema version {version} is not supported "
                f"(this fsdl-data reads versions {FLAT} and {TREE})",
                "unreadable",
            )
        objects: Any = tuple(d.get("objects", ()))
        if version == TREE:
            files: Any = TreeFiles(d["folders"], load, rows=d.get("row_count"))  # type: ignore[arg-type]
            if d.get("object_listings"):
                objects = ObjectListings(d["object_listings"], load)  # type: ignore[arg-type]
        else:
            files = tuple(FileEntry(**f) for f in d["files"])
        return cls(
            name=d["name"],
            kind=d["kind"],
            source=d.get("source", ""),
            files=files,
            schema_version=version,
            schema=d.get("schema", {}),
            key=tuple(d.get("key", ())),
            upstream=d.get("upstream", {}),
            objects=objects,
            code=d.get("code", {}),
            extra=d.get("extra", {}),
        )


@dataclass(frozen=True)
class SnapshotRef:
    name: str
    id: str
    written: Any  # when the manifest was written (datetime), from the listing


class Manifests:
    """The manifests and refs of a store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def put(self, manifest: Manifest, stored: AbstractSet[str] = frozenset()) -> str:
        """Writes the manifest, then points its name's ref at it; returns its id."""
        snapshot_id, _ = self.write(manifest, stored)
        self.store.put(ref_key(manifest.name), canonical_json({"id": snapshot_id}))
        return snapshot_id

    def write(self, manifest: Manifest, stored: AbstractSet[str] = frozenset()) -> tuple[str, int]:
        """Writes a manifest (a tree's new listings first; those it reuses must be stored) and
        returns (its id, the bytes written). The ref is left as it is. `stored`: listings the
        caller knows are stored because a manifest still stored names them and its gc lease
        keeps them; they are not looked up again (a re-snapshot reuses about one per folder,
        and one look-up each cost it a tenth of its time locally, one HEAD each on S3)."""
        written = 0
        folders, groups = None, None
        if manifest.schema_version == TREE:
            folders, bodies = manifest.tree()
            groups, object_bodies = manifest.object_tree()
            listings = [f[1] for f in folders] + [g[1] for g in groups]
            for listing in listings:
                if listing in stored:
                    continue
                key, body = listing_key(listing), bodies.get(listing) or object_bodies.get(listing)
                if body is not None:
                    if self.store.head(key) is None:
                        self.store.put(key, body)
                        written += len(body)
                elif self.store.head(key) is None:
                    raise CorruptSnapshot(f"listing {listing} is not stored", "missing")
        body = manifest._body(folders, groups)
        snapshot_id = sha256(body)
        self.store.put(manifest_key(check_name(manifest.name), snapshot_id), body)
        return snapshot_id, written + len(body)

    def listing(self, listing: str) -> bytes:
        try:
            return self.store.get(listing_key(listing))
        except ObjectNotFound:
            raise CorruptSnapshot(
                f"listing {listing} is missing from {self.store.url}", "missing"
            ) from None

    def listings(self) -> list[str]:
        """The id of every stored listing."""
        return [o.key[len(LISTINGS) : -len(".json")] for o in self.store.list(LISTINGS)
                if o.key.endswith(".json")]  # fmt: skip

    def delete_listing(self, listing: str) -> None:
        self.store.delete(listing_key(listing))

    def delete(self, name: str, snapshot_id: str) -> None:
        self.store.delete(manifest_key(name, snapshot_id))

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
            successor = self.replaced_by(found[0], found[1])
            if successor is not None:
                return self.read(successor, found[0])
            raise SnapshotNotFound(
                f"no snapshot {snapshot_id!r} named {name!r} in {self.store.url}"
            ) from None
        if sha256(body) != found[1]:
            raise CorruptSnapshot(f"manifest {found[1]} does not match its hash: storage corrupted")
        return Manifest.from_body(body, self.listing)

    def resolve(self, snapshot_id: str, name: str | None = None) -> tuple[str, str]:
        """(name, full id) of the snapshot an id or prefix names."""
        prefix = snapshot_id.strip().lower()
        if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
            raise SnapshotNotFound(
                f"{snapshot_id!r} is not a snapshot id: give at least 4 hex characters, a "
                "snapshot name or `latest` (`fsdl-data snapshot list` shows them)"
            )
        matches = [(n, i) for n, i in self.ids(name) if i.startswith(prefix)]
        if not matches:  # an id an erasure replaced: its successor
            matches = sorted({self.follow(n, i) for n, i in self.tombstoned(name)
                              if i.startswith(prefix)})  # fmt: skip
        if not matches:
            raise SnapshotNotFound(
                f"no snapshot {snapshot_id!r} in {self.store.url}: `fsdl-data snapshot list` shows them"
            )
        if len(matches) > 1:
            raise SnapshotNotFound(
                f"{snapshot_id!r} names {len(matches)} snapshots: give more characters"
            )
        return matches[0]

    def replaced_by(self, name: str, snapshot_id: str) -> str | None:
        """The id that replaced a snapshot an erasure rewrote (its tombstone's), or None."""
        try:
            return json.loads(self.store.get(tombstone_key(name, snapshot_id)))["replaced_by"]
        except ObjectNotFound:
            return None

    def follow(self, name: str, snapshot_id: str) -> tuple[str, str]:
        """(name, id) of the snapshot that holds what `snapshot_id` held now: itself, or the
        last of the erasures' successors."""
        seen = {snapshot_id}
        while (successor := self.replaced_by(name, snapshot_id)) is not None:
            if successor in seen:
                break
            seen.add(successor)
            snapshot_id = successor
        return name, snapshot_id

    def _first_written(self, name: str | None) -> dict[str, Any]:
        """When each snapshot an erasure rewrote was first written (its tombstone says): a
        rewritten snapshot keeps its place in its name's history, so `gc --keep N` keeps the
        same ones."""
        from datetime import datetime

        found = {}
        for tombstone_name, old_id in self.tombstoned(name):
            try:
                body = json.loads(self.store.get(tombstone_key(tombstone_name, old_id)))
            except ObjectNotFound:
                continue
            if body.get("written"):
                found[body["replaced_by"]] = datetime.fromisoformat(body["written"])
        return found

    def _named(self, folder: str, name: str | None) -> Iterator[tuple[str, str]]:
        """(name, id) of every <folder><name>/<id>.json (of `name` only, when given)."""
        for key in (o.key for o in self.store.list(f"{folder}{name}/" if name else folder)):
            parts = key.split("/")
            if len(parts) == 4 and parts[3].endswith(".json"):
                yield parts[2], parts[3][: -len(".json")]

    def tombstoned(self, name: str | None = None) -> Iterator[tuple[str, str]]:
        """(name, old id) of every snapshot an erasure rewrote."""
        return self._named(TOMBSTONES, name)

    def ids(self, name: str | None = None) -> Iterator[tuple[str, str]]:
        """(name, id) of every snapshot (of `name`)."""
        return self._named(MANIFESTS, name)

    def history(self, name: str | None = None) -> list[SnapshotRef]:
        """Every snapshot (of `name`), oldest first, without reading a manifest."""
        prefix = f"{MANIFESTS}{name}/" if name else MANIFESTS
        found = []
        rewritten = self._first_written(name)
        for stat in self.store.list(prefix):
            parts = stat.key.split("/")
            if len(parts) == 4 and parts[3].endswith(".json"):
                snapshot_id = parts[3][: -len(".json")]
                written = rewritten.get(snapshot_id, stat.last_modified)
                found.append(SnapshotRef(parts[2], snapshot_id, written))
        return sorted(found, key=lambda r: (r.written is None, r.written, r.id))

    def newest_id(self, name: str) -> str | None:
        """The newest snapshot of `name`: its ref, else the newest manifest written."""
        try:
            snapshot_id = json.loads(self.store.get(ref_key(name)))["id"]
            if self.store.head(manifest_key(name, snapshot_id)) is not None:
                return snapshot_id
        except ObjectNotFound:
            pass
        found = self.history(name)
        return found[-1].id if found else None
