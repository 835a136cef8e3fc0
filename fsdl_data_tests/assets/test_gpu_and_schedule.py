"""GPU-tagged steps never overlap within a run while other steps do; the nightly schedule."""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from fsdl_data.config import Settings
from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.definitions import defs
from fsdl_data.executors import GPU_POOL, GPU_TAG_KEY
from fsdl_data.resources import build_resources
from fsdl_data_tests.assets import gpu_overlap_job
from fsdl_data_tests.helpers import run_job_module


def _overlap(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def test_at_most_one_gpu_step_at_a_time(tmp_path: Path) -> None:
    run_job_module(gpu_overlap_job, tmp_path)
    iv = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("*.json")}
    assert set(iv) == {"gpu_a", "gpu_b", "cpu_a", "cpu_b"}
    assert not _overlap(iv["gpu_a"], iv["gpu_b"])  # the limit holds
    # ...while the executor is really parallel: some other pair of steps did overlap
    others = [
        ("cpu_a", "cpu_b"),
        ("cpu_a", "gpu_a"),
        ("cpu_a", "gpu_b"),
        ("cpu_b", "gpu_a"),
        ("cpu_b", "gpu_b"),
    ]
    assert any(_overlap(iv[a], iv[b]) for a, b in others)


def test_inference_and_training_are_gpu_tagged() -> None:
    graph = defs.resolve_asset_graph()
    for key in ("photo_classifications", "photo_classifier"):
        node = graph.get(dg.AssetKey(key))
        assets_def = node.assets_def
        op = assets_def.op
        assert op.tags[GPU_TAG_KEY] == "true" and op.pool == GPU_POOL, key
    assert defs.resolve_job_def("nightly").executor_def.name == "gpu_aware_multiprocess"


def test_nightly_schedule_runs_the_day_that_ended_once_and_only_with_data(
    embedded_settings: Settings,
) -> None:
    with ExitStack() as stack:
        _check_nightly_schedule(embedded_settings, stack)


def _check_nightly_schedule(embedded_settings: Settings, stack: ExitStack) -> None:
    from dagster._core.storage.dagster_run import DagsterRun

    schedule = defs.resolve_schedule_def("nightly")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.job_name == "nightly"
    store = open_object_store(embedded_settings.object_store_url)
    resources = {"objects": build_resources(embedded_settings)["objects"]}
    instance = stack.enter_context(dg.instance_for_test())

    def tick(day: int) -> dg.ScheduleExecutionData:
        moment = datetime(2026, 1, day, 2, 0, tzinfo=UTC)
        with dg.build_schedule_context(
            scheduled_execution_time=moment,
            resources=resources,
            instance=instance,
            repository_def=defs.get_repository_def(),
        ) as context:
            return schedule.evaluate_tick(context)

    empty = tick(5)  # nothing landed for 2026-01-04: no run, and the tick says why
    assert not empty.run_requests and "2026-01-04 has no data yet" in empty.skip_message
    store.put("events/date=2026-01-04/part-0.json.gz", b"x")
    (request,) = tick(5).run_requests
    assert request.partition_key == "2026-01-04"
    instance.add_run(
        DagsterRun(job_name="nightly", status=dg.DagsterRunStatus.SUCCESS,
                   tags={"dagster/partition": "2026-01-04"})
    )  # fmt: skip
    done = tick(5)
    assert not done.run_requests and "already complete" in done.skip_message
