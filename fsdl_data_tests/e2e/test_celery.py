"""Steps as Celery tasks on this machine's RabbitMQ: two real workers, one consuming the default
queue and one the `gpu` queue, run the nightly job for a small world (FSDL_EXECUTOR=celery, a
configuration change). Every step's events carry the process id that ran it: both GPU-tagged
steps ran on the `gpu` worker and no other step did."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import pytest

from fsdl_data.config import Settings
from fsdl_data.core.world.spec import WorldSpec
from fsdl_data.executors import GPU_TAG_KEY
from fsdl_data_tests.conftest import service_missing
from fsdl_data_tests.helpers import seed

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAY = "2026-01-01"
TINY = WorldSpec(photos_per_day=40, users=50, events_per_day=400)


def rabbitmq_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
        return True
    except OSError:
        return False


def worker(queue: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """A Celery worker on `queue`, one task at a time, in its own process (`solo` pool), so the
    pid on a step's events is the worker's."""
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "dagster_celery.app", "worker", "-Q", queue,
         "--pool", "solo", "-n", f"{queue}@%h", "--loglevel", "INFO"],
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


@pytest.mark.daemon
@pytest.mark.postgres
def test_gpu_steps_run_on_the_gpu_worker_and_only_they_do(
    tmp_path: Path,
    pg_database: str,
    embedded_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not rabbitmq_up():
        service_missing("RabbitMQ at 127.0.0.1:5672")
    seed(embedded_settings, TINY, days=1)
    url = urlsplit(pg_database)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),  # the instance both workers and the run share: Postgres
        "DAGSTER_PG_HOST": url.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USERNAME": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": url.path.lstrip("/"),
        "DAGSTER_CELERY_BROKER_HOST": "127.0.0.1",
        "FSDL_EXECUTOR": "celery",
        "FSDL_WORLD_CLOCK": "1",  # a replay of the world's night: published when it would have
    }
    for name, value in env.items():
        if name.startswith("DAGSTER_PG_"):
            monkeypatch.setenv(name, value)
    workers = {queue: worker(queue, env, tmp_path / f"{queue}.log") for queue in ("dagster", "gpu")}
    try:
        tags = {"dagster/partition": DAY}
        run = subprocess.run(
            [str(BIN / "dagster"), "job", "execute", "-m", "fsdl_data.definitions",
             "-j", "nightly", "--tags", json.dumps(tags)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        logs = "\n".join((tmp_path / f"{q}.log").read_text()[-2000:] for q in workers)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + logs
    finally:
        for process in workers.values():
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (record,) = instance.get_runs(limit=1)
        assert record.status == dg.DagsterRunStatus.SUCCESS
        starts = instance.all_logs(record.run_id, of_type=dg.DagsterEventType.STEP_START)
    ran_on = {event.step_key: event.dagster_event.pid for event in starts}
    from fsdl_data.definitions import defs

    nodes = defs.resolve_job_def("nightly").graph.nodes
    gpu_steps = {n.name for n in nodes if n.tags.get(GPU_TAG_KEY) == "true"}
    assert gpu_steps == {"photo_classifier", "photo_classifications"} <= set(ran_on)
    assert {ran_on[step] for step in gpu_steps} == {workers["gpu"].pid}
    others = {step: pid for step, pid in ran_on.items() if step not in gpu_steps}
    assert others and set(others.values()) == {workers["dagster"].pid}
