"""The production Dagster instance: runs and events stored in Postgres, read back from it;
and secrets never reach logs or metadata."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import psycopg2
import pytest

from fsdl_data.config import Settings
from fsdl_data_tests.helpers import materialize_day, seed

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_materialize_with_postgres_storage(
    embedded_settings: Settings, pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = urlsplit(pg_database)
    monkeypatch.setenv("DAGSTER_PG_HOST", url.hostname or "127.0.0.1")
    monkeypatch.setenv("DAGSTER_PG_PORT", str(url.port or 5432))
    monkeypatch.setenv("DAGSTER_PG_USERNAME", url.username or "postgres")
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", url.path.lstrip("/"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.chdir(tmp_path)

    seed(embedded_settings, days=1)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = materialize_day(embedded_settings, "2026-01-01", instance=instance)
        assert result.success
        run_id = result.run_id

    with dg.DagsterInstance.from_config(str(home)) as fresh:  # a new process would do the same
        run = fresh.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        mat = fresh.get_latest_materialization_event(dg.AssetKey("events"))
        assert mat is not None and mat.run_id == run_id
    with psycopg2.connect(pg_database) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] == 1
        cur.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (run_id,))
        assert cur.fetchone()[0] > 50


@pytest.mark.postgres
def test_database_password_never_reaches_logs_or_metadata(
    tmp_path: Path, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "hunter2-not-for-logs"
    with_password = pg_database.replace("postgres@", f"postgres:{secret}@")  # trust auth ignores it
    monkeypatch.setenv("FSDL_HOME", str(tmp_path / "fsdl"))
    monkeypatch.setenv("FSDL_APP_DB_URL", with_password)
    settings = Settings.from_env()
    seed(settings, days=1)
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_day(settings, "2026-01-01", instance=instance)
        assert result.success
        records = instance.all_logs(result.run_id)
        assert len(records) > 20
        dump = "\n".join(repr(r) for r in records)
        assert secret not in dump
        assert "postgres:***@" in dump  # the redacted URL is what metadata shows
