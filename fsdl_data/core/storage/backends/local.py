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
import signal
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
    return listed_file(key, info.st_size, info.st_mtime_ns, etag)


def listed_file(key: str, size: int, time_ns: int, etag: str | None = None) -> Listed:
    """What a listing shows of a file the walker listed as (size, mtime ns)."""
    return Listed(key, f"{size}:{time_ns}", datetime.fromtimestamp(time_ns / 1e9, UTC), size, etag)


def kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISLNK, "a symbolic link")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


Warn = Callable[[str], None]
File = tuple[str, int, int]  # a file as the walker lists it: (name, size, mtime ns)
FORK_MIN_FOLDERS = 16  # a level with fewer folders is walked by this process alone


def scan(
    path: str, key: str, *, file_links: bool = True, warn: Warn | None = None
) -> tuple[list[File], list[tuple[str, str]]]:
    """One folder's files, sorted by name, and its subfolders: ([(name, size, mtime ns)],
    [(path, key)]). Temporary names are skipped; links to folders are never followed; links to
    files are kept with `file_links` (the store refuses to read one that leads out of its root)
    and skipped without it; special files (FIFOs, sockets, devices) are never kept: reading one
    could block. What is skipped is told to `warn`, when given. A folder that is gone is empty.
    A file is three values, not its stat: 200,000 of them are listed for `snapshot status`."""
    files: list[File] = []
    folders: list[tuple[str, str]] = []
    try:
        entries = os.scandir(path)
    except (FileNotFoundError, NotADirectoryError):
        return files, folders
    regular = stat.S_ISREG
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
            if regular(mode):
                files.append((name, info.st_size, info.st_mtime_ns))
                continue
            shown = f"{key}/{name}" if key else name
            if stat.S_ISLNK(mode):
                if not file_links:
                    if warn:
                        warn(f"skipped {shown}: a symbolic link (links are not followed)")
                elif not entry.is_dir():  # a link to a folder: never walked
                    files.append((name, info.st_size, info.st_mtime_ns))
            elif warn:
                warn(f"skipped {shown}: {kind(mode)}, never read")
    files.sort()  # names are unique in a folder: ordered by name alone
    return files, folders


Walked = tuple[str, str, list[File]]  # (key, path, files as `scan` lists them) of one folder


def walk_folders(
    root: str,
    *,
    file_links: bool = True,
    warn: Warn | None = None,
    processes: int = 1,
    start: str = "",
    below: Callable[[str], bool] = lambda key: True,
) -> Iterator[Walked]:
    """(key, path, files as `scan` lists them) of every folder under `root` (from the folder
    `start`, walking only into folders whose key `below` accepts), level by level: the one folder
    walker. With `processes` > 1, the first level of FORK_MIN_FOLDERS folders or more is shared
    out: each forked process walks its share's subtrees and sends them back. A listing is a
    stat per file, bound by the interpreter and the kernel: threads contend for the GIL at
    every stat (measured: more CPU, no faster), processes do not (measured: about half the
    wall time on 2 cores, 200,000 files). Folders come in no promised order."""
    root = os.path.abspath(root)
    level = [(os.path.join(root, start) if start else root, start)]
    return _walk(level, file_links, warn, below, processes)


def _walk(
    level: list[tuple[str, str]], file_links: bool, warn: Warn | None,
    below: Callable[[str], bool], processes: int = 1,
) -> Iterator[Walked]:  # fmt: skip
    """The folders of `level` and everything below them, level by level."""
    while level:
        if processes > 1 and len(level) >= FORK_MIN_FOLDERS and _can_fork():
            yield from _shared(level, processes, file_links, warn, below)
            return
        deeper = []
        for path, key in level:
            files, folders = scan(path, key, file_links=file_links, warn=warn)
            yield key, path, files
            deeper += [f for f in folders if below(f[1])]
        level = deeper


def cpus() -> int:
    """How many CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _can_fork() -> bool:
    """Whether a child process may be forked here: POSIX, and no other thread running (a fork
    copies only the calling thread; a lock another one holds would stay held in the child)."""
    import threading

    return hasattr(os, "fork") and threading.active_count() == 1


def _shared(
    level: list[tuple[str, str]], processes: int, file_links: bool, warn: Warn | None,
    below: Callable[[str], bool],
) -> Iterator[Walked]:  # fmt: skip
    """The folders of `level` and below, shared out to `processes` processes (this one too):
    each child walks its share, then sends back its folders, its warnings (told here, in
    order) and its error (raised here), if any."""
    children = [_fork(level[i::processes], file_links, warn is not None, below)
                for i in range(1, processes)]  # fmt: skip
    try:
        yield from _walk(level[0::processes], file_links, warn, below)
        while children:
            outcome, found, warnings = _receive(*children.pop(0))
            for message in warnings:
                warn(message)  # type: ignore[misc]  # a child records warnings only for a `warn`
            if outcome == "error":
                raise found
            yield from found
    finally:
        for pid, pipe in children:  # stopped early: the others are not waited for
            os.close(pipe)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _fork(
    share: list[tuple[str, str]], file_links: bool, warned: bool, below: Callable[[str], bool]
) -> tuple[int, int]:
    """(pid, read end of its pipe) of a child that walks `share` and writes back, pickled,
    ("ok", folders, warnings) or ("error", exception, warnings), then exits."""
    import pickle

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        code = 0
        try:
            os.close(read_end)
            warnings: list[str] = []
            try:
                walked = list(_walk(share, file_links, warnings.append if warned else None, below))
                body = pickle.dumps(("ok", walked, warnings), pickle.HIGHEST_PROTOCOL)
            except Exception as e:  # told to the parent, which raises it
                body = pickle.dumps(("error", e, warnings), pickle.HIGHEST_PROTOCOL)
            with open(write_end, "wb") as pipe:
                pipe.write(body)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _receive(pid: int, pipe: int) -> tuple[str, Any, list[str]]:
    """What a child walker sent; its end awaited. A child that died without an answer is an
    OSError."""
    import pickle

    try:
        with open(pipe, "rb") as reader:
            body = reader.read()
    finally:
        _, code = os.waitpid(pid, 0)
    if not body:
        raise OSError(f"a folder-listing process ended without an answer (status {code})")
    return pickle.loads(body)  # our own child's bytes, through our own pipe


def walk(
    root: str,
    prefix: str = "",
    *,
    file_links: bool = True,
    warn: Warn | None = None,
    processes: int = 1,
) -> list[File]:
    """(key, size, mtime ns) of every file under `root` whose key starts with `prefix`, sorted
    by key (the local store's listing, folder snapshots' general path), by `walk_folders`."""
    start = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    folders = walk_folders(root, file_links=file_links, warn=warn, start=start, processes=processes,
                           below=lambda key: key.startswith(prefix[: len(key)]))  # fmt: skip
    found = [
        (f"{key}/{name}" if key else name, size, time_ns)
        for key, _, files in folders
        for name, size, time_ns in files
    ]
    if prefix:
        found = [item for item in found if item[0].startswith(prefix)]
    found.sort()  # keys are unique: ordered by key alone
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
        for key, size, time_ns in walk(self._root, prefix):
            if start_after is None or key > start_after:
                yield listed_file(key, size, time_ns)

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
