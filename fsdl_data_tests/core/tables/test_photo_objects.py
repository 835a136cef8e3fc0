"""Photos read in parallel: the same tables as one read at a time, in listing order, with the
promised number of reads in flight and never more."""

from __future__ import annotations

import io
import random
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from polars.testing import assert_frame_equal

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.objects import ObjectNotFound
from fsdl_data.core.tables.sources import photo_objects
from fsdl_data.core.vision.pixels import pixel_stats, thumbnails_from_bytes

DAY = "2026-01-02"


def _image(rng: random.Random, form: str) -> bytes:
    side = rng.randint(8, 96)
    pixels = np.random.default_rng(rng.randint(0, 1 << 30)).integers(0, 256, (side, side, 3))
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, form)
    return buffer.getvalue()


def _random_day(store: LocalObjectStore, rng: random.Random) -> None:
    """Photos of random count, sizes and kinds: good JPEGs and PNGs, truncated, empty, garbage,
    keys naming no photo id."""
    for index in range(rng.randint(1, 100)):  # up to a few batches of statistics
        kind = rng.choice(["jpeg", "jpeg", "png", "truncated", "empty", "garbage", "no id"])
        name = f"cover-{index}.jpg" if kind == "no id" else f"{rng.randint(0, 10**6)}{index}.jpg"
        data = {
            "jpeg": lambda: _image(rng, "JPEG"),
            "png": lambda: _image(rng, "PNG"),
            "truncated": lambda: _image(rng, "JPEG")[: rng.randint(1, 300)],
            "empty": lambda: b"",
            "garbage": lambda: rng.randbytes(rng.randint(1, 500)),
            "no id": lambda: _image(rng, "JPEG"),
        }[kind]()
        store.put(f"photos/date={DAY}/{name}", data)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_parallel_reads_give_the_tables_of_one_read_at_a_time(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = LocalObjectStore(tmp_path)
    _random_day(store, rng)
    one_by_one = photo_objects(store, DAY, reads_in_flight=1, decoders=1)
    parallel = photo_objects(store, DAY, reads_in_flight=rng.randint(2, 64), decoders=3)
    for alone, together in zip(one_by_one, parallel, strict=True):
        assert_frame_equal(alone, together)
    keys = parallel[0]["key"].to_list()
    assert keys == sorted(keys)  # listing order, whatever finished first
    # the statistics, computed a batch of thumbnails at a time, are each row's own
    pixels = parallel[1]
    thumbnails = thumbnails_from_bytes(pixels["thumbnail"].to_list())
    for row, thumb in zip(pixels.drop("photo_id", "key", "thumbnail").iter_rows(named=True),
                          thumbnails, strict=True):  # fmt: skip
        assert row == pixel_stats(thumb).as_dict()


class _CountingStore:
    """A store whose first `expected` reads wait until that many are in flight at once (so a
    pool that reads fewer at a time fails, not hangs), then hold a little longer, leaving a
    pool that reads more at a time the chance to show it, counting the most ever in flight."""

    def __init__(self, inner: LocalObjectStore, expected: int) -> None:
        self.inner, self.expected = inner, expected
        self.lock = threading.Lock()
        self.in_flight = self.most = self.started = 0
        self.all_started = threading.Event()
        self.too_many = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get(self, key: str, *, with_info: bool = False) -> Any:
        with self.lock:
            self.in_flight += 1
            self.started += 1
            self.most = max(self.most, self.in_flight)
            if self.in_flight >= self.expected:
                self.all_started.set()
            if self.in_flight > self.expected:
                self.too_many.set()
            waits = self.started <= self.expected
        try:
            if waits and not self.all_started.wait(timeout=30):
                raise AssertionError(f"only {self.most} reads in flight, not {self.expected}")
            if waits:
                self.too_many.wait(timeout=0.5)
            return self.inner.get(key, with_info=with_info)
        finally:
            with self.lock:
                self.in_flight -= 1


def test_reads_in_flight_are_as_many_as_asked_and_never_more(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    rng = random.Random(5)
    for index in range(120):
        store.put(f"photos/date={DAY}/{index}.jpg", _image(rng, "JPEG"))
    counting = _CountingStore(store, expected=32)
    raw, pixels = photo_objects(counting, DAY, reads_in_flight=32, decoders=2)  # type: ignore[arg-type]
    assert counting.most == 32 and len(raw) == len(pixels) == 120


def test_a_store_failure_stops_the_day_instead_of_a_partial_table(tmp_path: Path) -> None:
    """An error that is not about one object (the store is down) fails the read: no table
    of the photos that happened to be read before it."""
    store = LocalObjectStore(tmp_path)
    rng = random.Random(7)
    for index in range(40):
        store.put(f"photos/date={DAY}/{index}.jpg", _image(rng, "JPEG"))

    class Down(_CountingStore):
        def get(self, key: str, *, with_info: bool = False) -> Any:
            if key.endswith("/17.jpg"):
                raise ConnectionError("the store went away")
            return self.inner.get(key, with_info=with_info)

    with pytest.raises(ConnectionError, match="went away"):
        photo_objects(Down(store, 1), DAY, reads_in_flight=8)  # type: ignore[arg-type]


def test_an_object_deleted_while_the_day_is_read_gets_a_reason(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    rng = random.Random(9)
    for index in range(10):
        store.put(f"photos/date={DAY}/{index}.jpg", _image(rng, "JPEG"))

    class Deleting(_CountingStore):
        def get(self, key: str, *, with_info: bool = False) -> Any:
            if key.endswith("/3.jpg"):
                raise ObjectNotFound(key)
            return self.inner.get(key, with_info=with_info)

    raw, pixels = photo_objects(Deleting(store, 1), DAY, reads_in_flight=4)  # type: ignore[arg-type]
    errors = dict(zip(raw["key"].str.split("/").list.last(), raw["decode_error"], strict=True))
    assert errors["3.jpg"] == "object deleted while the day was read" and len(pixels) == 9
