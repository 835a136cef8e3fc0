"""Piece one of the snapshot store, alone: blobs are stored under their digest and listed,
sized, read and deleted by it; CorruptSnapshot says what went wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.objects import ObjectNotFound
from fsdl_data.core.versioning.blobs import BLOBS, ROOT, Blobs, CorruptSnapshot, blob_key
from fsdl_data.core.versioning.digests import sha256


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blobs_round_trip_by_digest(tmp_path: Path, seed: int) -> None:
    import random

    rng = random.Random(seed)
    store = LocalObjectStore(tmp_path)
    blobs = Blobs(store)
    contents = [os.urandom(rng.randint(0, 300)) for _ in range(rng.randint(1, 8))]
    for data in contents:
        blobs.write(sha256(data), data)
    store.put("elsewhere/x", b"not a blob")
    store.put(f"{ROOT}/manifests/photos/x.json", b"{}")  # the store's, but not a blob
    listing = blobs.listing()
    assert set(listing) == {sha256(d) for d in contents}
    for data in contents:
        digest = sha256(data)
        assert blobs.read(digest) == data and blobs.size(digest) == len(data)
        assert listing[digest].key == blob_key(digest) == f"{BLOBS}{digest}"
    gone = sha256(contents[0])
    blobs.delete(gone)
    assert blobs.size(gone) is None and gone not in blobs.listing()
    with pytest.raises(ObjectNotFound):
        blobs.read(gone)
    assert BLOBS.startswith(f"{ROOT}/")


def test_corrupt_snapshot_names_what_went_wrong() -> None:
    assert CorruptSnapshot("bad bytes").what == "corrupt"
    missing = CorruptSnapshot("gone", "missing")
    assert missing.what == "missing" and str(missing) == "gone"
    assert isinstance(missing, ValueError)
