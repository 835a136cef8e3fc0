"""A GPU-tagged step's torch threads come from what runs beside it: alone it gets the cores it
may run on; beside an executing sibling step of its run, one fewer (core.vision.threads)."""

import json
from pathlib import Path

import dagster as dg
import pytest

from fsdl_data import resources
from fsdl_data.core.vision.threads import usable_cores
from fsdl_data.resources import TorchResource
from fsdl_data_tests.assets import torch_company_job
from fsdl_data_tests.helpers import run_job_module


def test_a_step_alone_gets_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "cores_busy_beside", lambda: 0.0)  # a quiet machine

    @dg.asset
    def alone(context: dg.AssetExecutionContext, torch: TorchResource) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=torch.use_threads(context).metadata())

    result = dg.materialize([alone], resources={"torch": TorchResource()})
    (event,) = result.asset_materializations_for_node("alone")
    assert event.metadata["torch_threads"].value == usable_cores()
    assert "0 steps beside" in event.metadata["threads_from"].value


def test_a_sibling_step_executing_beside_is_counted(tmp_path: Path) -> None:
    run_job_module(torch_company_job, tmp_path)
    choice = json.loads((tmp_path / "probe.json").read_text())
    assert choice["steps_beside"] == 1
    assert choice["threads"] == max(
        1, min(choice["cpus"] - 1, round(choice["cpus"] - choice["busy_beside"]))
    )


def test_an_explicit_count_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    @dg.asset
    def told(context: dg.AssetExecutionContext, torch: TorchResource) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=torch.use_threads(context).metadata())

    result = dg.materialize([told], resources={"torch": TorchResource(threads=3)})
    (event,) = result.asset_materializations_for_node("told")
    assert event.metadata["torch_threads"].value == 3
