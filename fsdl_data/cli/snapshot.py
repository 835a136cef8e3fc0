"""`fsdl-data snapshot add|status|list|show|diff|checkout|verify|gc`: versioned data, DVC-style.

Snapshots live in the lake's snapshot store (FSDL_LAKE_URL: a local folder or an S3 prefix).
Folders and object-store prefixes are snapshotted with `add`; the graph snapshots its tables
(training_set, labeled_set, raw_photos) every night. Imports stay lazy and polars-free on the
folder paths, so `status` answers in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fsdl_data.cli import _common


def _store() -> Any:
    """The lake's snapshot store, opened without the lake itself (whose import brings polars:
    `snapshot status` and `add` of a folder must start fast)."""
    from fsdl_data.core.versioning.store import SnapshotStore

    return SnapshotStore(_common.open_store(_common.settings().lake_url))


def warn(message: str) -> None:
    print(f"fsdl-data: warning: {message}", file=sys.stderr)


def _folder(path_or_url: str) -> Path | None:
    """The local folder a source names (a path, file:// or a local store), else None."""
    if "://" not in path_or_url:
        return Path(path_or_url)
    from fsdl_data.core.storage.objects import local_root
    from fsdl_data.core.storage.urls import parse_location

    if parse_location(path_or_url).scheme == "file":
        return Path(parse_location(path_or_url).path)
    return local_root(_common.open_store(path_or_url))


def _source(path_or_url: str) -> tuple[Any, Any, int]:
    """(files as listed, read function, threads to read with) of a local folder or an
    object-store URL; what cannot be snapshotted (special files, links, unusable keys) is
    skipped with a warning."""
    from fsdl_data.core.versioning import snapshots

    if "://" in path_or_url:
        from fsdl_data.core.storage.objects import Capability, supports
        from fsdl_data.core.storage.urls import parse_location

        location = parse_location(path_or_url)
        if location.scheme == "file":  # a folder: checked before a store would create it
            return _source(location.path)
        store = _common.open_store(path_or_url)
        if supports(store, Capability.LOCAL_PATHS):  # a folder: walked without following links
            return _source(store.local_path(""))
        files = list(snapshots.object_files(store, "", warn))
        return files, snapshots.object_reader(store, ""), 8
    root = Path(path_or_url)
    if not root.is_dir():
        raise FileNotFoundError(
            f"{path_or_url} is not a folder (give a folder, s3://bucket/prefix or file://path)"
        )
    return list(snapshots.local_files(root, warn)), snapshots.local_reader(root), 1


def _progress(label: str) -> Any:
    """A progress bar on a terminal; nothing (not even tqdm's import) in a pipe or a log."""
    if not sys.stderr.isatty():
        return lambda items: items
    from tqdm import tqdm

    return lambda items: tqdm(items, desc=label, unit="file", leave=False)


def add(path_or_url: str, name: str) -> int:
    from fsdl_data.core.versioning.store import Manifest, check_user_name

    check_user_name(name)
    template = Manifest(name=name, kind="folder", files=(), source=str(path_or_url))
    root = _folder(path_or_url)
    if root is not None:  # a local folder: taken folder by folder, with its folder index
        from fsdl_data.core.versioning.folder_index import take_folder

        if not root.is_dir():
            raise FileNotFoundError(
                f"{path_or_url} is not a folder (give a folder, s3://bucket/prefix or file://path)"
            )
        taken = take_folder(_store(), template, root, warn, _progress(f"snapshot {name}"))
    else:
        from fsdl_data.core.versioning.snapshots import take

        files, read, threads = _source(path_or_url)
        if not files:
            raise FileNotFoundError(f"{path_or_url} holds no files to snapshot")
        taken = take(_store(), template, files, read, read_threads=threads,
                     progress=_progress(f"snapshot {name}"))  # fmt: skip
    assert taken is not None
    print(f"{taken.snapshot_id[:12]}  {name}: {len(taken.manifest.files)} files, "
          f"{taken.manifest.total_bytes:,} bytes ({taken.read} read, {taken.reused} unchanged)")  # fmt: skip
    return 0


def status(name: str, path_or_url: str) -> int:
    from fsdl_data.core.versioning import folder_index, snapshots

    store = _store()
    root = _folder(path_or_url)
    recorded = None
    if root is not None and root.is_dir():
        recorded = folder_index.read(store.store, name, store.manifests.newest_id(name))
    if recorded is not None:
        found = folder_index.changes(str(root), recorded, warn)
        return _print_status(name, found)
    cached = store.cached_files(name)
    if not cached:
        found = store.latest(name)
        if found is None:
            raise LookupError(
                f"no snapshot named {name!r}: take one with `fsdl-data snapshot add {path_or_url} --name {name}`"
            )
        cached = {f.path: f for f in found[1].files}  # no fingerprints: every file is hashed
    files, read, _ = _source(path_or_url)
    return _print_status(name, snapshots.status(cached, files, read))


def _print_status(name: str, found: Any) -> int:
    for label, paths in (
        ("added", found.added),
        ("removed", found.removed),
        ("modified", found.modified),
    ):
        for path in paths:
            print(f"{label:9s} {path}")
    summary = (
        f"{len(found.added)} added, {len(found.removed)} removed, {len(found.modified)} modified"
    )
    print(f"{name}: {'up to date' if found.clean else summary} against its newest snapshot")
    return 0


def show_list(name: str | None = None) -> int:
    store = _store()
    refs = store.history(name)
    if not refs:
        print("no snapshots yet" + (f" named {name!r}" if name else ""))
        return 0
    print(
        f"{'id':12s}  {'name':14s} {'kind':6s} {'files':>6s} {'rows':>9s} {'bytes':>12s}  written"
    )
    for ref in refs:
        m = store.read(ref.id, ref.name)
        rows = f"{m.row_count:,}" if m.kind == "table" else "-"
        written = ref.written.isoformat(timespec="seconds") if ref.written else "-"
        print(
            f"{ref.id[:12]}  {ref.name:14s} {m.kind:6s} {len(m.files):6d} {rows:>9s} {m.total_bytes:12,d}  {written}"
        )
    return 0


def show(snapshot_id: str, objects: bool = False) -> int:
    from fsdl_data.core.versioning.describe import manifest_lines, object_lines

    _, full, m = _store().open_snapshot(snapshot_id)
    lines = object_lines(m) if objects else manifest_lines(full, m)
    for line in lines:
        print(line)
    return 0


def diff(a: str, b: str) -> int:
    from fsdl_data.core.versioning.diff import COERCION, check_comparable, diff_files, diff_tables
    from fsdl_data.core.versioning.snapshots import load_table

    store = _store()
    old, new = store.open_snapshot(a)[2], store.open_snapshot(b)[2]
    check_comparable(old, new)
    files = diff_files(old, new)
    print(
        f"files: {len(files.added)} added, {len(files.removed)} removed, {len(files.changed)} changed"
    )
    for label, paths in (
        ("added", files.added),
        ("removed", files.removed),
        ("changed", files.changed),
    ):
        for path in paths[:20]:
            print(f"  {label:8s} {path}")
    if old.kind == new.kind == "table" and old.key:
        label = old.extra.get("label_column")
        rows = diff_tables(load_table(store, old), load_table(store, new), list(old.key), label)
        if rows.added_columns or rows.removed_columns or rows.retyped_columns:
            print("schema:")
            for column in rows.added_columns:
                print(f"  added    {column} {new.schema.get(column, '')}".rstrip())
            for column in rows.removed_columns:
                print(f"  removed  {column} {old.schema.get(column, '')}".rstrip())
            for column, (was, now) in rows.retyped_columns.items():
                print(f"  retyped  {column} {was} -> {now}")
            print(f"  rows compared on the common columns; {COERCION}")
        print(f"rows by {', '.join(rows.key)}: {rows.added_rows} added, {rows.removed_rows} removed, "
              f"{rows.changed_rows} changed, {rows.unchanged_rows} unchanged")  # fmt: skip
        for column, count in sorted(rows.changed_by_column.items(), key=lambda kv: -kv[1]):
            print(f"  {column}: {count} rows changed")
        if rows.label_column:
            print(f"label flips ({rows.label_column}): {rows.label_flips}")
    return 0


def checkout(snapshot_id: str, folder: str) -> int:
    from fsdl_data.core.versioning.snapshots import checkout as restore

    store = _store()
    name, full, manifest = store.open_snapshot(snapshot_id)
    count = restore(store, manifest, Path(folder))
    print(f"checked out {full[:12]} ({name}): {count} files into {folder}")
    return 0


def verify(snapshot_id: str | None = None) -> int:
    store = _store()
    ids = [store.open_snapshot(snapshot_id)[1]] if snapshot_id else None
    problems = store.verify(ids)
    for p in problems:
        print(f"{p.what:8s} blob {p.blob} ({p.path} in snapshot {p.snapshot[:12]})")
    checked = len(ids) if ids else len(list(store.ids()))
    print(
        f"{checked} snapshots verified: "
        + ("all blobs intact" if not problems else f"{len(problems)} problems")
    )
    return 0 if not problems else 2


def gc(keep: int, name: str | None = None) -> int:
    from fsdl_data.core.versioning.snapshots import snapshots_models_name

    pinned = snapshots_models_name(_common.lake())
    dropped, blobs = _store().gc(keep, name, pinned)
    print(f"removed {len(dropped)} snapshots and {len(blobs)} blobs no kept snapshot names "
          f"(kept too: every snapshot a trained model names, {len(pinned)})")  # fmt: skip
    return 0


REF_HELP = "a snapshot id (or a unique prefix), a snapshot name (its newest) or `latest`"


def register(verbs: argparse._SubParsersAction) -> None:
    group = verbs.add_parser("snapshot", help="versioned snapshots of tables and folders")
    sub = group.add_subparsers(dest="snapshot_verb", required=True)
    p = sub.add_parser("add", help="snapshot a local folder or an object-store prefix")
    p.add_argument(
        "path", metavar="PATH_OR_URL", help="a folder, s3://bucket/prefix or file://path"
    )
    p.add_argument("--name", required=True, help="the snapshot's name (letters, digits, - _ .)")
    p.set_defaults(handler=lambda a: add(a.path, a.name))
    p = sub.add_parser(
        "status", help="added, removed and modified files against the newest snapshot"
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("path", metavar="PATH_OR_URL")
    p.set_defaults(handler=lambda a: status(a.name, a.path))
    p = sub.add_parser("list", help="every snapshot, oldest first")
    p.add_argument("--name", default=None, help="only this name's")
    p.set_defaults(handler=lambda a: show_list(a.name))
    p = sub.add_parser("show", help="what a snapshot holds")
    p.add_argument("id", metavar="ID", help=REF_HELP)
    p.add_argument("--objects", action="store_true",
                   help="list every file or object, one a line: key, size, SHA-256, ETag, VersionId")  # fmt: skip
    p.set_defaults(handler=lambda a: show(a.id, a.objects))
    p = sub.add_parser("diff", help="what changed between two snapshots (rows, for tables)")
    p.add_argument("a", metavar="A", help=REF_HELP)
    p.add_argument("b", metavar="B", help=REF_HELP)
    p.set_defaults(handler=lambda a: diff(a.a, a.b))
    p = sub.add_parser("checkout", help="restore a snapshot's files, byte for byte, into a folder")
    p.add_argument("id", metavar="ID", help=REF_HELP)
    p.add_argument("folder", metavar="DIR", help="a new or empty folder (written atomically)")
    p.set_defaults(handler=lambda a: checkout(a.id, a.folder))
    p = sub.add_parser("verify", help="re-hash blobs; name every missing or corrupt one")
    p.add_argument("id", metavar="ID", nargs="?", default=None, help="one snapshot (default: all)")
    p.set_defaults(handler=lambda a: verify(a.id))
    p = sub.add_parser("gc", help="delete old snapshots and the blobs only they name")
    p.add_argument("--keep", type=int, required=True, help="snapshots of each name to keep")
    p.add_argument("--name", default=None, help="collect only this name's old snapshots")
    p.set_defaults(handler=lambda a: gc(a.keep, a.name))
