"""Faults mid-run: an S3 endpoint that hangs and a database that goes away. Each run ends in a
clear failure after its retries, publishes nothing partial, and a rerun completes."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import polars as pl
import psycopg2
import pytest

from fsdl_data.config import Settings
from fsdl_data.core.storage.lake import Lake, TableNotFound
from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.partitions import daily_partitions
from fsdl_data.resources import MADE_WITH
from fsdl_data_tests.conftest import service_missing
from fsdl_data_tests.faults import FaultyProxy
from fsdl_data_tests.helpers import SMALL, materialize_day, seed

DAY = "2026-01-01"


def failure_messages(result: dg.ExecuteInProcessResult) -> str:
    """Every failed step's error with its causes (a retried step fails with 'Exceeded
    max_retries', caused by what actually went wrong)."""
    messages = []
    for event in result.all_events:
        error = event.step_failure_data.error if event.is_step_failure else None
        while error is not None:
            messages.append(error.message)
            error = error.cause
    return "\n".join(messages)


def lake_files(settings: Settings) -> list[str]:
    root = Path(urlsplit(settings.lake_url).path)
    return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()]


@pytest.mark.s3
def test_a_hung_s3_endpoint_fails_the_run_after_retries_and_a_rerun_completes(
    s3_env: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FSDL_HOME", str(tmp_path / "fsdl"))
    monkeypatch.setenv("FSDL_OBJECT_STORE_URL", f"s3://{s3_bucket}")
    monkeypatch.delenv("FSDL_LAKE_URL", raising=False)
    monkeypatch.delenv("FSDL_APP_DB_URL", raising=False)
    settings = Settings.from_env()
    seed(settings, SMALL, days=1)
    proxy = FaultyProxy(int(urlsplit(s3_env).port), freeze_on=b"prefix=events")
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)  # every S3 call of the run goes through it
    monkeypatch.setenv("FSDL_S3_READ_TIMEOUT_S", "1")
    monkeypatch.setenv("FSDL_S3_CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("FSDL_S3_MAX_ATTEMPTS", "2")
    settings = Settings.from_env()  # the run's settings: through the proxy, with short timeouts
    try:
        started = time.monotonic()
        failed = materialize_day(settings, DAY)
        elapsed = time.monotonic() - started
        assert not failed.success and proxy.frozen.is_set()
        assert elapsed < 120  # bounded by timeouts and retries, not a silent wait
        assert "Read timeout" in failure_messages(failed)  # says what went wrong
        files = lake_files(settings)
        assert not any(".tmp-" in f for f in files)  # nothing half-written
        assert not any(f.startswith(("tables/raw_events/", "tables/events/")) for f in files)
        proxy.thaw()
        assert materialize_day(settings, DAY).success  # the rerun completes
        assert any(f.startswith("tables/events/") for f in lake_files(settings))
    finally:
        proxy.close()


def _accept_connections(admin: str, database: str, allow: bool) -> None:
    with psycopg2.connect(admin) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allow).lower()}')
            if not allow:  # and every open connection is killed, as a restart would
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (database,),
                )


@pytest.mark.postgres
def test_a_database_gone_mid_run_fails_clearly_and_a_rerun_completes(
    embedded_settings: Settings, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsdl_data_tests.conftest import PG_ADMIN_URL

    monkeypatch.setenv("FSDL_APP_DB_URL", pg_database)
    settings = Settings.from_env()
    seed(settings, SMALL, days=1)
    database = urlsplit(pg_database).path.lstrip("/")
    sources = dg.AssetSelection.assets("photo_metadata", "photo_metadata_quarantine", "users")
    _accept_connections(PG_ADMIN_URL, database, allow=False)
    try:
        failed = materialize_day(settings, DAY, selection=sources)
    finally:
        _accept_connections(PG_ADMIN_URL, database, allow=True)
    assert not failed.success
    assert "not currently accepting connections" in failure_messages(failed)
    assert not any(f.startswith("tables/photo_metadata/") for f in lake_files(settings))
    assert materialize_day(settings, DAY, selection=sources).success
    assert os.path.exists(Path(urlsplit(settings.lake_url).path) / "tables" / "photo_metadata")


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real filesystem that fills up: a small tmpfs (needs root, which CI has)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        service_missing(f"a tmpfs mount ({done.stderr.decode().strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def pairs_whole(settings: Settings) -> None:
    """What one step publishes together is never half there where it counts: the table
    published last of a pair implies the first (photo_pixels before raw_photos, the quarantine
    before events)."""
    lake = Lake(open_object_store(settings.lake_url))
    for first, last in (("photo_pixels", "raw_photos"), ("events_quarantine", "events")):
        assert set(lake.partitions(last)) <= set(lake.partitions(first)), (first, last)


def test_a_full_disk_fails_in_one_line_publishes_no_half_and_a_rerun_completes(
    embedded_settings: Settings, tiny_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(embedded_settings, SMALL, days=1)
    monkeypatch.setenv("FSDL_LAKE_URL", f"file://{tiny_disk / 'lake'}")
    settings = Settings.from_env()
    failed = materialize_day(settings, DAY)
    assert not failed.success
    messages = failure_messages(failed)
    assert f"the disk holding the lake (file://{tiny_disk / 'lake'}) is full" in messages
    (line,) = [m for m in messages.splitlines() if "is full" in m]  # one line says it all
    assert "free space, then rerun" in line
    assert not any(".tmp-" in f for f in lake_files(settings))  # nothing half-written
    pairs_whole(settings)
    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_disk)], check=True)
    assert materialize_day(settings, DAY).success  # space freed: the rerun completes
    pairs_whole(settings)


