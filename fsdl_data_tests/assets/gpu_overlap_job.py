"""A job for test_gpu_executor: two GPU-tagged steps and two CPU steps that record when they ran.
Importable (not inside a test) so the multiprocess executor can reconstruct it in subprocesses."""

import json
import os
import time
from pathlib import Path

import dagster as dg

from fsdl_data.executors import GPU_OP_TAGS, GPU_POOL, gpu_aware_executor


def _record(name: str) -> None:
    start = time.time()
    time.sleep(1.5)
    out = Path(os.environ["FSDL_TEST_INTERVALS"]) / f"{name}.json"
    out.write_text(json.dumps({"start": start, "end": time.time()}))


def _step(name: str, gpu: bool) -> dg.AssetsDefinition:
    @dg.asset(name=name, op_tags=GPU_OP_TAGS if gpu else None, pool=GPU_POOL if gpu else None)
    def _asset() -> None:
        _record(name)

    return _asset


ASSETS = [_step("gpu_a", True), _step("gpu_b", True), _step("cpu_a", False), _step("cpu_b", False)]


def get_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=ASSETS,
        jobs=[dg.define_asset_job("overlap", selection="*", executor_def=gpu_aware_executor)],
    )
    return defs.resolve_job_def("overlap")
