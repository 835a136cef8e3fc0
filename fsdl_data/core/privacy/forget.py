"""`forget`: erase one subject (a user with their photos, or one photo) from every place we keep
data, and prove it gone.

The places, in the order they are erased (`PLACES`):
    lake        every file under the lake but the snapshot store and the model registry: every
                partition of every table, the served-feature logs (`served_log/`), anything else
                in Parquet or JSON
    snapshots   every snapshot (core/versioning/erasure.py: only the files and packs that hold
                the subject are rewritten; the old manifests become tombstones)
    exports     every export (a folder with an fsdl-data dataset card) under the lake, the
                object store or a folder given: made again from the snapshot that replaced its
                own, so card and shards agree
    objects     the object store: the subject's photos themselves, the event logs (JSON lines),
                the Label Studio queue, seed and gold task files (JSON)
    online      the online feature store (SQLite, Postgres or Redis): the user's and photos'
                features
    app_db      the application database's user and photo rows

An erasure keeps a journal, `erasures/<erasure id>.json` in the lake: while it runs it holds the
footprint (the ids and keys to erase) and which places are done, so a rerun after a crash
resumes with the same footprint and the same time (hence the same new snapshot ids); when it is
done the journal becomes the erasure report: what was erased where (counts), when and why, with
digests instead of ids. Every file is replaced by one atomic put, so a crash leaves each file
either as it was or erased.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fsdl_data.core.privacy.subjects import PHOTO_SUFFIXES, Footprint, Subject, scrub
from fsdl_data.core.storage.backends.local import walk_folders
from fsdl_data.core.storage.objects import (
    Capability,
    ObjectNotFound,
    ObjectStore,
    local_root,
    supports,
)
from fsdl_data.core.versioning.digests import canonical_json, sha256

ERASURES = "erasures/"
LAKE_SKIPPED = ("snapshots/", "models/", ERASURES)  # their own ways (snapshots) or not data
SCANNED_SUFFIXES = (".parquet", ".json", ".jsonl", ".jsonl.gz", ".ndjson", ".jpg", ".jpeg",
                    ".png", ".webp")  # fmt: skip
PLACES = ("lake", "snapshots", "exports", "objects", "online", "app_db")  # exports after snapshots
CARD = "README.md"


class NothingToErase(LookupError):
    """A subject that is nowhere (and was never erased): most likely a mistyped id."""


class PlaceUnreachable(ConnectionError):
    """A service holding data (the online store, the application database) that does not
    answer. Before an erasure starts, nothing is erased; during one, the places done stay done
    (each file is replaced atomically) and the journal lets the same command resume."""


PLACE_NAMES = {"online": ("the online store", "FSDL_ONLINE_STORE_URL"),
               "app_db": ("the application database", "FSDL_APP_DB_URL")}  # fmt: skip


def unreachable(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is a service not answering: a refused or timed-out
    connection, from the socket, Redis or a database driver; not a bug."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind, module = type(current).__name__, type(current).__module__
        text = str(current).lower()
        if isinstance(current, ConnectionError | TimeoutError):
            return True
        if module.startswith("redis") and kind in ("ConnectionError", "TimeoutError"):
            return True
        if kind in ("OperationalError", "InterfaceError") and any(
            word in text for word in ("connect", "connection", "timeout", "unable to open")
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _where(service: Any) -> str:
    """A service's address for a message, with any password taken out."""
    from fsdl_data.core.storage.urls import redact_url

    db = getattr(service, "db", service)
    if hasattr(db, "url"):
        return redact_url(str(db.url))
    client = getattr(service, "client", None)
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
    return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"


def probe(place: str, service: Any) -> None:
    """Raises PlaceUnreachable, with what to do, when `service` does not answer."""
    try:
        client = getattr(service, "client", None)
        if client is not None and hasattr(client, "ping"):
            client.ping()
        else:
            with getattr(service, "db", service).engine.connect():
                pass
    except Exception as error:
        if not unreachable(error):
            raise
        what, variable = PLACE_NAMES[place]
        raise PlaceUnreachable(
            f"cannot reach {what} at {_where(service)}: start it (or set {variable}), then run "
            "the same command again; nothing was erased or counted"
        ) from None


