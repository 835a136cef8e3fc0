"""GPU-tagged steps never overlap within a run while other steps do; the nightly schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from fsdl_data.definitions import defs
from fsdl_data.executors import GPU_POOL, GPU_TAG_KEY
from fsdl_data_tests.assets import gpu_overlap_job


def _overlap(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def test_at_most_one_gpu_step_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FSDL_TEST_INTERVALS", str(tmp_path))
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(gpu_overlap_job.get_job), instance=instance)
        assert result.success
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


def test_nightly_schedule_runs_the_day_that_ended() -> None:
    schedule = defs.resolve_schedule_def("nightly")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.job_name == "nightly"
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-01-04"
