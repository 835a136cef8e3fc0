"""A job for test_torch_threads: a GPU-tagged step that picks its torch threads while a sibling
step of the same run is executing (it waits for the sibling to start, the sibling waits for it
to finish). Importable so the multiprocess executor can reconstruct it in subprocesses. The
folder they meet in comes through run config (`run_config(folder)`), not the environment: the
executor's forkserver keeps the environment of the first test that started it."""

import json
import time
from pathlib import Path

import dagster as dg

from fsdl_data.executors import GPU_OP_TAGS, GPU_POOL, gpu_aware_executor
from fsdl_data.resources import TorchResource


def _wait_for(path: Path, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


class Meeting(dg.Config):
    folder: str


def run_config(folder: Path) -> dict:
    return {"ops": {name: {"config": {"folder": str(folder)}} for name in ("probe", "sibling")}}


@dg.asset(op_tags=GPU_OP_TAGS, pool=GPU_POOL)
def probe(context: dg.AssetExecutionContext, config: Meeting, torch: TorchResource) -> None:
    folder = Path(config.folder)
    _wait_for(folder / "sibling_started")
    choice = torch.use_threads(context)
    (folder / "probe.json").write_text(json.dumps(choice.__dict__))


@dg.asset
def sibling(config: Meeting) -> None:
    folder = Path(config.folder)
    (folder / "sibling_started").touch()
    _wait_for(folder / "probe.json")


def get_job() -> dg.JobDefinition:
    defs = dg.Definitions(
        assets=[probe, sibling],
        jobs=[dg.define_asset_job("company", selection="*", executor_def=gpu_aware_executor)],
        resources={"torch": TorchResource()},
    )
    return defs.resolve_job_def("company")