@dataclass(frozen=True)
class Places:
    """Where data lives: the lake (with its snapshot store), the object store, and optionally
    the online store, the application database and more folders holding exports."""

    lake: ObjectStore
    objects: ObjectStore
    online: Any = None  # an OnlineStore
    app_db: Any = None  # an AppDatabase
    export_roots: tuple[Path, ...] = ()


def erasure_key(erasure_id: str) -> str:
    return f"{ERASURES}{erasure_id}.json"


def reports(lake: ObjectStore, subject: Subject | None = None) -> list[dict[str, Any]]:
    """Every erasure journal and report in the lake (of `subject` only, when given), oldest
    first."""
    found = []
    for listed in lake.list(ERASURES):
        with contextlib.suppress(ObjectNotFound, ValueError):
            body = json.loads(lake.get(listed.key))
            if subject is None or body["subject"]["digest"] == subject.digest:
                found.append(body)
    return sorted(found, key=lambda r: r["started"])


def erased_subjects(lake: ObjectStore) -> frozenset[str]:
    """The digests of every subject erased or being erased, and of the photos that went with
    them: what a world generator must never make again (`append_days`' `erased`). A finished
    report keeps only digests; a running journal's footprint still has the ids."""
    found: set[str] = set()
    for report in reports(lake):
        found.add(report["subject"]["digest"])
        footprint = report["footprint"]
        found |= set(footprint.get("photo_digests", ()))
        if report["state"] == "running":
            found |= {Subject("photo", p).digest for p in footprint.get("photos", ())}
            found |= {Subject("user", u).digest for u in footprint.get("users", ())}
    return frozenset(found)


# --- the footprint ---------------------------------------------------------------------------
def _parquet_files(store: ObjectStore, skipped: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    for listed in store.list(""):
        if listed.key.endswith(".parquet") and not listed.key.startswith(skipped):
            with contextlib.suppress(ObjectNotFound):
                yield listed.key, store.get(listed.key)


def footprint_of(subject: Subject, places: Places) -> Footprint:
    """What names the subject now: a user's id, the photos they posted (an owner is a row with
    `user_id` and `photo_id` that is not an event, or a `post` event) and those photos' object
    keys (from any row with `photo_id` and `key`/`object_key`, or the application database)."""
    import polars as pl

    users = {subject.id} if subject.kind == "user" else set()
    photos = {subject.id} if subject.kind == "photo" else set()
    keys: set[str] = set()
    tables = list(_parquet_files(places.lake, LAKE_SKIPPED))
    for _, data in tables:
        schema = pl.read_parquet_schema(io.BytesIO(data))
        if users and {"user_id", "photo_id"} <= set(schema):
            frame = pl.read_parquet(io.BytesIO(data), columns=[c for c in ("user_id", "photo_id",
                                    "event_type") if c in schema])  # fmt: skip
            owned = frame.filter(pl.col("user_id").is_in(sorted(users)))
            if "event_type" in schema:
                owned = owned.filter(pl.col("event_type") == "post")
            photos |= set(owned["photo_id"].drop_nulls().to_list())
    if places.app_db is not None and users:
        photos |= _app_photos_of(places.app_db, users)
    for _, data in tables:
        schema = pl.read_parquet_schema(io.BytesIO(data))
        for column in ("key", "object_key"):
            if photos and {"photo_id", column} <= set(schema) and schema[column] == pl.String:
                frame = pl.read_parquet(io.BytesIO(data), columns=["photo_id", column])
                mine = frame.filter(pl.col("photo_id").is_in(sorted(photos)))
                keys |= set(mine[column].drop_nulls().to_list())
    if places.app_db is not None and photos:
        keys |= _app_keys_of(places.app_db, photos)
    contents = set()
    for key in sorted(keys):
        with contextlib.suppress(ObjectNotFound):
            contents.add(sha256(places.objects.get(key)))
    return Footprint(frozenset(users), frozenset(photos), frozenset(keys), frozenset(contents))


def _app_photos_of(db: Any, users: set[int]) -> set[int]:
    from fsdl_data.core.storage.appdb import photos as table

    with db.engine.connect() as conn:
        query = table.select().with_only_columns(table.c.photo_id)
        return {r[0] for r in conn.execute(query.where(table.c.user_id.in_(sorted(users))))}


def _app_keys_of(db: Any, photo_ids: set[int]) -> set[str]:
    from fsdl_data.core.storage.appdb import photos as table

    with db.engine.connect() as conn:
        query = table.select().with_only_columns(table.c.object_key)
        return {r[0] for r in conn.execute(query.where(table.c.photo_id.in_(sorted(photo_ids))))}


# --- erasing, place by place ----------------------------------------------------------------
@dataclass
class Tally:
    """What one place's erasure did."""

    files: int = 0  # files that held the subject (rewritten or removed)
    removed: int = 0  # of them, removed whole (photo objects)
    rows: int = 0  # rows, items or values erased
    bytes_written: int = 0
    scanned: int = 0
    versions: int = 0  # old object versions deleted (versioned S3 buckets)
    by_folder: dict[str, list[int]] = field(default_factory=dict)  # folder -> [files, bytes]

    def wrote(self, key: str, written: int) -> None:
        """Counts a file rewritten, and its bytes, under its folder (a table, a log prefix;
        partition folders left out): where an erasure's cost goes."""
        self.bytes_written += written
        folder = "/".join(part for part in key.split("/")[:-1] if "=" not in part) or "."
        counted = self.by_folder.setdefault(folder, [0, 0])
        counted[0] += 1
        counted[1] += written

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "removed": self.removed, "rows": self.rows,
                "bytes_written": self.bytes_written, "scanned": self.scanned,
                "versions_deleted": self.versions,
                "bytes_by_folder": {k: {"files": files, "bytes": written} for k, (files, written)
                                    in sorted(self.by_folder.items())}}  # fmt: skip


