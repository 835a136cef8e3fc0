"""New days without a reload by hand: `dagster dev` runs with the photo sensor on; a day added
by `fsdl-data world append` is ingested by the sensor on its next ticks, because append asks
the running UI to reload its code (Dagster reads the calendar only when it loads the
definitions). A day it cannot handle yet (append told not to reload) is named in the tick's
log with what to do. Marker `daemon`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake
from fsdl_data_tests.processes import free_port, stop_group

pytestmark = pytest.mark.daemon

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _wait(what: str, done, log: Path, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while not done():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"{what} did not happen in {limit_s:.0f} s; dagster dev:\n{tail}")
        time.sleep(1)


def test_a_day_appended_while_dagster_dev_runs_is_ingested_on_the_next_ticks(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng()
    root, port = tmp_path, free_port()
    url = f"http://127.0.0.1:{port}"
    for name in ("dagster.yaml", "workspace.yaml"):
        shutil.copy(REPO / name, root / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_"))}
    env |= {"DAGSTER_HOME": str(root), "FSDL_HOME": str(root / ".fsdl"),
            "FSDL_SENSOR_INTERVAL_S": "2", "FSDL_DAGSTER_URL": url,
            "PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])}  # fmt: skip

    def cli(*args: str, **changes: str) -> str:
        done = subprocess.run([str(BIN / "fsdl-data"), *args], cwd=root, env=env | changes,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    cli("world", "seed", "--days", "1", "--photos-per-day", str(rng.integers(3, 9)),
        "--users", "20", "--events-per-day", "50", "--seed", str(rng.integers(1000)))  # fmt: skip
    subprocess.run(
        [str(BIN / "dagster"), "sensor", "start", "new_photo_objects", "-w", "workspace.yaml"],
        cwd=root, env=env, check=True, capture_output=True,
    )  # fmt: skip
    lake = Lake(LocalObjectStore(root / ".fsdl" / "lake"))
    log = root / "dagster-dev.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            _wait("day 1 ingested", lambda: lake.partitions("raw_photos") == ["2026-01-01"], log)
            said = cli("world", "append", FSDL_DAGSTER_URL="off")  # not reloaded: refused, told
            _wait(
                "the tick naming the new day and what to do",
                lambda: (
                    "['2026-01-02']; the calendar is read when the definitions load: "
                    "reload the code location" in log.read_text(errors="replace")
                ),
                log,
            )
            assert "reloaded" not in said and lake.partitions("raw_photos") == ["2026-01-01"]
            said = cli("world", "append")
            assert f"Dagster at {url} reloaded fsdl_data" in said
            days = ["2026-01-01", "2026-01-02", "2026-01-03"]
            _wait("the appended days ingested", lambda: lake.partitions("raw_photos") == days, log)
            photos = [p for d in days for p in (root / ".fsdl/objects/photos").glob(f"date={d}/*")]
            assert sum(len(lake.read("raw_photos", d)) for d in days) == len(photos)
        finally:
            stop_group(server)
