"""`fsdl-data check`: every asset check on a small generated world, the way CI runs them.

Seeds a few days (with the recoverable defects: quarantined lines, broken images, replays) into
a fresh home, or
uses the world already in --home, materializes each day, and prints one row per check
evaluation. Exit code 1 when any step failed for another reason than a blocking check (it
crashed: its checks never ran, so a green result would be a lie), naming the steps; else 2 when
a blocking check failed at ERROR severity (`failures`); 0 otherwise. Severity is shown for failed checks
only: a passed check is just passed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fsdl_data.cli import _common


def home_settings(home: Path) -> Any:
    """The environment's settings, but every store in `home` (the world lives there, whatever
    the shell's URLs say), its calendar read from there."""
    from fsdl_data.config import Settings

    return Settings.from_env(home=home, object_store_url="", lake_url="", app_db_url="")


def check(days: int = 3, home: str | None = None, job: str = "nightly") -> int:
    import tempfile

    from fsdl_data.cli import _common, world
    from fsdl_data.cli.runner import materialize_days, resolve_job

    resolve_job(_common.definitions(), job)  # an unknown job: one line, before any world
    chosen_home = Path(home or tempfile.mkdtemp(prefix="fsdl-check-"))
    _common.use_settings(home_settings(chosen_home))
    from fsdl_data.core.world.generator import read_manifest, world_days

    store = _common.object_store()
    if read_manifest(store) is None:
        # every recoverable defect (bad lines, broken images, replays); no orphaned photos,
        # which a blocking check exists to stop (a test breaks a world on purpose instead)
        world.seed(days, photos_per_day=120, users=150, events_per_day=3_000, defects=True,
                   orphan_photos=False)  # fmt: skip
    import dagster as dg

    _common.use_settings(home_settings(chosen_home))  # the calendar of the world just seeded
    chosen = world_days(store)[:days]
    print(f"materializing {job} for {', '.join(chosen)} in {chosen_home} ...")
    # the table below says what failed; Dagster's own log of it would be tracebacks
    defs = _common.definitions()
    runs = materialize_days(defs, job, chosen, dg.DagsterInstance.ephemeral(), "CRITICAL",
                            world_clock=True)  # fmt: skip
    outcomes = sorted((o for r in runs for o in r.outcomes), key=lambda o: (o.check, o.partition))
    width = max((len(o.check) for o in outcomes), default=10)
    print(f"\n{'check':{width}s}  {'partition':10s}  result")
    for o in outcomes:
        result = "passed" if o.passed else f"FAILED {o.severity:5s}  {o.description[:100]}"
        print(f"{o.check:{width}s}  {o.partition:10s}  {result}")
    blocking, warned = failures(outcomes)
    crashed = [f"{r.day} {step}" for r in runs for step in r.crashed_steps]
    print(f"\n{len(outcomes)} check evaluations: {len(blocking)} blocking failures, "
          f"{len(warned)} warnings, {len(crashed)} failed steps")  # fmt: skip
    if crashed:
        print("failed steps (their checks and everything after them did not run):")
        for step in crashed:
            print(f"  {step[:200]}")
        return 1
    return 2 if blocking else 0


def failures(outcomes: list[Any]) -> tuple[list[Any], list[Any]]:
    """The failed evaluations that blocked (a blocking check at ERROR severity: what depends on
    its asset did not run), and the others (warnings, or a non-blocking check's ERROR, such as
    the agreement gate, whose asset has already acted on it)."""
    failed = [o for o in outcomes if not o.passed]
    blocked = [o for o in failed if o.blocking and o.severity == "ERROR"]
    return blocked, [o for o in failed if o not in blocked]


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser(
        "check",
        help="run every asset check on a small generated world (CI); "
        "exit 1 when a step fails, 2 on a failed blocking check",
    )
    p.add_argument("--days", type=_common.at_least_one, default=3, help="world days to materialize")
    p.add_argument("--home", default=None, help="use (or seed) the world in this FSDL_HOME")
    p.add_argument("--job", default="nightly", help="nightly (every check) or ingest")
    p.set_defaults(handler=lambda a: check(a.days, a.home, a.job))