def _erase_store(store: ObjectStore, footprint: Footprint, skipped: tuple[str, ...],
                 write: bool = True, seen: dict[str, Any] | None = None,
                 ) -> tuple[Tally, list[str]]:  # fmt: skip
    """Scrubs every file of a store (but those under `skipped`); returns the tally and the keys
    that held the subject. `seen` collects each file's outcome by the SHA-256 of its bytes (a
    snapshot's copy of a lake file is then not read again)."""
    tally, held = Tally(), []
    purge = write and supports(store, Capability.VERSION_PURGE) and store.versioned()  # type: ignore[attr-defined]
    for listed in list(store.list("")):
        key = listed.key
        if key.startswith(skipped) or not key.lower().endswith(SCANNED_SUFFIXES):
            continue
        if key.lower().endswith(PHOTO_SUFFIXES) and not footprint.names_key(key):
            continue  # a photo is the subject's by its key alone: no need to read it
        try:
            data = store.get(key)
        except ObjectNotFound:
            continue
        tally.scanned += 1
        found = scrub(key, data, footprint, write=write)
        if seen is not None:
            seen[sha256(data)] = found
        if not found.erased:
            continue
        tally.files += 1
        tally.rows += found.erased
        held.append(key)
        if not write:
            continue
        if found.removed:
            store.delete(key)
            tally.removed += 1
        else:
            store.put(key, found.data)
            tally.wrote(key, len(found.data))
        if purge:  # a versioned bucket keeps what was overwritten or deleted: not this
            tally.versions += store.purge_versions(key, keep_current=not found.removed)  # type: ignore[attr-defined]
    return tally, held


def _export_folders(places: Places) -> list[Path]:
    """Every folder holding an fsdl-data export under the local lake, the local object store
    and the export roots."""
    from fsdl_data.core.versioning.export import CARD_MARK

    roots = [*places.export_roots]
    roots += [root for root in map(local_root, (places.lake, places.objects)) if root]
    found = []
    for root in roots:
        for _, path, files in walk_folders(str(root), file_links=False):
            folder = Path(path)
            card = any(name == CARD for name, _, _ in files) and (folder / "data").is_dir()
            if card and CARD_MARK in (folder / CARD).read_text(errors="replace"):
                found.append(folder)
    return sorted(set(found))


