"""docs/use-the-pieces.md's quickstart, run as written: a fresh virtualenv in a temporary
folder, the wheel `make dist` builds installed into it from PyPI and the local wheels, a new
Dagster project scaffolded with `dg`, and its snapshot -> inference -> Label Studio tasks chain
launched on a folder of images. Marker `quickstart` (make test-heavy)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

pytestmark = pytest.mark.quickstart

REPO = Path(__file__).resolve().parents[2]


def quickstart() -> str:
    text = (REPO / "docs" / "use-the-pieces.md").read_text()
    found = re.search(
        r"<!-- quickstart:start -->\s*```bash\n(.*?)```\s*<!-- quickstart:end -->", text, re.S
    )
    assert found, "docs/use-the-pieces.md lost its quickstart block"
    return found.group(1)


def test_the_quickstart_runs_against_the_built_wheel(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(dist), "."],
        cwd=REPO, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = dist.glob("fsdl_data-*.whl")
    base = Path(getattr(sys, "_base_executable", sys.executable)).parent  # not our .venv
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FSDL_", "DAGSTER_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env |= {"PATH": f"{base}:{env.get('PATH', '')}", "FSDL_WHEEL": str(wheel)}
    script = "set -euo pipefail\n" + quickstart()
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert "All definitions loaded successfully" in output  # dg check defs
    assert "RUN_SUCCESS" in output  # dg launch
    project = tmp_path / "photos"
    data = project / "data"
    photos = list((project / ".fsdl" / "objects" / "photos").rglob("*.jpg"))
    assert len(photos) == 60
    assert (data / "snapshots" / "refs" / "photos.json").exists()
    assert not (data / "snapshots" / "snapshots").exists()
    classes = pl.read_parquet(data / "photo_classes.parquet")
    assert classes.height == len(photos)
    (queue,) = (data / "labels" / "queue").glob("date=*")  # one day folder, as labeling_queue's
    tasks = json.loads((queue / "tasks.json").read_text())
    assert len(tasks) == len(photos)
    assert {t["predictions"][0]["model_version"] for t in tasks} == set(
        classes["classifier_version"].to_list()
    )
    assert (queue / "labeling_config.xml").read_text().count("<Choice ") == 5
