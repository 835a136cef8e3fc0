"""Shared benchmark set-up."""

import os
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
