"""Test helpers: seed a small world into the configured stores and materialize it."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import ModuleType

import dagster as dg

from fsdl_data.config import Settings
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.storage.objects import ObjectStore, open_object_store
from fsdl_data.core.world.generator import DayReport, seed_world
from fsdl_data.core.world.spec import WorldSpec
from fsdl_data.definitions import all_assets, all_checks
from fsdl_data.publishing import world_clock_config
from fsdl_data.resources import build_resources

SMALL = WorldSpec(
    seed=7, start_date=date(2026, 1, 1), photos_per_day=60, users=80, events_per_day=3000
)


def stores(settings: Settings) -> tuple[ObjectStore, AppDatabase, Lake]:
    return (
        open_object_store(settings.object_store_url),
        AppDatabase(settings.app_db_url),
        Lake(open_object_store(settings.lake_url)),
    )


def seed(settings: Settings, spec: WorldSpec = SMALL, days: int = 2) -> list[DayReport]:
    store, db, _ = stores(settings)
    try:
        return seed_world(spec, days, store, db, settings.truth_dir)
    finally:
        db.dispose()


INGEST = dg.AssetSelection.groups("sources", "tables")


def materialize_day(
    settings: Settings,
    day: str,
    instance: dg.DagsterInstance | None = None,
    selection: dg.AssetSelection | None = INGEST,
    run_config: dict | None = None,
) -> dg.ExecuteInProcessResult:
    """One day partition of `selection` (default: ingest; None: the whole nightly graph)."""
    return dg.materialize(
        [*all_assets, *all_checks],
        partition_key=day,
        resources=build_resources(settings),
        instance=instance,
        selection=selection,
        raise_on_error=False,
        # replaying the world's nights: published when the schedule would have
        run_config={**world_clock_config(), **(run_config or {})},
    )


def step_failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Each failed step's error, first line and the frame that raised, so that an assertion on
    `result.success` says why (a run with raise_on_error=False keeps its errors in events)."""
    failures = {}
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            cause = error.cause or error
            first_lines = [(e.message.strip().splitlines() or [""])[0] for e in (error, cause)]
            raising = (cause.stack or ["?"])[-1].strip()
            failures[event.step_key] = " | ".join([*first_lines, raising])
    return failures


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def run_job_module(module: ModuleType, folder: Path) -> None:
    """Runs a test job module's job (its `get_job`, reconstructable so that a multiprocess
    executor can run the steps in subprocesses) with `run_config(folder)` on a test instance;
    fails unless the run succeeds."""
    with dg.instance_for_test() as instance:
        result = dg.execute_job(
            dg.reconstructable(module.get_job),
            instance=instance,
            run_config=module.run_config(folder),
        )
        assert result.success
