"""Piece two of the snapshot store: packs, many small files stored as one blob, as in git.

    snapshots/blobs/<pack>         the files' bytes, one after another
    snapshots/packs/<pack>.json    its index: {"format": 1, "pack", "bytes", "files": {sha256:
                                   [offset, size]}}; the pack is named by the hash of its
                                   files' offsets, which name every file's hash (a Merkle node)
    snapshots/packs/<pack>.holes   the ranges an erasure took out of the pack: {"format": 1,
                                   "pack", "holes": [[offset, size], ...]}; the files at those
                                   ranges are no longer in the pack (their bytes are zeros), so
                                   an erasure writes this small file, not the whole index again

Every index carries its format version; one this code does not know is refused with a message
that says so (never misread). The index is written after its pack, so it never dangles.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from fsdl_data.core.storage.objects import ObjectNotFound
from fsdl_data.core.versioning.blobs import ROOT, Blobs, CorruptSnapshot
from fsdl_data.core.versioning.digests import canonical_json, sha256

PACK_FORMAT = 1
PACKS = f"{ROOT}/packs/"
PACK_MIN_FILES = 64  # a snapshot that reads this many small files writes them as packs
PACK_FILE_LIMIT = 1 << 20  # files up to 1 MiB go into packs; larger ones are loose blobs
PACK_TARGET = 16 << 20  # a pack is closed at about this size (one is written, one fills)
HOLES = ".holes"


def pack_key(pack: str) -> str:
    return f"{PACKS}{pack}.json"


def holes_key(pack: str) -> str:
    return f"{PACKS}{pack}{HOLES}"


def read_index(body: bytes, key: str) -> dict[str, Any]:
    """A pack index, its format checked (indexes written before formats were numbered are 1)."""
    index = json.loads(body)
    found = index.get("format", 1)
    if found != PACK_FORMAT:
        raise CorruptSnapshot(
            f"pack index {key} has format {found!r}; this fsdl-data reads pack format "
            f"{PACK_FORMAT}: upgrade fsdl-data to read this store",
            "unreadable",
        )
    return index


class Packs:
    """The pack indexes of a store, read once, and the packs they describe."""

    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs
        self._where: dict[str, tuple[str, int, int]] | None = None  # hash -> (pack, offset, size)
        self.sizes: dict[str, int] = {}  # pack -> its bytes, as its index says
        self._open: tuple[str, bytes] | None = None  # the last pack read, kept for slices

    def where(self) -> dict[str, tuple[str, int, int]]:
        """Every packed file: its hash -> (pack, offset, size), from the pack indexes."""
        if self._where is None:
            self._where = {}
            store = self.blobs.store
            keys = [o.key for o in store.list(PACKS)]
            for key in keys:
                if key.endswith(".json"):
                    self._index(read_index(store.get(key), key))
            for key in keys:
                if key.endswith(HOLES):
                    with contextlib.suppress(ObjectNotFound):  # its pack removed meanwhile
                        self._unhole(read_index(store.get(key), key))
        return self._where

    def _unhole(self, found: dict[str, Any]) -> None:
        """Leaves out the files an erasure took out of a pack (those at its holes' ranges)."""
        assert self._where is not None
        holes = {tuple(h) for h in found["holes"]}
        for digest, (pack, offset, size) in list(self._where.items()):
            if pack == found["pack"] and (offset, size) in holes:
                del self._where[digest]

    def holes(self, pack: str) -> list[tuple[int, int]]:
        """The ranges erasures took out of a pack: in its holes file, or (written by earlier
        versions) in its index."""
        store, found = self.blobs.store, set()
        for key in (pack_key(pack), holes_key(pack)):
            with contextlib.suppress(ObjectNotFound):
                found |= {tuple(h) for h in read_index(store.get(key), key).get("holes", ())}
        return sorted(found)  # type: ignore[arg-type]

    def _index(self, index: dict[str, Any]) -> None:
        assert self._where is not None
        self.sizes[index["pack"]] = index["bytes"]
        for digest, (offset, size) in index["files"].items():
            self._where.setdefault(digest, (index["pack"], offset, size))

    def write(self, files: dict[str, bytes]) -> str:
        """Stores `files` (by hash) as one pack blob, then its index; returns the pack's name."""
        offsets, offset = {}, 0
        for digest, data in files.items():
            offsets[digest] = (offset, len(data))
            offset += len(data)
        pack = sha256(canonical_json(offsets))
        body = b"".join(files.values())
        self.blobs.write(pack, body)
        index = {"format": PACK_FORMAT, "pack": pack, "bytes": len(body), "files": offsets}
        self.blobs.store.put(pack_key(pack), canonical_json(index))  # after the pack
        if self._where is not None:  # else the next `where` reads it with the others
            self._index(index)
        return pack

    def slice(self, digest: str) -> tuple[str, bytes | None] | None:
        """(pack, the file's bytes as stored there, or None when the pack is gone) of a packed
        file; None when it is not packed. Unchecked: the caller hashes."""
        found = self.where().get(digest)
        if found is None:
            return None
        pack, offset, size = found
        if self._open is None or self._open[0] != pack:
            try:
                self._open = (pack, self.blobs.read(pack))
            except KeyError:
                return pack, None
        return pack, self._open[1][offset : offset + size]

    def members(self) -> dict[str, set[str]]:
        """Every pack's files' hashes."""
        found: dict[str, set[str]] = {}
        for digest, (pack, _, _) in self.where().items():
            found.setdefault(pack, set()).add(digest)
        return found

    def unindex(self, pack: str) -> None:
        """Forgets a pack's files here (not in the store): they can be packed again."""
        for digest in self.members().get(pack, set()):
            self.where().pop(digest, None)

    def remove(self, pack: str) -> None:
        """Deletes a pack's index, then the pack (a reader never finds an index without it)."""
        self.unindex(pack)
        self.blobs.store.delete(pack_key(pack))
        self.blobs.delete(pack)
        self.blobs.store.delete(holes_key(pack))
        self.sizes.pop(pack, None)
        if self._open is not None and self._open[0] == pack:
            self._open = None
