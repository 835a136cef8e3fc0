"""Piece one of the snapshot store: loose blobs, a file's bytes named by their SHA-256.

    snapshots/blobs/<sha256>   a file's bytes (or a pack's: see packs.py)

This piece knows only keys and bytes; what a blob means (a file, a pack) is the others' business.
"""

from __future__ import annotations

from fsdl_data.core.storage.objects import Listed, ObjectNotFound, ObjectStore

ROOT = "snapshots"
BLOBS = f"{ROOT}/blobs/"


def blob_key(digest: str) -> str:
    return f"{BLOBS}{digest}"


class CorruptSnapshot(ValueError):
    """Bytes that do not match the hash they are stored under (`what` = "corrupt"), or that
    are not stored at all ("missing"), or a format this version cannot read ("unreadable")."""

    def __init__(self, message: str, what: str = "corrupt") -> None:
        super().__init__(message)
        self.what = what


class Blobs:
    """Loose blobs in an object store."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def listing(self) -> dict[str, Listed]:
        """Every stored blob (loose files and packs) by name, as one listing shows it."""
        return {s.key.rsplit("/", 1)[1]: s for s in self.store.list(BLOBS)}

    def size(self, digest: str) -> int | None:
        info = self.store.head(blob_key(digest))
        return info.size if info is not None else None

    def write(self, digest: str, data: bytes) -> None:
        self.store.put(blob_key(digest), data)

    def read(self, digest: str) -> bytes:
        """The stored bytes, unchecked (raises ObjectNotFound)."""
        return self.store.get(blob_key(digest))

    def delete(self, digest: str) -> None:
        self.store.delete(blob_key(digest))


__all__ = ["BLOBS", "ROOT", "Blobs", "CorruptSnapshot", "ObjectNotFound", "blob_key"]
