"""Instance plug-ins named in dagster.yaml: compute logs under FSDL_HOME, like everything else,
and a run launcher whose workers run monitoring can check (a dead worker fails its run).

A relative `base_dir` in dagster.yaml resolves against each process's working directory (the
webserver's, the daemon's, every run worker's), which scatters logs; this one resolves FSDL_HOME
once, the way `fsdl_data.config` does for the lake and the object store.
"""

from __future__ import annotations

import re
from typing import Any

import dagster as dg
from dagster import Field, StringSource
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster._core.storage.root import LocalArtifactStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

from fsdl_data.config import Settings
from fsdl_data.core.processes import local_pid, process_gone


def home_dagster_dir(*parts: str) -> str:
    """$FSDL_HOME/dagster/<parts>, absolute: the same place from every working directory."""
    return str(Settings.from_env().home.resolve().joinpath("dagster", *parts))


class HomeSqliteStorage(DagsterSqliteStorage):
    """The embedded run, event-log and schedule storage under $FSDL_HOME/dagster/storage (or
    `base_dir`, when given), not in `.fsdl/` of whichever directory a process started in."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: dict[str, Any]) -> Any:
        base = config_value.get("base_dir") or home_dagster_dir("storage")
        return cls.from_local(base_dir=base, inst_data=inst_data)


class HomeArtifactStorage(LocalArtifactStorage):
    """Run artifacts under $FSDL_HOME/dagster (or `base_dir`, when given)."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: dict[str, Any]) -> Any:
        return cls(base_dir=config_value.get("base_dir") or home_dagster_dir(), inst_data=inst_data)


class HomeComputeLogManager(LocalComputeLogManager):
    """Step stdout/stderr under $FSDL_HOME/dagster/logs (or `base_dir`, when given)."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: dict[str, Any]) -> Any:
        default = Settings.from_env().home.resolve() / "dagster" / "logs"
        return cls(base_dir=str(config_value.get("base_dir") or default), inst_data=inst_data)


WORKER_TAG = "fsdl/worker"  # host:pid of the process executing a run in-process (the CLI)
STARTED_PROCESS = re.compile(r"Started process for run \(pid: (\d+)\)")
IN_FLIGHT = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)


def run_worker_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    """The pid executing `run` on this host: the CLI's (its `fsdl/worker` tag), or the run
    worker a launcher started (its 'Started process for run (pid: N)' engine event); None when
    unknown or on another host."""
    if WORKER_TAG in run.tags:
        return local_pid(run.tags[WORKER_TAG])
    pid = None
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        found = STARTED_PROCESS.search(record.message or "")
        pid = int(found.group(1)) if found else pid
    return pid


def worker_gone_message(run: dg.DagsterRun, pid: int) -> str:
    return (
        f"the process executing run {run.run_id[:8]} (pid {pid}) is gone (killed or crashed): "
        "the run is failed so that its day is not blocked; the sensor or a rerun ingests it again"
    )


class WorkerCheckingRunLauncher(DefaultRunLauncher):
    """The default launcher (runs in a subprocess of the code server), plus the worker health
    check run monitoring needs: without it a run whose worker died stays STARTED forever."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        pid = run_worker_pid(self._instance, run)
        if pid is not None and process_gone(pid):
            return CheckRunHealthResult(WorkerStatus.FAILED, worker_gone_message(run, pid))
        return CheckRunHealthResult(WorkerStatus.RUNNING)


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail every in-flight run of this host whose process is gone (a CLI killed with -9: run
    monitoring watches launched runs only when the daemon runs); returns their ids."""
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=list(IN_FLIGHT))):
        pid = run_worker_pid(instance, run)
        if pid is not None and process_gone(pid):
            instance.report_run_failed(run, worker_gone_message(run, pid))
            failed.append(run.run_id)
    return failed
