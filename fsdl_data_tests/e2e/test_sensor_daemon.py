"""Exactly once under load: a real dagster-daemon on Postgres storage ticks the photo sensor while
5,000 objects land on an S3 server (moto, over HTTP) in bursts, and is killed and restarted
midway. Every object must be in the lake exactly once (by key and ETag) and no run duplicated."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import numpy as np
import polars as pl
import pytest
from PIL import Image

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake
from fsdl_data_tests.conftest import s3_client

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"]
PER_DAY = 1000
BURSTS_PER_DAY = 2
ACTIVE = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
          dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)  # fmt: skip


def tiny_jpeg(rng: np.random.Generator) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def start_daemon(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    process.wait(timeout=30)


@pytest.mark.daemon
@pytest.mark.s3
@pytest.mark.postgres
def test_every_object_ingested_exactly_once_through_bursts_and_a_daemon_restart(
    tmp_path: Path,
    pg_database: str,
    s3_bucket: str,
    s3_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = urlsplit(pg_database)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": url.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USERNAME": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": url.path.lstrip("/"),
        "FSDL_HOME": str(tmp_path / "fsdl"),
        "FSDL_OBJECT_STORE_URL": f"s3://{s3_bucket}",
        "FSDL_LAKE_URL": f"file://{tmp_path / 'lake'}",
        "FSDL_SENSOR_INTERVAL_S": "2",
        "FSDL_START_DATE": DAYS[0],
    }
    for name, value in env.items():
        if name.startswith("DAGSTER_PG_"):
            monkeypatch.setenv(name, value)  # this process reads the instance too
    subprocess.run(
        [str(BIN / "dagster"), "sensor", "start", "new_photo_objects", "-w", "workspace.yaml"],
        cwd=REPO, env=env, check=True, capture_output=True,
    )  # fmt: skip
    log = tmp_path / "daemon.log"
    daemon = start_daemon(env, log)
    client, rng, uploaded = s3_client(s3_env), np.random.default_rng(0), {}
    try:
        bursts = [(day, b) for day in DAYS for b in range(BURSTS_PER_DAY)]
        for number, (day, burst) in enumerate(bursts):
            size = PER_DAY // BURSTS_PER_DAY
            for i in range(burst * size, (burst + 1) * size):
                key, data = f"photos/date={day}/{i}.jpg", tiny_jpeg(rng)
                client.put_object(Bucket=s3_bucket, Key=key, Body=data)
                uploaded[key] = hashlib.md5(data).hexdigest()
            if number == len(bursts) // 2:  # midway: the daemon dies without warning
                daemon.kill()  # (its runs' workers live on, as they would on a cluster)
                daemon.wait(timeout=30)
                daemon = start_daemon(env, log)
            time.sleep(1.5)
        lake = Lake(LocalObjectStore(tmp_path / "lake"))
        deadline = time.monotonic() + 600  # runs of a 2-core CI machine, all queued
        with dg.DagsterInstance.from_config(str(home)) as instance:
            while True:
                present = set(lake.partitions("raw_photos"))
                done = present >= set(DAYS) and sum(
                    len(lake.read("raw_photos", d)) for d in DAYS
                ) == len(uploaded)
                active = instance.get_runs(filters=dg.RunsFilter(statuses=list(ACTIVE)))
                if done and not active:
                    break
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(2)
            time.sleep(6)  # a few more ticks: nothing more may be requested
            runs = instance.get_runs()
    finally:
        kill(daemon, signal.SIGTERM)

    rows = pl.concat([lake.read("raw_photos", d) for d in DAYS])
    assert rows["key"].n_unique() == len(rows) == len(uploaded) == 5000  # each exactly once
    assert dict(zip(rows["key"], rows["etag"], strict=True)) == uploaded  # the bytes uploaded
    run_keys = [r.tags.get("dagster/run_key") for r in runs]
    assert all(run_keys) and len(set(run_keys)) == len(run_keys)  # no run requested twice
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [r.status for r in runs]
    assert len(runs) <= len(DAYS) * (BURSTS_PER_DAY + 2)  # a run per burst, not per tick
