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
