"""Runs cannot wedge a day: a run whose process is gone is failed (by run monitoring in the
daemon, or by the next CLI start), and the sensor then asks again under a new attempt key."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.storage.dagster_run import DagsterRun

from fsdl_data.core.processes import local_pid, process_gone, this_worker
from fsdl_data.instance import WORKER_TAG, WorkerCheckingRunLauncher, fail_orphaned_runs
from fsdl_data.sensors import INGEST_TAG, MAX_ATTEMPTS, next_attempt

REPO = Path(__file__).resolve().parents[2]
STARTED = dg.DagsterRunStatus.STARTED


def dead_pid() -> int:
    """A pid that was a process a moment ago and is gone now (reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The embedded instance exactly as dagster.yaml configures it."""
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("FSDL_HOME", str(tmp_path / "home"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # any working directory: the instance lives under FSDL_HOME
    with dg.DagsterInstance.from_config(str(tmp_path)) as found:
        yield found


def test_run_storage_and_artifacts_live_under_fsdl_home(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    run = started_run(instance, {})
    home = tmp_path / "home" / "dagster"
    assert (home / "storage" / "history" / "runs.db").is_file()
    assert instance.get_run_by_id(run.run_id) is not None
    assert instance.root_directory == str(home)
    assert list((tmp_path / "elsewhere").iterdir()) == []  # nothing in the working directory


def started_run(instance: dg.DagsterInstance, tags: dict[str, str]) -> DagsterRun:
    return instance.add_run(DagsterRun(job_name="ingest_photos", status=STARTED, tags=tags))


def test_both_instance_files_monitor_runs_with_a_worker_health_check() -> None:
    sections = ("run_launcher", "run_monitoring")
    embedded, production = (
        yaml.safe_load((REPO / path).read_text())
        for path in ("dagster.yaml", "deploy/postgres/dagster.yaml")
    )
    assert {s: embedded[s] for s in sections} == {s: production[s] for s in sections}
    monitoring = embedded["run_monitoring"]
    assert monitoring["enabled"] and monitoring["start_timeout_seconds"] > 0
    assert monitoring["cancel_timeout_seconds"] > 0


def test_processes_are_judged_gone_only_when_they_are(tmp_path: Path) -> None:
    assert not process_gone(os.getpid())
    assert process_gone(dead_pid())
    assert local_pid(this_worker()) == os.getpid()
    assert local_pid("another-host:123") is None and local_pid("garbage") is None
    zombie = subprocess.Popen(["true"])  # exited, not yet reaped: as good as gone
    try:
        os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)
        assert process_gone(zombie.pid)
    finally:
        zombie.wait()


def test_run_monitoring_fails_a_run_whose_worker_died(instance: dg.DagsterInstance) -> None:
    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    assert instance.run_monitoring_enabled
    assert isinstance(instance.run_launcher, WorkerCheckingRunLauncher)
    gone = dead_pid()
    cli = started_run(instance, {WORKER_TAG: f"{this_worker().rsplit(':', 1)[0]}:{gone}"})
    launched = started_run(instance, {})  # a launched run: its worker's pid is an engine event
    instance.report_engine_event(f"Started process for run (pid: {gone}).", launched)
    alive = started_run(instance, {WORKER_TAG: this_worker()})
    elsewhere = started_run(instance, {WORKER_TAG: "another-host:1"})
    unknown = started_run(instance, {})  # not started yet: nothing to judge
    for run in (cli, launched, alive, elsewhere, unknown):
        record = instance.get_run_record_by_id(run.run_id)
        monitor_started_run(instance, None, record, logging.getLogger("test"))  # the daemon's step

    def status(run: DagsterRun) -> dg.DagsterRunStatus:
        return instance.get_run_by_id(run.run_id).status

    assert status(cli) == status(launched) == dg.DagsterRunStatus.FAILURE
    assert status(alive) == status(elsewhere) == status(unknown) == STARTED
    (failure,) = [
        e
        for e in instance.all_logs(cli.run_id)
        if e.dagster_event and e.dagster_event.is_run_failure
    ]
    assert f"(pid {gone}) is gone (killed or crashed)" in failure.message


def test_the_next_cli_start_fails_a_killed_cli_run(instance: dg.DagsterInstance) -> None:
    killed = started_run(instance, {WORKER_TAG: f"{this_worker().rsplit(':', 1)[0]}:{dead_pid()}"})
    running = started_run(instance, {WORKER_TAG: this_worker()})
    assert fail_orphaned_runs(instance) == [killed.run_id]
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(running.run_id).status == STARTED
    assert fail_orphaned_runs(instance) == []


def test_a_failed_ingest_is_asked_again_under_a_new_attempt_key(
    instance: dg.DagsterInstance,
) -> None:
    base = "new_photo_objects-2026-01-01-abc-0"
    assert next_attempt(instance, base) == base  # never run: the base key
    first = started_run(instance, {INGEST_TAG: base})
    assert next_attempt(instance, base) == base  # in flight: the same key, so no second run
    instance.report_run_failed(first, "worker gone")
    for attempt in range(2, MAX_ATTEMPTS + 1):
        key = next_attempt(instance, base)
        assert key == f"{base}-attempt{attempt}"
        retry = started_run(instance, {INGEST_TAG: base, "dagster/run_key": key})
        assert next_attempt(instance, base) == base  # the retry is in flight: nothing new
        instance.report_run_failed(retry, "worker gone again")
    assert next_attempt(instance, base) is None  # gave up: the sensor says so in its tick log
