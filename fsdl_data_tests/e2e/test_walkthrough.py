"""The README's walkthrough, run as written: every command in its block succeeds, in a fresh
folder, on the embedded default. Marker `walkthrough` (make test-heavy)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.walkthrough

REPO = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(
        r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S
    )
    assert found, "README.md lost its walkthrough block"
    return found.group(1)


def test_the_readme_walkthrough_runs(tmp_path: Path) -> None:
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_"))}
    env |= {
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        "DAGSTER_HOME": str(tmp_path),
        "FSDL_HOME": str(tmp_path / ".fsdl"),
    }
    script = "set -euo pipefail\n" + walkthrough()
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "calendar: 2026-01-01 to 2026-01-03" in out
    assert "as served at" in out  # features get
    assert "training_set" in out  # snapshot list
    assert "popularity_model" in out and "raw_photos" in out  # lineage reaches the sources
    assert "0 blocking failures" in out  # check
