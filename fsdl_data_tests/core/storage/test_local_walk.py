"""The local folder walker under concurrent deletes: a listing is a moment, not a lock."""

import os
from pathlib import Path

import pytest

from fsdl_data.core.storage.backends import local
from fsdl_data.core.storage.backends.local import LocalObjectStore, walk


class _Vanishing:
    """A directory entry whose file is deleted between the folder read and its stat."""

    def __init__(self, entry: os.DirEntry) -> None:
        self._entry = entry
        self.name, self.path = entry.name, entry.path

    def is_dir(self, follow_symlinks: bool = True) -> bool:
        return self._entry.is_dir(follow_symlinks=follow_symlinks)

    def stat(self, follow_symlinks: bool = True) -> os.stat_result:
        os.unlink(self.path)
        return self._entry.stat(follow_symlinks=follow_symlinks)


class _Folder:
    def __init__(self, entries: list[os.DirEntry], doomed: str) -> None:
        self._entries = entries
        self._doomed = doomed

    def __iter__(self):
        return iter(_Vanishing(e) if e.name == self._doomed else e for e in self._entries)

    def __enter__(self) -> "_Folder":
        return self

    def __exit__(self, *_: object) -> None:
        return None


@pytest.mark.parametrize("doomed", ["a.json", "c.json"])
def test_a_file_deleted_while_listing_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doomed: str
) -> None:
    for name in ("a.json", "b.json", "c.json"):
        (tmp_path / "leases").mkdir(exist_ok=True)
        (tmp_path / "leases" / name).write_bytes(b"{}")
    real = os.scandir
    monkeypatch.setattr(
        local.os, "scandir",
        lambda path: _Folder(list(real(path)), doomed) if str(path).endswith("leases") else real(path),
    )  # fmt: skip
    keys = [key for key, _, _ in walk(str(tmp_path), "leases/")]
    expected = [f"leases/{n}" for n in ("a.json", "b.json", "c.json") if n != doomed]
    assert keys == expected
    assert [o.key for o in LocalObjectStore(tmp_path).list("leases/")] == expected


# The shared walk forks, so it is tried only where no other thread runs: not in this test
# process (servers and progress monitors of other tests linger), so in a fresh one each time.
WALKS = """
import json, os, sys
from fsdl_data.core.storage.backends import local
root = sys.argv[1]
def walked(processes, below=lambda key: True):
    warnings = []
    found = local.walk_folders(root, file_links=False, warn=warnings.append,
                               processes=processes, below=below)
    return sorted(found), sorted(warnings)
caller = os.getpid()
def refusing(key):
    if os.getpid() != caller:
        raise PermissionError(f"cannot read {key}")
    return True
try:
    walked(2, refusing)
    error = None
except PermissionError as e:
    error = str(e)
early = local.walk_folders(root, processes=2)
next(early), next(early)  # the root, then a first folder: the children are running
early.close()
try:
    os.waitpid(-1, os.WNOHANG)
    left = True
except ChildProcessError:
    left = False  # every listing process was waited for
print(json.dumps({"can_fork": local._can_fork(), "alone": walked(1), "two": walked(2),
                  "three": walked(3), "error": error, "left": left}))
"""


def _walks(root: Path) -> dict:
    """What the walks of WALKS find under `root`, in a fresh process."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", WALKS, str(root)], capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])})  # fmt: skip
    return json.loads(done.stdout)


def _folders(root: Path, count: int) -> None:
    """`count` folders, each with files, a subfolder with one, and a FIFO (never listed)."""
    for i in range(count):
        folder = root / f"d{i:02d}"
        (folder / "inner").mkdir(parents=True)
        for j in range(3):
            (folder / f"f{j}.bin").write_bytes(bytes([i, j]) * (j + 1))
        (folder / "inner" / "deep.bin").write_bytes(b"deep")
        os.mkfifo(folder / "pipe")


def test_a_walk_shared_among_processes_lists_and_warns_as_one_process_does(
    tmp_path: Path,
) -> None:
    count = local.FORK_MIN_FOLDERS + 5
    _folders(tmp_path, count)
    found = _walks(tmp_path)
    assert found["can_fork"]  # else no shared walk was tried
    folders, warnings = found["alone"]
    assert len(folders) == 1 + 2 * count
    assert len(warnings) == count  # one FIFO a folder, each told once
    assert found["two"] == found["alone"] and found["three"] == found["alone"]
    assert [key for key, _, _ in walk(str(tmp_path), "d03/")] == [
        "d03/f0.bin", "d03/f1.bin", "d03/f2.bin", "d03/inner/deep.bin",
    ]  # fmt: skip


def test_an_error_in_a_listing_process_is_raised_in_the_caller(tmp_path: Path) -> None:
    _folders(tmp_path, local.FORK_MIN_FOLDERS)
    assert _walks(tmp_path)["error"].startswith("cannot read d")


def test_a_shared_walk_stopped_early_leaves_no_process_behind(tmp_path: Path) -> None:
    _folders(tmp_path, local.FORK_MIN_FOLDERS)
    assert _walks(tmp_path)["left"] is False
