"""`fsdl-data forget` before any world exists: the application database has no tables yet, so
--verify counts zero and an erasure says the subject is nowhere, each in one line, no traceback."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path


def fsdl(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fsdl_data.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_forget_in_a_home_with_no_world(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_HOME"))}
    env["FSDL_HOME"] = str(tmp_path / "fsdl")
    subject = f"{random.choice(['user', 'photo'])}:{random.randrange(1, 10**6)}"
    verified = fsdl(["forget", "--verify", subject], tmp_path, env)
    assert verified.returncode == 0 and "Traceback" not in verified.stderr, verified.stderr
    assert verified.stdout.startswith(f"{subject}: 0 occurrences"), verified.stdout
    erased = fsdl(["forget", subject], tmp_path, env)
    lines = erased.stderr.strip().splitlines()
    assert erased.returncode == 1 and len(lines) == 1, erased.stderr
    assert "is nowhere" in lines[0] and "check the id" in lines[0], lines[0]
