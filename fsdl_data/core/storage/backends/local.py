"""The local-folder backend (file://), and the one folder walker.

A local object's fingerprint is its size and modification time in nanoseconds: no inode, so a
copy or a restore that keeps times (`cp -a`, `shutil.copytree`, rsync -t) lists the same
fingerprints and nothing is taken for changed. A `put` always moves the time forward, so two
writes of the same size within one clock tick still give two fingerprints.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from fsdl_data.core.storage.objects import TMP_PREFIX, Capability, Listed, ObjectNotFound, check_key


def fingerprint(info: os.stat_result) -> str:
    """A local file's fingerprint: size and mtime (ns), both kept by a copy that keeps times."""
    return f"{info.st_size}:{info.st_mtime_ns}"


def fingerprint_parts(text: str) -> tuple[int, int]:
    """(size, mtime ns) of a fingerprint `fingerprint` made."""
    size, _, time_ns = text.partition(":")
    return int(size), int(time_ns)


def listed(key: str, info: os.stat_result, etag: str | None = None) -> Listed:
    return Listed(
        key,
        fingerprint(info),
        datetime.fromtimestamp(info.st_mtime_ns / 1e9, UTC),
        info.st_size,
        etag,
    )


def kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISLNK, "a symbolic link")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


Warn = Callable[[str], None]


def scan(
    path: str, key: str, *, file_links: bool = True, warn: Warn | None = None
) -> tuple[list[tuple[str, str, os.stat_result]], list[tuple[str, str]]]:
    """One folder's files and subfolders, unsorted: ([(name, path, stat)], [(path, key)]).
    Temporary names are skipped; links to folders are never followed; links to files are kept
    with `file_links` (the store refuses to read one that leads out of its root) and skipped
    without it; special files (FIFOs, sockets, devices) are never kept: reading one could
    block. What is skipped is told to `warn`, when given. A folder that is gone is empty."""
    files: list[tuple[str, str, os.stat_result]] = []
    folders: list[tuple[str, str]] = []
    try:
        entries = os.scandir(path)
    except (FileNotFoundError, NotADirectoryError):
        return files, folders
    with entries:
        for entry in entries:
            name = entry.name
            if name.startswith(TMP_PREFIX):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append((entry.path, f"{key}/{name}" if key else name))
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # deleted since the folder was read: not listed
                continue
            mode = info.st_mode
            if stat.S_ISREG(mode):
                files.append((name, entry.path, info))
                continue
            shown = f"{key}/{name}" if key else name
            if stat.S_ISLNK(mode):
                if not file_links:
                    if warn:
                        warn(f"skipped {shown}: a symbolic link (links are not followed)")
                elif not entry.is_dir():  # a link to a folder: never walked
                    files.append((name, entry.path, info))
            elif warn:
                warn(f"skipped {shown}: {kind(mode)}, never read")
    return files, folders


def walk_folders(
    root: str,
    *,
    file_links: bool = True,
    warn: Warn | None = None,
    threads: int = 1,
    start: str = "",
    below: Callable[[str], bool] = lambda key: True,
) -> Iterator[tuple[str, str, list[tuple[str, str, os.stat_result]]]]:
    """(key, path, files as `scan` lists them) of every folder under `root` (from the folder
    `start`, walking only into folders whose key `below` accepts), level by level: the one folder
    walker. With `threads` > 1, the folders of a level are scanned at once (a stat waits in
    the kernel without the GIL: measured faster on 200,000 files)."""
    root = os.path.abspath(root)
    level = [(os.path.join(root, start) if start else root, start)]
    pool = None
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(threads)
    try:
        while level:

            def one(folder: tuple[str, str]) -> tuple[Any, ...]:
                return folder, scan(folder[0], folder[1], file_links=file_links, warn=warn)

            scanned = list(pool.map(one, level) if pool and len(level) > 1 else map(one, level))
            level = []
            for (path, key), (files, folders) in scanned:
                yield key, path, files
                level += [f for f in folders if below(f[1])]
    finally:
        if pool is not None:
            pool.shutdown()


