"""Shared benchmark set-up."""

import os
import tempfile
from pathlib import Path


def fresh_embedded_home() -> Path:
    """A new, empty FSDL_HOME on the embedded default (no URLs inherited from the environment)."""
    home = Path(tempfile.mkdtemp(prefix="fsdl-bench-"))
    os.environ["FSDL_HOME"] = str(home)
    for var in ("FSDL_OBJECT_STORE_URL", "FSDL_LAKE_URL", "FSDL_APP_DB_URL"):
        os.environ.pop(var, None)
    return home
