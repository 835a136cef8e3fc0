"""A job for test_torch_threads: a GPU-tagged step that picks its torch threads while a sibling
step of the same run is executing (it waits for the sibling to start, the sibling waits for it
to finish). Importable so the multiprocess executor can reconstruct it in subprocesses."""

import json
import os
import time
from pathlib import Path

import dagster as dg

from fsdl_data.executors import GPU_OP_TAGS, GPU_POOL, gpu_aware_executor
from fsdl_data.resources import TorchResource


def _wait_for(path: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@dg.asset(op_tags=GPU_OP_TAGS, pool=GPU_POOL)
def probe(context: dg.AssetExecutionContext, torch: TorchResource) -> None:
    folder = Path(os.environ["FSDL_TEST_INTERVALS"])
    _wait_for(folder / "sibling_started")
    choice = torch.use_threads(context)
    (folder / "probe.json").write_text(json.dumps(choice.__dict__))


@dg.asset
def sibling() -> None:
    folder = Path(os.environ["FSDL_TEST_INTERVALS"])
    (folder / "sibling_started").touch()
    _wait_for(folder / "probe.json")


def get_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=[probe, sibling],
        jobs=[dg.define_asset_job("company", selection="*", executor_def=gpu_aware_executor)],
        resources={"torch": TorchResource()},
    )
    return defs.resolve_job_def("company")