def _under(store: ObjectStore, folders: Iterable[Path]) -> tuple[str, ...]:
    """The key prefixes of `folders` inside a local store (so the store's walk skips them)."""
    root = local_root(store)
    if root is None:
        return ()
    prefixes = []
    for folder in folders:
        with contextlib.suppress(ValueError):
            prefixes.append(str(folder.resolve().relative_to(root.resolve())) + "/")
    return tuple(prefixes)


def _erase_exports(places: Places, footprint: Footprint, write: bool = True) -> Tally:
    """Each export that holds the subject is made again from the snapshot that now holds what
    its own held (the erasure's successor), so its card and shards agree; an export whose
    snapshot is gone has its shards scrubbed in place."""
    from fsdl_data.core.versioning.export import export_snapshot
    from fsdl_data.core.versioning.store import SnapshotNotFound, SnapshotStore

    tally = Tally()
    snapshots = SnapshotStore(places.lake)
    for folder in _export_folders(places):
        shards = sorted((folder / "data").glob("*.parquet"))
        held = 0
        for shard in shards:
            tally.scanned += 1
            held += scrub(shard.name, shard.read_bytes(), footprint, write=False).erased
        if not held:
            continue
        tally.files += 1
        tally.rows += held
        if not write:
            continue
        card = (folder / CARD).read_text(errors="replace")
        recorded = re.search(r"Snapshot `([0-9a-f]{64})`", card)
        licence = re.search(r"^license: (.+)$", card, re.MULTILINE)
        try:
            if recorded is None:
                raise SnapshotNotFound("no snapshot id in the card")
            name, full = snapshots.resolve(recorded.group(1))
            manifest = snapshots.read(full, name)
            if any(scrub(f.path, snapshots.get_blob(f.sha256), footprint, write=False).erased
                   for f in manifest.files):  # fmt: skip
                raise SnapshotNotFound("its snapshot is not erased yet")
            written = export_snapshot(snapshots, full, manifest, folder,
                                      licence.group(1).strip() if licence else "other")  # fmt: skip
            tally.bytes_written += sum(p.stat().st_size for p in written)
        except SnapshotNotFound:
            for shard in shards:
                found = scrub(shard.name, shard.read_bytes(), footprint)
                if found.erased:
                    _atomic_write(shard, found.data)
                    tally.bytes_written += len(found.data)
    return tally


def _atomic_write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def _snapshot_scrub(
    footprint: Footprint, seen: dict[str, Any]
) -> Callable[[str, str, Callable[[], bytes]], tuple[bytes | None, int] | None]:
    def scrub_file(path: str, digest: str, read: Callable[[], bytes]) -> Any:
        if path.lower().endswith(PHOTO_SUFFIXES):  # a photo is the subject's by name or hash
            mine = footprint.names_key(path) or digest in footprint.contents
            return (None, 1) if mine else None
        found = seen.get(digest) or scrub(path, read(), footprint)
        if not found.erased:
            return None
        return (None if found.removed else found.data), found.erased

    return scrub_file


def _erase_snapshots(
    places: Places, footprint: Footprint, record: dict[str, Any], seen: dict[str, Any]
) -> dict[str, Any]:
    from fsdl_data.core.versioning.erasure import erase_from_snapshots
    from fsdl_data.core.versioning.store import SnapshotStore

    done = erase_from_snapshots(
        SnapshotStore(places.lake), _snapshot_scrub(footprint, seen),
        lambda record: not footprint.names_key(str(record.get("key", ""))), record,
    )  # fmt: skip
    rows = sum(r["rows"] for r in done.rewritten)
    return {**done.as_dict(), "rows": rows, "files": len(done.rewritten)}


