"""Shared fixtures: real backends (an S3 server over HTTP, the local Postgres), small worlds.

With CI=true a missing service fails its tests instead of skipping them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from fsdl_data.config import Settings
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.backends import BACKENDS
from fsdl_data.core.storage.objects import ObjectStore, open_object_store
from fsdl_data_tests.processes import free_port

PG_ADMIN_URL = os.environ.get("FSDL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The tests' worlds start on 2026-01-01 and their calendar is open-ended, whatever calendar a
# demo left in this checkout's .fsdl/ (set before any test imports the partitions).
os.environ.setdefault("FSDL_START_DATE", "2026-01-01")
# `world append` never reloads a UI someone runs on this machine's default port.
os.environ.setdefault("FSDL_DAGSTER_URL", "off")


def service_missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not reachable")
    pytest.skip(f"{what} not reachable")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto's server mode) over real HTTP on loopback."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    try:
        yield url
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS_* variables pointing boto3 (and dagster-aws) at the test S3 server, as a user would."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return s3_endpoint


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture
def s3_bucket(s3_env: str) -> str:
    name = f"fsdl-{uuid.uuid4().hex[:12]}"
    s3_client(s3_env).create_bucket(Bucket=name)
    return name


def _store_url(scheme: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store's URL for each registered backend (a new backend adds its line here)."""
    if scheme == "file":
        return f"file://{tmp_path / 'objects'}"
    if scheme == "s3":
        return f"s3://{request.getfixturevalue('s3_bucket')}/some/prefix"
    raise NotImplementedError(f"no test server for {scheme}://: add one to _store_url")


@pytest.fixture(params=sorted(BACKENDS))
def object_store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """The object-store contract runs against every registered backend, opened by its URL."""
    return open_object_store(_store_url(request.param, request, tmp_path))


def _pg_reachable() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_reachable()


@pytest.fixture
def pg_database(pg_available: bool) -> Iterator[str]:
    """A fresh Postgres database for one test, dropped afterwards; yields its URL."""
    if not pg_available:
        service_missing(f"PostgreSQL at {PG_ADMIN_URL}")
    import psycopg2

    name = f"fsdl_test_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(PG_ADMIN_URL)
    conn.autocommit = True
    conn.cursor().execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(params=["sqlite", "postgres"])
def app_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppDatabase]:
    """The app-database contract runs against SQLite and Postgres."""
    url = (
        f"sqlite:///{tmp_path / 'app.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_database")
    )
    db = AppDatabase(url)
    db.create_schema()
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def embedded_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The zero-service default, rooted in a temporary FSDL_HOME."""
    for var in ("FSDL_OBJECT_STORE_URL", "FSDL_LAKE_URL", "FSDL_APP_DB_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FSDL_HOME", str(tmp_path / "fsdl"))
    return Settings.from_env()


@pytest.fixture
def production_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_bucket: str, pg_database: str
) -> Settings:
    """S3 (over HTTP) for objects and the lake, Postgres for the app database."""
    monkeypatch.setenv("FSDL_HOME", str(tmp_path / "fsdl"))
    monkeypatch.setenv("FSDL_OBJECT_STORE_URL", f"s3://{s3_bucket}/raw")
    monkeypatch.setenv("FSDL_LAKE_URL", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("FSDL_APP_DB_URL", pg_database)
    return Settings.from_env()
