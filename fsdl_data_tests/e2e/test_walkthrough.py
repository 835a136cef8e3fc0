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


def demo_output_in_the_readme() -> list[str]:
    """The README's excerpt of the demo's output; `…` stands for anything."""
    text = (REPO / "README.md").read_text()
    found = re.search(
        r"<!-- demo-output:start -->\s*```text\n(.*?)```\s*<!-- demo-output:end -->", text, re.S
    )
    assert found, "README.md lost its demo-output block"
    return [line for line in found.group(1).splitlines() if line.strip()]


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


def test_every_next_step_the_demo_prints_works_as_printed(tmp_path: Path) -> None:
    """The demo's "Next:" lines, run verbatim from the folder it ran in (`.venv/bin/` there is
    this interpreter's), with the world's own days filled in: no placeholder, no "expired"."""
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_"))}
    env |= {"DAGSTER_HOME": str(tmp_path)}
    demo = subprocess.run(
        [".venv/bin/fsdl-data", "demo", "--days", "3", "--photos-per-day", "120", "--users",
         "100", "--events-per-day", "2000"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "UserWarning" not in demo.stderr and " - WARNING - " not in demo.stderr, demo.stderr
    assert "2026-01-01: ok" in demo.stdout and "2026-01-03: ok" in demo.stdout
    for line in demo_output_in_the_readme():  # what the README says the demo prints
        pattern = re.escape(line).replace("…", ".*")
        assert any(re.fullmatch(pattern, printed) for printed in demo.stdout.splitlines()), line
    steps = demo.stdout.split("\nNext:\n", 1)[1].splitlines()
    commands = [line.split("#")[0].strip() for line in steps if line.strip()]
    assert "<" not in "".join(commands), commands  # every value filled in
    ran = [c for c in commands if not c.startswith("make ")]
    assert len(ran) == 3, ran
    for command in ran:
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=1500,
        )  # fmt: skip
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
        if "features get" in command:
            assert "as served at" in done.stdout and "expired" not in done.stdout, done.stdout
        if "--day 2026-01-04" in command:
            assert "2026-01-04: ok" in done.stdout, done.stdout
