"""`fsdl-data rebuild` of a training snapshot made nights ago: after three more nights (world
append + nightly, three times) it is made again in a scratch home from its recorded inputs and
comes out at the same hash, leaving today's lake as it was; with one of its sources changed
since, the rebuild names that source as the first input it cannot obtain. Then a user is
forgotten and the next night (world append + nightly) runs without blocking on them.

Heavy (a tiny world's five nights, a few minutes): under the `walkthrough` marker, which
`make test-heavy` and .ci/run run."""

from __future__ import annotations

import gzip
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.walkthrough


def fsdl(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fsdl_data.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip


def ran(r: subprocess.CompletedProcess) -> bool:
    """Every night's step ran (a tiny world's popularity model may fail its gate: exit 2)."""
    assert r.returncode in (0, 2) and "step failed" not in r.stdout, r.stdout + r.stderr
    return ": ok run" in r.stdout or "popularity_model" in r.stdout


def lake_state(home: Path) -> dict[str, tuple[int, int]]:
    lake = home / "lake"
    return {str(p.relative_to(lake)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in lake.rglob("*") if p.is_file()}  # fmt: skip


def test_an_old_training_snapshot_rebuilds_to_its_hash_after_three_more_nights(
    tmp_path: Path,
) -> None:
    rng = random.Random()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_HOME"))}
    env["FSDL_HOME"] = str(tmp_path / "fsdl")
    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    tiny = ["--photos-per-day", str(rng.randint(40, 70)), "--users", str(rng.randint(30, 50)),
            "--events-per-day", str(rng.randint(600, 1000)), "--seed", str(rng.randint(0, 999))]  # fmt: skip
    assert fsdl(["world", "seed", "--days", "2", *tiny], tmp_path, env).returncode == 0
    assert ran(fsdl(["materialize"], tmp_path, env))
    listed = fsdl(["snapshot", "list", "--name", "training_set"], tmp_path, env)
    first = re.findall(r"^([0-9a-f]{12}) ", listed.stdout, re.MULTILINE)
    assert len(first) == 1, listed.stdout  # the second night made the first training snapshot
    for _ in range(3):
        appended = fsdl(["world", "append"], tmp_path, env)
        assert appended.returncode == 0, appended.stderr
        day = re.search(r"^  (\d{4}-\d\d-\d\d):", appended.stdout, re.MULTILINE).group(1)
        assert ran(fsdl(["materialize", "--day", day], tmp_path, env))
    last = day
    listed = fsdl(["snapshot", "list", "--name", "training_set"], tmp_path, env)
    assert len(re.findall(r"^[0-9a-f]{12} ", listed.stdout, re.MULTILINE)) == 4, listed.stdout
    before = lake_state(tmp_path / "fsdl")
    r = fsdl(["rebuild", first[0]], tmp_path, env)
    assert r.returncode == 0 and f"== identical to {first[0]}" in r.stdout, r.stdout + r.stderr
    assert "inputs made again" in r.stdout
    assert lake_state(tmp_path / "fsdl") == before  # today's lake is neither read nor written
    # a source changed since: one line less in a log the first night read
    logs = sorted((tmp_path / "fsdl" / "objects" / "events").rglob("*.jsonl.gz"))[:2]
    log = rng.choice(logs)
    lines = gzip.decompress(log.read_bytes()).splitlines(keepends=True)
    lines.pop(rng.randrange(len(lines)))
    log.write_bytes(gzip.compress(b"".join(lines), mtime=0))
    day = re.search(r"date=(\d{4}-\d\d-\d\d)", str(log)).group(1)
    r = fsdl(["rebuild", first[0]], tmp_path, env)
    assert r.returncode == 3, r.stdout + r.stderr
    assert f"cannot be obtained is raw_events[{day}]" in r.stdout, r.stdout
    # after `forget`, the next night's world honours the erasure: nothing blocks on the user
    users = pl.read_parquet(tmp_path / "fsdl" / "lake" / "tables" / "events" / f"date={last}"
                            / "data.parquet")["user_id"].unique().to_list()  # fmt: skip
    user = rng.choice(sorted(users))  # active on the newest night, so likely on the next one
    assert fsdl(["forget", f"user:{user}"], tmp_path, env).returncode == 0
    appended = fsdl(["world", "append"], tmp_path, env)
    day = re.search(r"^  (\d{4}-\d\d-\d\d):", appended.stdout, re.MULTILINE).group(1)
    logs = (tmp_path / "fsdl" / "objects" / "events" / f"date={day}").glob("*.jsonl.gz")
    assert not any(f'"user_id":{user},'.encode() in gzip.decompress(p.read_bytes()) for p in logs)
    r = fsdl(["materialize", "--day", day], tmp_path, env)
    assert ran(r) and "events_users_exist" not in r.stdout, r.stdout + r.stderr
