"""A run whose worker process dies mid-run does not wedge its day: a real dagster-daemon's run
monitoring fails the run (the worker's pid is gone), and the photo sensor requests the day again
under a new attempt key; the day ends ingested exactly once."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from fsdl_data.config import Settings
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake
from fsdl_data_tests.helpers import SMALL, seed

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAY = "2026-01-01"
STARTED_PROCESS = re.compile(r"Started process for run \(pid: (\d+)\)")


def wait_for(condition, log: Path, within_s: float = 300):
    deadline = time.monotonic() + within_s
    while not (found := condition()):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
    return found


def kill_process_tree(pid: int) -> None:
    """SIGKILL `pid` and every process below it, each stopped first so that none starts a new
    child while the tree is collected from /proc."""
    os.kill(pid, signal.SIGSTOP)
    tree, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            found = [int(child) for child in children.read_text().split()]
            for child in found:
                with contextlib.suppress(ProcessLookupError):  # it may have just exited
                    os.kill(child, signal.SIGSTOP)
            tree += found
            frontier += found
    for member in tree:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


@pytest.mark.daemon
def test_a_killed_run_worker_fails_its_run_and_the_day_is_ingested_once_on_a_new_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 2  # the test need not wait 20 s
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_"))}
    env |= {"DAGSTER_HOME": str(home), "FSDL_HOME": str(tmp_path / "fsdl"),
            "FSDL_SENSOR_INTERVAL_S": "2", "FSDL_START_DATE": DAY}  # fmt: skip
    for name in ("FSDL_HOME", "FSDL_START_DATE"):
        monkeypatch.setenv(name, env[name])
    for name in ("FSDL_OBJECT_STORE_URL", "FSDL_LAKE_URL", "FSDL_APP_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    seed(settings, SMALL, days=1)
    subprocess.run(
        [str(BIN / "dagster"), "sensor", "start", "new_photo_objects", "-w", "workspace.yaml"],
        cwd=REPO, env=env, check=True, capture_output=True,
    )  # fmt: skip
    log = tmp_path / "daemon.log"
    daemon = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:

            def worker() -> tuple[dg.DagsterRun, int] | None:
                for run in instance.get_runs():
                    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):  # fmt: skip
                        found = STARTED_PROCESS.search(entry.message or "")
                        if found and run.status == dg.DagsterRunStatus.STARTED:
                            return run, int(found.group(1))
                return None

            first, pid = wait_for(worker, log)
            # The run worker dies mid-run with its step processes (a lost machine or
            # container). Killed alone, a step process it had already started finishes the
            # ingest by itself: the day is complete and rightly never requested again, and the
            # retry path goes untested (CI at 776d9bf: no second run came within 300 s).
            kill_process_tree(pid)  # the daemon lives on

            def settled() -> list[dg.DagsterRun] | None:
                runs = instance.get_runs()
                statuses = {r.run_id: r.status for r in runs}
                done = statuses[first.run_id] == dg.DagsterRunStatus.FAILURE and any(
                    s == dg.DagsterRunStatus.SUCCESS for s in statuses.values()
                )
                return runs if done else None

            runs = wait_for(settled, log)
            time.sleep(6)  # a few more ticks: nothing more may be requested
            runs = instance.get_runs()
            # one failure event, or two when run monitoring and the code server's orphan check
            # both notice the death (seen on a clean-clone run): the run is failed either way
            failures = [
                e.message or "" for e in instance.all_logs(first.run_id)
                if e.dagster_event and e.dagster_event.is_run_failure
            ]  # fmt: skip
            engine_messages = [e.message or "" for e in instance.all_logs(
                first.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]  # fmt: skip
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    # Whoever notices first fails the run: our worker health check (run monitoring), or, while
    # the code server that started the worker lives, its own orphan check, which records the
    # signal in an engine event. Either way the death is named, never left STARTED.
    assert failures, "the killed run has no failure event"
    by_monitoring = any(f"(pid {pid}) is gone (killed or crashed)" in m for m in failures)
    by_code_server = any(
        f"Run execution process for {first.run_id}" in m and "signal 9" in m
        for m in engine_messages
    )
    assert by_monitoring or by_code_server, (failures, engine_messages)
    keys = sorted(r.tags["dagster/run_key"] for r in runs)
    assert len(runs) == 2 and keys[1] == f"{keys[0]}-attempt2", keys  # one retry, a new key
    assert {r.status for r in runs} == {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS}
    lake = Lake(LocalObjectStore(tmp_path / "fsdl" / "lake"))
    rows = lake.read("raw_photos", DAY)
    objects = LocalObjectStore(tmp_path / "fsdl" / "objects")
    photos = [listed.key for listed in objects.list(f"photos/date={DAY}/")]
    assert sorted(rows["key"].to_list()) == sorted(photos)  # every photo exactly once
    shutil.rmtree(home, ignore_errors=True)
