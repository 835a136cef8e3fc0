"""Materializing the graph from the CLI, on the same Dagster instance `make dev` shows."""

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from fsdl_data.config import Settings
from fsdl_data.core.processes import this_worker
from fsdl_data.instance import WORKER_TAG
from fsdl_data.publishing import world_clock_config


def cli_instance(settings: Settings) -> dg.DagsterInstance:
    """DAGSTER_HOME's instance if set, else ./dagster.yaml's (the embedded default), else ephemeral."""
    if settings.dagster_home:
        return dg.DagsterInstance.from_config(str(settings.dagster_home))
    if Path("dagster.yaml").is_file():
        return dg.DagsterInstance.from_config(str(Path.cwd()))
    return dg.DagsterInstance.ephemeral()


# What the CLI's summary after each run already says: the failed steps (one line each, the
# first line of their error) and so the run's failure and the steps it then did not run.
SUMMARIZED = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
NOT_RUN = "Dependencies for step "  # Dagster's line for each step left out after a failure


class _OneLine(logging.Formatter):
    """A run's log record as a CLI user reads it: its level and the first line of what was
    logged (a step's own message, not Dagster's job, run and step prefix)."""

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        text = str(meta.get("orig_message") or record.getMessage())
        step = meta.get("step_key")
        lines = text.strip().splitlines() or [""]
        return f"{record.levelname.lower()}: {f'{step}: ' if step else ''}{lines[0]}"


class _NotSummarized(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if getattr(event, "event_type", None) in SUMMARIZED:
            return False
        return not str(meta.get("orig_message") or "").startswith(NOT_RUN)


@dg.logger(
    {"log_level": dg.Field(str, is_required=False, default_value="WARNING")},
    description="The CLI's console: one line per record at or above log_level; a failed step "
    "or run is left to the summary the CLI prints after each run (its first error line), and "
    "the whole record, stack trace included, to the run's logs in the UI.",
)
def cli_console(init_context: dg.InitLoggerContext) -> logging.Logger:
    console = logging.Logger("fsdl_data.cli", init_context.logger_config["log_level"])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    handler.addFilter(_NotSummarized())
    console.addHandler(handler)
    return console


@dataclass(frozen=True)
class CheckOutcome:
    check: str  # asset:check
    partition: str
    severity: str  # ERROR (blocking) or WARN
    passed: bool
    description: str
    blocking: bool = True  # its spec's: a failure stops what depends on the asset


@dataclass
class DayRun:
    day: str
    success: bool
    run_id: str
    failed_checks: list[str]
    materialized: list[str]
    checks: int
    outcomes: list[CheckOutcome]
    crashed_steps: list[str] = field(default_factory=list)  # "step: first line of its error"


BLOCKED = "DagsterAssetCheckFailedError"  # a step stopped by its own failed blocking check


def crashed_steps(result: dg.ExecuteInProcessResult) -> list[str]:
    """Steps that failed for any reason other than a failed blocking check, each with the first
    line of its innermost error (a retried step's 'Exceeded max_retries' names its cause)."""
    crashed = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        if error is None or error.cls_name == BLOCKED:
            continue
        while error.cause is not None:
            error = error.cause
        first = (error.message or error.cls_name or "").strip().splitlines()
        crashed.append(f"{event.step_key}: {first[0] if first else error.cls_name}")
    return crashed


def resolve_job(defs: dg.Definitions, job_name: str) -> dg.JobDefinition:
    """The job named `job_name`; an unknown name is a ValueError naming the ones there are (the
    CLI asks before it prints or seeds anything, so the error comes first and alone)."""
    jobs = sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__"))
    if job_name not in jobs:
        raise ValueError(f"no job {job_name!r}: choose one of {', '.join(jobs)}")
    return defs.resolve_job_def(job_name)


def materialize_days(
    defs: dg.Definitions,
    job_name: str,
    days: Iterable[str],
    instance: dg.DagsterInstance,
    log_level: str = "WARNING",
    world_clock: bool = False,
    on_run: Callable[[DayRun], None] | None = None,
) -> list[DayRun]:
    """One run of `job_name` per day partition, in order; failed blocking checks stop that day only.

    What the runs publish is stamped with the time they actually ran (a backfill is a later
    version), unless `world_clock`: then they replay a generated world's nights, stamped with
    the simulated time the nightly schedule would have published each day (publishing.py), so
    features are known in the order they would have been. An unknown job is a ValueError naming
    the ones there are. `on_run` sees each day's result as soon as its run ends (the CLI prints
    progress with it)."""
    job = resolve_job(defs, job_name).with_logger_defs({"console": cli_console})
    specs = defs.resolve_asset_graph()
    out = []
    for day in days:
        r = job.execute_in_process(
            partition_key=day,
            instance=instance,
            raise_on_error=False,
            run_config={
                "loggers": {"console": {"config": {"log_level": log_level}}},
                **(world_clock_config() if world_clock else {}),
            },
            tags={WORKER_TAG: this_worker()},  # a kill -9 is detectable
        )
        out.append(
            DayRun(
                day=day,
                success=r.success,
                run_id=r.run_id,
                failed_checks=[
                    f"{e.asset_key.to_user_string()}:{e.check_name}: {e.description}"
                    for e in r.get_asset_check_evaluations()
                    if not e.passed
                ],
                materialized=sorted(
                    {e.asset_key.to_user_string() for e in r.get_asset_materialization_events()}
                ),
                checks=len(r.get_asset_check_evaluations()),
                outcomes=[
                    CheckOutcome(
                        f"{e.asset_key.to_user_string()}:{e.check_name}",
                        getattr(e, "partition", None) or day,
                        e.severity.value,
                        e.passed,
                        e.description or "",
                        specs.get_check_spec(dg.AssetCheckKey(e.asset_key, e.check_name)).blocking,
                    )
                    for e in r.get_asset_check_evaluations()
                ],
                crashed_steps=crashed_steps(r),
            )
        )
        if on_run is not None:
            on_run(out[-1])
    return out
