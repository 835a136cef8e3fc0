"""Benchmark: one tick of the `new_photo_objects` sensor over a large bucket.

100,000 existing photo objects in 100 day folders (1,000 each), every day already known to the
cursor; then 10 new objects land in the newest day. Prints the wall time of that tick (the real
sensor, evaluated as the daemon would) on a local folder and on an S3 server over HTTP (moto),
with the keys listed and, on S3, the number of list requests the tick sent.
Run: `make bench-sensor`.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import time
from pathlib import Path

from _common import fresh_embedded_home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ListCounter(logging.Handler):
    """Counts the S3 server's ListObjectsV2 requests from its access log."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "list-type=2" in record.getMessage():
            self.count += 1


def tick(sensor, cursor: str | None):
    import dagster as dg

    from fsdl_data.config import Settings
    from fsdl_data.resources import build_resources

    resources = {"objects": build_resources(Settings.from_env())["objects"]}
    with dg.build_sensor_context(
        cursor=cursor, resources=resources, instance=dg.DagsterInstance.ephemeral()
    ) as context:
        t0 = time.perf_counter()
        result = sensor(context)
        return time.perf_counter() - t0, result


def measure(label: str, put, days: list[str], per_day: int, counter: ListCounter | None) -> None:
    from fsdl_data.config import Settings
    from fsdl_data.core.ingestion.cursor import MAX_KEYS_PER_TICK, Cursor
    from fsdl_data.sensors import sensor_for

    new_photo_objects = sensor_for(Settings.from_env(), "new_photo_objects")

    t0 = time.perf_counter()
    an_hour_ago = time.time() - 3600  # existing objects are older than the look-back window
    for day in days:
        for i in range(per_day):
            put(f"photos/date={day}/{i}.jpg", f"{day}/{i}".encode(), an_hour_ago)
    made = time.perf_counter() - t0
    _, first = tick(new_photo_objects, None)  # the first tick lists every (unknown) day
    for i in range(10):
        put(f"photos/date={days[-1]}/new-{i}.jpg", f"new {i}".encode(), time.time())
    if counter:
        counter.count = 0
    elapsed, result = tick(new_photo_objects, first.cursor)
    known = Cursor.from_json(result.cursor)
    windows = sum(len(d.seen) for d in known.days.values())
    calls = f", {counter.count} list requests" if counter else ""
    print(f"  {label}: {len(days) * per_day:,} objects (made in {made:.0f} s); the tick after 10 "
          f"new ones: {elapsed:.3f} s{calls}, cursor {len(result.cursor):,} bytes ({windows} objects "
          f"in look-back windows); sweep budget {MAX_KEYS_PER_TICK:,} keys")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--days", type=int, default=100)
    p.add_argument("--per-day", type=int, default=1000)
    a = p.parse_args()
    from datetime import UTC, date, datetime, timedelta

    start = date(2026, 1, 1)
    days = [(start + timedelta(days=i)).isoformat() for i in range(a.days)]
    os.environ["FSDL_START_DATE"] = days[0]
    home = fresh_embedded_home()
    from fsdl_data.core.storage.backends.local import LocalObjectStore

    print(f"new_photo_objects, one tick ({a.days} days x {a.per_day:,} objects):")
    local = LocalObjectStore(home / "objects")

    def put_local(key: str, data: bytes, modified: float) -> None:
        local.put(key, data)
        path = home / "objects" / key
        os.utime(path, (modified, modified))

    measure("local folder", put_local, days, a.per_day, None)

    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
                      FSDL_OBJECT_STORE_URL="s3://bench-photos")  # fmt: skip
    import boto3

    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
    client.create_bucket(Bucket="bench-photos")
    from moto.s3.models import s3_backends

    backend = s3_backends["123456789012"]["aws"]

    def put_direct(key: str, data: bytes, modified: float) -> None:  # setup: into the server
        stored = backend.put_object("bench-photos", key, data)
        stored.last_modified = datetime.fromtimestamp(modified, UTC).replace(tzinfo=None)

    counter = ListCounter()
    access_log = logging.getLogger("werkzeug")
    access_log.handlers, access_log.propagate = [counter], False
    access_log.setLevel(logging.INFO)
    measure("S3 server (HTTP)", put_direct, days, a.per_day, counter)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
