"""Shared benchmark set-up."""

import os
import sys
import tempfile
import warnings
from pathlib import Path

# Dagster flags beta and preview APIs on every use; a benchmark's output is its figures.
warnings.filterwarnings("ignore")


def fresh_embedded_home() -> Path:
    """A new, empty FSDL_HOME on the embedded default (no URLs inherited from the environment)."""
    home = Path(tempfile.mkdtemp(prefix="fsdl-bench-"))
    os.environ["FSDL_HOME"] = str(home)
    for var in ("FSDL_OBJECT_STORE_URL", "FSDL_LAKE_URL", "FSDL_APP_DB_URL"):
        os.environ.pop(var, None)
    return home


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, for the figures' context."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def nights_up_to(asset: str, day_keys: list[str], seed: int) -> None:
    """Replays the world's nights (on the world's clock) for what `asset` needs: its upstream,
    the classifier the next night's labeling functions use, and the users the blocking
    integrity check reads. A failed night is reported on stderr and the replay goes on."""
    import dagster as dg

    from fsdl_data.cli.runner import materialize_days
    from fsdl_data.definitions import defs

    selection = dg.AssetSelection.assets(asset).upstream() | dg.AssetSelection.assets(
        "photo_classifier", "users", "raw_photos", "photo_metadata_quarantine"
    )
    job = dg.define_asset_job(f"{asset}_upstream", selection=selection)
    bench_defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
    instance = dg.DagsterInstance.ephemeral()
    for run in materialize_days(bench_defs, job.name, day_keys, instance, world_clock=True):
        if not run.success:
            print(f"seed {seed}: night {run.day} failed: {run.failed_checks}", file=sys.stderr)