def _erase_online(places: Places, footprint: Footprint) -> dict[str, int]:
    if places.online is None:
        return {"rows": 0}
    users = places.online.forget("user", [str(u) for u in sorted(footprint.users)])
    photos = places.online.forget("photo", [str(p) for p in sorted(footprint.photos)])
    return {"rows": users + photos}


def _erase_app_db(places: Places, footprint: Footprint) -> dict[str, int]:
    if places.app_db is None:
        return {"rows": 0}
    from fsdl_data.core.storage.appdb import photos, users

    db = places.app_db
    gone = db.delete_in(photos, "photo_id", sorted(footprint.photos)) if footprint.photos else 0
    if footprint.users:
        gone += db.delete_in(photos, "user_id", sorted(footprint.users))
        gone += db.delete_in(users, "user_id", sorted(footprint.users))
    return {"rows": gone}


# --- the whole erasure -----------------------------------------------------------------------
def forget(subject: Subject, places: Places, reason: str,
           now: Callable[[], datetime] = lambda: datetime.now(UTC),
           progress: Callable[[str], None] = lambda place: None) -> dict[str, Any]:  # fmt: skip
    """Erases `subject` from every place; returns the erasure report (also stored in the lake).
    Resumes an erasure of the same subject a crash interrupted. Raises NothingToErase when the
    subject is nowhere and was never erased, PlaceUnreachable when a service does not answer
    (before anything is erased, or, midway, with the journal left to resume)."""
    _probe_all(places)
    pending = [r for r in reports(places.lake, subject) if r["state"] == "running"]
    if pending:
        journal = pending[-1]
        footprint = Footprint.from_dict(journal["footprint"])
    else:
        footprint = footprint_of(subject, places)
        started = now().isoformat()
        erasure_id = sha256(f"{subject.digest} {started}".encode())[:16]
        journal = {"erasure": erasure_id, "subject": {"kind": subject.kind,
                   "digest": subject.digest}, "reason": reason, "started": started,
                   "state": "running", "footprint": footprint.as_dict(), "places": {}}  # fmt: skip
        places.lake.put(erasure_key(erasure_id), canonical_json(journal))
    journal_bytes = len(canonical_json(journal))
    record = {"erasure": journal["erasure"], "at": journal["started"],
              "reason": journal["reason"], "subject": subject.digest}  # fmt: skip
    exports = _export_folders(places)
    skipped = LAKE_SKIPPED + _under(places.lake, exports)
    seen: dict[str, Any] = {}  # the lake's files' outcomes by hash, for the snapshots' copies
    steps: dict[str, Callable[[], dict[str, Any]]] = {
        "lake": lambda: _erase_store(places.lake, footprint, skipped, seen=seen)[0].as_dict(),
        "snapshots": lambda: _erase_snapshots(places, footprint, record, seen),
        "exports": lambda: _erase_exports(places, footprint).as_dict(),
        "objects": lambda: _erase_store(places.objects, footprint,
                                        _under(places.objects, exports))[0].as_dict(),
        "online": lambda: _erase_online(places, footprint),
        "app_db": lambda: _erase_app_db(places, footprint),
    }  # fmt: skip
    for place in PLACES:
        if place in journal["places"]:
            continue  # done before a crash
        progress(place)
        try:
            journal["places"][place] = steps[place]()
        except Exception as error:
            if not unreachable(error) or place not in PLACE_NAMES:
                raise
            done = ", ".join(p for p in PLACES if p in journal["places"]) or "nothing"
            raise PlaceUnreachable(
                f"cannot reach {PLACE_NAMES[place][0]} ({error.__class__.__name__}): erasure "
                f"{journal['erasure']} stopped there, with {done} erased; start it (or set "
                f"{PLACE_NAMES[place][1]}), then run the same command again: it resumes there"
            ) from None
        body = canonical_json(journal)
        places.lake.put(erasure_key(journal["erasure"]), body)
        journal_bytes += len(body)
    erased = sum(p.get("rows", 0) for p in journal["places"].values())
    earlier = [r for r in reports(places.lake, subject) if r["state"] == "done"]
    if not erased and not pending:
        places.lake.delete(erasure_key(journal["erasure"]))
        if earlier:
            return {**earlier[-1], "already": True}
        raise NothingToErase(
            f"{subject} is nowhere (the lake, its snapshots, the object store, the online store, "
            'the app database) and was never erased: check the id (`fsdl-data sql "SELECT '
            'user_id, photo_id FROM photo_metadata"` lists them)'
        )
    report = {**journal, "state": "done", "finished": now().isoformat(),
              "footprint": _digests(footprint), "rows": erased,
              "bytes_written": sum(p.get("bytes_written", 0) for p in journal["places"].values()),
              "metadata_bytes": journal["places"]["snapshots"].get("metadata_bytes", 0)
              + journal_bytes,  # new manifests, listings, tombstones, pack indexes, the journal
              "store_bytes": _store_bytes(places)}  # fmt: skip
    places.lake.put(erasure_key(journal["erasure"]), canonical_json(report))
    lake = places.lake
    if supports(lake, Capability.VERSION_PURGE) and lake.versioned():  # type: ignore[attr-defined]
        lake.purge_versions(erasure_key(journal["erasure"]))  # type: ignore[attr-defined]
    return report