def test_pixels_published_without_their_raw_photos_are_refused_with_why(
    embedded_settings: Settings,
) -> None:
    """A run stopped between the two outputs of one step (kill -9, full disk) leaves the first;
    reading it then fails with the reason instead of building on half a day."""
    from fsdl_data.resources import LakeIOManager, ObjectStoreResource, build_resources

    lake = Lake(open_object_store(embedded_settings.lake_url))
    lake.write("photo_pixels", pl.DataFrame({"photo_id": [1]}), DAY)
    manager = LakeIOManager(lake=build_resources(embedded_settings)["lake"])
    assert isinstance(manager.lake, ObjectStoreResource)
    for made_with, refused in ((None, False), ("raw_photos", True)):
        context = dg.build_input_context(
            asset_key=dg.AssetKey("photo_pixels"),
            partition_key=DAY,
            asset_partitions_def=daily_partitions(embedded_settings),
            upstream_output=dg.build_output_context(
                asset_key=dg.AssetKey("photo_pixels"),
                definition_metadata={MADE_WITH: made_with} if made_with else {},
            ),
        )
        if not refused:
            assert len(manager.load_input(context)) == 1
            continue
        with pytest.raises(TableNotFound, match="photo_pixels for 2026-01-01 was published without raw_photos"):  # fmt: skip
            manager.load_input(context)
    lake.write("raw_photos", pl.DataFrame({"key": ["1.jpg"]}), DAY)
    assert len(manager.load_input(context)) == 1


@pytest.mark.daemon  # heavy: its own Postgres cluster, two runs
@pytest.mark.postgres
def test_the_app_database_restarted_mid_run_fails_clearly_or_is_retried_and_a_rerun_completes(
    embedded_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsdl_data_tests.postgres_cluster import PostgresCluster, postgres_bin

    if postgres_bin() is None:
        service_missing("Debian's PostgreSQL server binaries (initdb, pg_ctl)")
    cluster = PostgresCluster()
    cluster.start()
    try:
        monkeypatch.setenv("FSDL_APP_DB_URL", cluster.url)
        settings = Settings.from_env()
        seed(settings, SMALL, days=1)
        results: list[dg.ExecuteInProcessResult] = []
        with dg.instance_for_test() as instance:
            run = threading.Thread(
                target=lambda: results.append(materialize_day(settings, DAY, instance))
            )
            run.start()
            while run.is_alive() and not instance.get_runs():
                time.sleep(0.05)
            _once_a_step_started(run, instance)
            cluster.restart()
            run.join()
        (result,) = results
        if not result.success:  # else the sources' retries rode over the restart
            messages = failure_messages(result)
            assert any(
                says in messages
                for says in ("terminating connection", "server closed the connection",
                             "Connection refused", "the database system is")
            ), messages  # fmt: skip
        _whole_and_a_rerun_completes(settings)
    finally:
        cluster.stop()


def _whole_and_a_rerun_completes(settings: Settings) -> None:
    """After a fault mid-run: nothing half-written, every pair whole, and a rerun completes."""
    assert not any(".tmp-" in f for f in lake_files(settings))
    pairs_whole(settings)
    assert materialize_day(settings, DAY).success
    pairs_whole(settings)


def _once_a_step_started(run: threading.Thread, instance: dg.DagsterInstance) -> None:
    """Wait until the run in `run` has started a step (mid-run), or ended."""
    _until_an_event(run, instance, {dg.DagsterEventType.STEP_START})


def _until_an_event(
    run: threading.Thread, instance: dg.DagsterInstance, kinds: set[dg.DagsterEventType]
) -> None:
    """Wait until a run of `instance` has logged an event of one of `kinds`, or `run` ended."""
    while run.is_alive() and not any(
        instance.all_logs(r.run_id, of_type=kinds) for r in instance.get_runs()
    ):
        time.sleep(0.05)


@pytest.mark.daemon  # heavy: its own S3 server, stopped and restarted, two runs
@pytest.mark.s3
def test_the_s3_server_stopped_and_restarted_mid_run_fails_clearly_or_is_retried_and_a_rerun_completes(
    s3_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.server import ThreadedMotoServer

    from fsdl_data_tests.conftest import s3_client
    from fsdl_data_tests.processes import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3_client(endpoint).create_bucket(Bucket="faults")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("FSDL_HOME", str(tmp_path / "fsdl"))
    monkeypatch.setenv("FSDL_OBJECT_STORE_URL", "s3://faults/raw")
    monkeypatch.delenv("FSDL_LAKE_URL", raising=False)
    monkeypatch.delenv("FSDL_APP_DB_URL", raising=False)
    monkeypatch.setenv("FSDL_S3_CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("FSDL_S3_MAX_ATTEMPTS", "2")
    settings = Settings.from_env()
    seed(settings, SMALL, days=1)
    results: list[dg.ExecuteInProcessResult] = []
    try:
        with dg.instance_for_test() as instance:
            run = threading.Thread(
                target=lambda: results.append(materialize_day(settings, DAY, instance))
            )
            run.start()
            _once_a_step_started(run, instance)
            server.stop()  # the endpoint refuses connections until a step failed or retried
            _until_an_event(
                run,
                instance,
                {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_UP_FOR_RETRY},
            )
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()  # ...and is back, with the same objects
            run.join()
        (result,) = results
        if not result.success:
            messages = failure_messages(result)
            assert "Could not connect to the endpoint URL" in messages, messages
        _whole_and_a_rerun_completes(settings)
    finally:
        server.stop()
