"""A job for test_gpu_executor: two GPU-tagged steps and two CPU steps that record when they ran.
Importable (not inside a test) so the multiprocess executor can reconstruct it in subprocesses.
The folder they record in comes through run config (`run_config(folder)`), not the environment:
the executor's forkserver keeps the environment of the first test that started it."""

import json
import time
from pathlib import Path

import dagster as dg

from fsdl_data.executors import GPU_OP_TAGS, GPU_POOL, gpu_aware_executor

NAMES = ("gpu_a", "gpu_b", "cpu_a", "cpu_b")


class Record(dg.Config):
    folder: str


def run_config(folder: Path) -> dict:
    return {"ops": {name: {"config": {"folder": str(folder)}} for name in NAMES}}


def _record(name: str, folder: str) -> None:
    start = time.time()
    time.sleep(1.5)
    out = Path(folder) / f"{name}.json"
    out.write_text(json.dumps({"start": start, "end": time.time()}))


def _step(name: str, gpu: bool) -> dg.AssetsDefinition:
    @dg.asset(name=name, op_tags=GPU_OP_TAGS if gpu else None, pool=GPU_POOL if gpu else None)
    def _asset(config: Record) -> None:
        _record(name, config.folder)

    return _asset


ASSETS = [_step("gpu_a", True), _step("gpu_b", True), _step("cpu_a", False), _step("cpu_b", False)]


def get_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=ASSETS,
        jobs=[dg.define_asset_job("overlap", selection="*", executor_def=gpu_aware_executor)],
    )
    return defs.resolve_job_def("overlap")