def _probe_all(places: Places) -> None:
    for place, service in (("app_db", places.app_db), ("online", places.online)):
        if service is not None:
            probe(place, service)


def _digests(footprint: Footprint) -> dict[str, Any]:
    """What the report keeps of a footprint: counts, and digests a verify can recognise."""
    return {"users": len(footprint.users), "photos": len(footprint.photos),
            "photo_digests": sorted(Subject("photo", p).digest for p in footprint.photos),
            "key_digests": sorted(sha256(k.encode()) for k in footprint.keys),
            "contents": sorted(footprint.contents)}  # fmt: skip


def _store_bytes(places: Places) -> int:
    return sum(o.size for store in (places.lake, places.objects) for o in store.list(""))


# --- proving it gone -------------------------------------------------------------------------
def verify_forgotten(subject: Subject, places: Places) -> dict[str, int]:
    """Occurrences of the subject left in every place (all zero after a complete erasure). The
    subject's photos are found as they are now, and, for an earlier erasure, by the digests its
    report kept: any photo id or key still anywhere whose digest is one of them counts."""
    from fsdl_data.core.versioning.store import SnapshotStore

    _probe_all(places)
    footprint = footprint_of(subject, places)
    erased = [r for r in reports(places.lake, subject) if r["state"] == "done"]
    photo_digests = {d for r in erased for d in r["footprint"].get("photo_digests", ())}
    key_digests = {d for r in erased for d in r["footprint"].get("key_digests", ())}
    snapshots = SnapshotStore(places.lake)
    if photo_digests or key_digests:
        photos, keys = _candidates(places, snapshots)
        footprint = Footprint(
            footprint.users,
            footprint.photos | {p for p in photos if Subject("photo", p).digest in photo_digests},
            footprint.keys | {k for k in keys if sha256(k.encode()) in key_digests},
            footprint.contents | {d for r in erased for d in r["footprint"].get("contents", ())},
        )
    exports = _export_folders(places)
    found = {
        "lake": _erase_store(places.lake, footprint, LAKE_SKIPPED + _under(places.lake, exports),
                             write=False)[0].rows,
        "exports": _erase_exports(places, footprint, write=False).rows,
        "snapshots": _count_snapshots(snapshots, footprint),
        "objects": _erase_store(places.objects, footprint, _under(places.objects, exports),
                                write=False)[0].rows,
        "online": _count_online(places, footprint),
        "app_db": _count_app_db(places, footprint),
    }  # fmt: skip
    return found


