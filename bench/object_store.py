"""Benchmark: should a kept library back the S3 backend instead of our boto3 calls?

On the S3 server the tests use (moto's server mode, over HTTP on loopback), measures
- listing: every key under a prefix of `--keys` objects (paginated, 1,000 a page);
- GET: `--gets` objects of `--size` bytes each, sequentially and with `--threads` at once;
for the current backend (fsdl_data.core.storage.backends.s3, boto3 with its timeouts and
retries) and for `obstore` (Rust object_store bindings) when it is installed. `s3fs` is not
measured: installing it would downgrade botocore (aiobotocore pins an older one).
Prints the median and range of `--runs` runs of each. The server is in-process Python, so it
is the bottleneck for every client: the figures compare client overheads, not S3's speed.
Run: `.venv/bin/python bench/object_store.py` (about a minute).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(function: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        out.append(time.perf_counter() - start)
    return out


def report(label: str, seconds: list[float], unit_count: int, unit: str) -> None:
    median = statistics.median(seconds)
    rate = unit_count / median
    print(
        f"  {label:38s} median {median * 1000:8.1f} ms  range {min(seconds) * 1000:7.1f}-"
        f"{max(seconds) * 1000:7.1f} ms  ({rate:,.0f} {unit}/s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=2_000)
    parser.add_argument("--size", type=int, default=12 * 1024)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    from fsdl_data.core.storage.backends.s3 import make_s3_client
    from fsdl_data.core.storage.objects import open_object_store

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        client = make_s3_client(endpoint_url=endpoint, region_name="us-east-1")
        client.create_bucket(Bucket=bucket)
        ours = open_object_store(f"s3://{bucket}", {"s3": {"client": client}})
        body = os.urandom(args.size)
        print(f"filling: {args.keys:,} keys to list, {args.gets:,} x {args.size:,} B to GET ...")
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: ours.put(f"list/{i:06d}", b"x"), range(args.keys)))
            list(pool.map(lambda i: ours.put(f"get/{i:06d}", body), range(args.gets)))
        get_keys = [f"get/{i:06d}" for i in range(args.gets)]

        def check(count: int, expected: int) -> None:
            if count != expected:
                raise SystemExit(f"listed {count} keys, expected {expected}")

        def threaded(get: Callable[[str], bytes]) -> Callable[[], None]:
            def run() -> None:
                with ThreadPoolExecutor(args.threads) as pool:
                    sizes = list(pool.map(lambda k: len(get(k)), get_keys))
                assert sum(sizes) == args.size * args.gets

            return run

        def sequential(get: Callable[[str], bytes]) -> Callable[[], None]:
            def run() -> None:
                assert sum(len(get(k)) for k in get_keys) == args.size * args.gets

            return run

        print(f"\nboto3 (current backend; machine shared with other busy work), {args.runs} runs:")
        report(
            f"list {args.keys:,} keys",
            timed(lambda: check(sum(1 for _ in ours.list("list/")), args.keys), args.runs),
            args.keys,
            "keys",
        )
        report(
            f"GET {args.gets:,} sequential",
            timed(sequential(ours.get), args.runs),
            args.gets,
            "GETs",
        )
        report(
            f"GET {args.gets:,} with {args.threads} threads",
            timed(threaded(ours.get), args.runs),
            args.gets,
            "GETs",
        )

        try:
            import obstore
            from obstore.store import S3Store
        except ImportError:
            print("\nobstore: not installed (pip install obstore): not measured")
            return 0
        store = S3Store(
            bucket,
            endpoint=endpoint,
            region="us-east-1",
            access_key_id="testing",
            secret_access_key="testing",
            client_options={"allow_http": True, "timeout": "30s", "connect_timeout": "5s"},
            retry_config={
                "max_retries": 4,
                "backoff": {"init_backoff": timedelta(milliseconds=100)},
                "retry_timeout": timedelta(seconds=60),
            },
        )

        def obstore_list() -> None:
            check(sum(len(batch) for batch in obstore.list(store, prefix="list/")), args.keys)

        def obstore_get(key: str) -> bytes:
            return bytes(obstore.get(store, key).bytes())

        async def gather() -> None:
            import asyncio

            limit = asyncio.Semaphore(args.threads)

            async def one(key: str) -> int:
                async with limit:
                    result = await obstore.get_async(store, key)
                    return len(await result.bytes_async())

            sizes = await asyncio.gather(*(one(k) for k in get_keys))
            assert sum(sizes) == args.size * args.gets

        def obstore_async() -> None:
            import asyncio

            asyncio.run(gather())

        print(f"\nobstore {obstore.__version__}, {args.runs} runs:")
        report(f"list {args.keys:,} keys", timed(obstore_list, args.runs), args.keys, "keys")
        report(
            f"GET {args.gets:,} sequential",
            timed(sequential(obstore_get), args.runs),
            args.gets,
            "GETs",
        )
        report(
            f"GET {args.gets:,} with {args.threads} threads",
            timed(threaded(obstore_get), args.runs),
            args.gets,
            "GETs",
        )
        report(
            f"GET {args.gets:,} async, {args.threads} at once",
            timed(obstore_async, args.runs),
            args.gets,
            "GETs",
        )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