def walk(
    root: str,
    prefix: str = "",
    *,
    file_links: bool = True,
    warn: Warn | None = None,
) -> list[tuple[str, str, os.stat_result]]:
    """(key, path, stat) of every file under `root` whose key starts with `prefix`, sorted by
    key (the local store's listing, folder snapshots' general path), by `walk_folders`."""
    start = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    folders = walk_folders(root, file_links=file_links, warn=warn, start=start,
                           below=lambda key: key.startswith(prefix[: len(key)]))  # fmt: skip
    found = [
        (f"{key}/{name}" if key else name, path, info)
        for key, _, files in folders
        for name, path, info in files
    ]
    if prefix:
        found = [item for item in found if item[0].startswith(prefix)]
    found.sort(key=lambda item: item[0])
    return found


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


class LocalObjectStore:
    """Objects as files under a root folder; the ETag a read reports is the MD5 of the content,
    as on S3."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.LOCAL_PATHS})

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = f"file://{self.root}"
        self._root = str(self.root)

    @classmethod
    def from_location(cls, location: Any, **options: Any) -> LocalObjectStore:
        if options:
            raise ValueError(f"a file:// store takes no options, got {sorted(options)}")
        return cls(location.path)

    def _path(self, key: str) -> str:
        return os.path.join(self._root, check_key(key))  # strings, not Paths: this is hot

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}")
        try:
            try:
                _write(tmp, data)
            except FileNotFoundError:  # its folder is new
                os.makedirs(folder, exist_ok=True)
                _write(tmp, data)
            _after_previous(tmp, path, len(data))
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _readable(self, key: str) -> str:
        path = self._path(key)
        real = os.path.realpath(path)
        if real != path and not real.startswith(self._root + os.sep):
            raise ValueError(f"key {key!r} is a link that leads out of the store: refused")
        return real

    def get(self, key: str, *, with_info: bool = False) -> Any:
        real = self._readable(key)
        try:
            with open(real, "rb") as handle:
                data = handle.read()
                info = os.fstat(handle.fileno()) if with_info else None
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        if info is None:
            return data
        return data, listed(key, info, hashlib.md5(data).hexdigest())

    def head(self, key: str) -> Listed | None:
        """What a listing shows of the object (no ETag: that would read the file)."""
        try:
            info = os.stat(self._readable(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return listed(key, info) if stat.S_ISREG(info.st_mode) else None

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[Listed]:
        """Objects under `prefix` in key order (after `start_after`), from the file system alone:
        no file is read, so the ETag is left unset."""
        for key, _, info in walk(self._root, prefix):
            if start_after is None or key > start_after:
                yield listed(key, info)

    def folders(self, prefix: str) -> list[str]:
        """The names of the folders directly under `prefix` (which ends in '/'), sorted."""
        path = os.path.join(self._root, prefix.rstrip("/")) if prefix.strip("/") else self._root
        try:
            with os.scandir(path) as entries:
                return sorted(
                    e.name
                    for e in entries
                    if e.is_dir(follow_symlinks=False) and not e.name.startswith(TMP_PREFIX)
                )
        except (FileNotFoundError, NotADirectoryError):
            return []

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def uri(self, key: str) -> str:
        return f"{self.url}/{key}"

    def local_path(self, key: str) -> str:
        """Where `key` (or a glob of keys) is on this machine."""
        return os.path.join(self._root, key)


def _after_previous(tmp: str, path: str, size: int) -> None:
    """Moves the new file's mtime past the one it replaces when both have the same size, so the
    fingerprint (size, mtime) of a rewrite always changes, even within one clock tick."""
    try:
        old = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return
    if old.st_size != size:
        return
    new = os.stat(tmp)
    if new.st_mtime_ns <= old.st_mtime_ns:
        os.utime(tmp, ns=(new.st_atime_ns, old.st_mtime_ns + 1))