def _candidates(places: Places, snapshots: Any) -> tuple[set[int], set[str]]:
    """Every photo id and photo key anywhere (to match against an erasure's digests)."""
    import polars as pl

    photos: set[int] = set()
    keys = {o.key for o in places.objects.list("")}

    def collect(data: bytes) -> None:
        schema = pl.read_parquet_schema(io.BytesIO(data))
        wanted = [c for c in ("photo_id", "key", "object_key") if c in schema]
        if not wanted:
            return
        frame = pl.read_parquet(io.BytesIO(data), columns=wanted)
        if "photo_id" in frame.columns and frame.schema["photo_id"].is_integer():
            photos.update(frame["photo_id"].drop_nulls().unique().to_list())
        for column in ("key", "object_key"):
            if column in frame.columns and frame.schema[column] == pl.String:
                keys.update(frame[column].drop_nulls().unique().to_list())

    for _, data in _parquet_files(places.lake, LAKE_SKIPPED):
        collect(data)
    for digest, path in _snapshot_files(snapshots).items():
        if path.endswith(".parquet"):
            collect(snapshots.get_blob(digest))
    return photos, keys


def _snapshot_files(snapshots: Any) -> dict[str, str]:
    """Every distinct file of every snapshot: its hash -> one path it has."""
    files: dict[str, str] = {}
    for name, snapshot_id in snapshots.ids():
        for entry in snapshots.read(snapshot_id, name).files:
            files.setdefault(entry.sha256, entry.path)
    return files


def _sniffed_path(data: bytes) -> str:
    """A name for a stored blob no manifest names (so `scrub` knows what it holds)."""
    if data[:4] == b"PAR1":
        return "blob.parquet"
    if data[:2] == b"\x1f\x8b":
        return "blob.jsonl.gz"
    if data[:1] in (b"[", b"{"):
        return "blob.json"
    return "blob.jpg"  # recognised by its content digest, if it is the subject's photo


def _count_snapshots(snapshots: Any, footprint: Footprint) -> int:
    """Occurrences in every stored blob, loose or packed, named by a manifest or not (an
    orphan a gc has not collected yet counts too), and a pack's hole not zeroed yet."""
    from fsdl_data.core.versioning.erasure import unfilled_holes

    found = 0
    named = _snapshot_files(snapshots)
    for digest in sorted(snapshots.blob_sizes(), key=lambda d: (snapshots.holder(d), d)):
        data = snapshots.get_blob(digest)
        path = named.get(digest) or _sniffed_path(data)
        found += scrub(path, data, footprint, write=False).erased
    for name, snapshot_id in snapshots.ids():
        manifest = snapshots.read(snapshot_id, name)
        found += sum(footprint.names_key(str(o.get("key", ""))) for o in manifest.objects)
    return found + (unfilled_holes(snapshots) > 0) + _stale_caches(snapshots)


def _stale_caches(snapshots: Any) -> int:
    """Stat caches and folder indexes that describe a snapshot an erasure replaced: they list
    its files (paths, hashes, a raw-object table's keys), so the erasure deletes them."""
    from fsdl_data.core.versioning import folder_index
    from fsdl_data.core.versioning.store import ROOT

    live = {snapshot_id for _, snapshot_id in snapshots.ids()}
    stale = 0
    for listed in snapshots.store.list(f"{ROOT}/cache/"):
        with contextlib.suppress(ObjectNotFound, ValueError):
            body = snapshots.store.get(listed.key)
            if listed.key.endswith(".json"):
                described = json.loads(body).get("id")
            else:
                index = folder_index.decode(body)
                described = index.snapshot if index is not None else None
            stale += described is not None and described not in live
    return stale


def _count_online(places: Places, footprint: Footprint) -> int:
    if places.online is None:
        return 0
    users = places.online.records("user", [str(u) for u in sorted(footprint.users)])
    photos = places.online.records("photo", [str(p) for p in sorted(footprint.photos)])
    return len(users) + len(photos)


def _count_app_db(places: Places, footprint: Footprint) -> int:
    if places.app_db is None:
        return 0
    from fsdl_data.core.storage.appdb import photos, users

    with places.app_db.engine.connect() as conn:
        found = 0
        for table, column, ids in ((photos, "photo_id", footprint.photos),
                                   (photos, "user_id", footprint.users),
                                   (users, "user_id", footprint.users)):  # fmt: skip
            if ids:
                query = table.select().where(table.c[column].in_(sorted(ids)))
                found += len(conn.execute(query).fetchall())
        return found
