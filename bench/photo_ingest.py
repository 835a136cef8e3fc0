"""Benchmark: the photos of a day read and decoded (`raw_photos` + `photo_pixels`, the product's
`photo_objects` with its default reads in flight and decoders) against a bound measured in the
same run on the same objects: a bare thread pool that only GETs each object (as many at once)
and fully decodes it to the model's thumbnail on one thread per core, nothing else.

On a local folder store and on the S3 server the tests use (moto's server mode, over HTTP on
loopback; it is in-process Python, so on a small machine it competes with the decoders for the
cores: the figures compare our pipeline to the bound, not to real S3). The photos are the world
generator's own (`render_photo` + `encode_jpeg`). Prints the median and range of `--runs` runs
of each, interleaved so both see the same load, and the ratio.
Also prints the process's CPU time per photo for both (all threads): bound/ours is what the
ratio tends to when nothing else wants the cores. Prints the load average at start and end.
Run: `python bench/photo_ingest.py` (`--photos 100000` for the 100x day).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from _common import load_average
from object_store import free_port

DAY = "2026-01-02"


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} (range {min(values):,.0f}-{max(values):,.0f})"


def _bound(store, keys: list[str], reads: int, decoders: int) -> None:
    """GET + full decode of every object, `reads` GETs at once, `decoders` decode threads."""
    from fsdl_data.core.vision.decode import decode_photo
    from fsdl_data.core.vision.pixels import IMAGE_SIZE

    with (
        ThreadPoolExecutor(reads) as readers,
        ThreadPoolExecutor(decoders) as decoding,
    ):

        def one(key: str) -> None:
            data = store.get(key)
            decoding.submit(decode_photo, data, IMAGE_SIZE).result()

        list(readers.map(one, keys))


def _measure(name: str, store, runs: int) -> None:
    from fsdl_data.core.calendar import day_folder
    from fsdl_data.core.ingestion.cursor import day_listing
    from fsdl_data.core.tables.sources import READS_IN_FLIGHT, photo_objects

    listing = day_listing(store, day_folder("photos", DAY))
    keys = [listed.key for listed in listing]
    decoders = os.cpu_count() or 1

    def timed(run: Callable[[], object], cpu: list[float]) -> float:
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        cpu.append((time.process_time() - start_cpu) / len(keys) * 1000)
        return len(keys) / (time.perf_counter() - start)

    ours, bound, ours_cpu, bound_cpu = [], [], [], []
    for _ in range(runs):
        ours.append(timed(lambda: photo_objects(store, DAY, listing), ours_cpu))
        bound.append(timed(lambda: _bound(store, keys, READS_IN_FLIGHT, decoders), bound_cpu))
    ratios = [o / b for o, b in zip(ours, bound, strict=True)]
    cpu_ratios = [b / o for o, b in zip(ours_cpu, bound_cpu, strict=True)]
    print(f"{name}: {len(keys):,} photos, {runs} runs, {decoders} cores")
    print(f"  photo_objects (raw_photos + photo_pixels): {_summary(ours)} photos/s")
    print(f"  bound (GET + decode only, same pools):     {_summary(bound)} photos/s")
    print(
        f"  ratio: {statistics.median(ratios):.2f} "
        f"(range {min(ratios):.2f}-{max(ratios):.2f}); goal >= 0.80"
    )
    # CPU time of this process (all its threads) per photo: what the wall ratio becomes when
    # the cores are not shared with other work; on a loaded machine the wall figures are noise
    print(
        f"  CPU per photo: ours {statistics.median(ours_cpu):.3f} ms, bound "
        f"{statistics.median(bound_cpu):.3f} ms; bound/ours {statistics.median(cpu_ratios):.2f} "
        f"(range {min(cpu_ratios):.2f}-{max(cpu_ratios):.2f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-s3", action="store_true")
    args = parser.parse_args()
    print("load average at start:", load_average())
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

    import numpy as np

    from fsdl_data.core.storage.backends.local import LocalObjectStore
    from fsdl_data.core.world.images import _RENDERERS, encode_jpeg, render_photo

    rng = np.random.default_rng(0)
    contents = sorted(_RENDERERS)
    photos = {
        f"photos/date={DAY}/{index}.jpg": encode_jpeg(
            render_photo(rng, contents[index % len(contents)], float(rng.random()))
        )
        for index in range(args.photos)
    }
    local = LocalObjectStore(tempfile.mkdtemp(prefix="fsdl-bench-photos-"))
    for key, data in photos.items():
        local.put(key, data)
    _measure("local folder store", local, args.runs)
    if args.skip_s3:
        print("load average at end:", load_average())
        return 0

    from moto.server import ThreadedMotoServer

    from fsdl_data.core.storage.backends.s3 import make_s3_client
    from fsdl_data.core.storage.objects import open_object_store

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        client = make_s3_client(endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=bucket)
        s3 = open_object_store(f"s3://{bucket}", {"s3": {"client": client}})
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda item: s3.put(*item), photos.items()))
        _measure("S3 server (moto, HTTP on loopback)", s3, args.runs)
    finally:
        server.stop()
    print("load average at end:", load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
