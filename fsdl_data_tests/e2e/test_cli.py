"""The CLI as a user runs it: seed, append, materialize onto a persistent instance, SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fsdl_data_tests.processes import free_port

REPO = Path(__file__).resolve().parents[2]


def fsdl(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fsdl_data.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line_error(r: subprocess.CompletedProcess, says: str) -> None:
    """A user's mistake: exit 1 and one line on stderr that says `says`, no traceback."""
    assert r.returncode == 1 and says in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def one_day_home(
    tmp_path: Path, env: dict[str, str], name: str, *seed_flags: str
) -> tuple[Path, dict[str, str]]:
    """A one-day world seeded with `seed_flags` into its own FSDL_HOME; the home and its env."""
    home = tmp_path / name
    env = {**env, "FSDL_HOME": str(home)}
    r = fsdl(["world", "seed", "--days", "1", *seed_flags], tmp_path, env)
    assert r.returncode == 0, r.stderr
    return home, env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_HOME"))}
    e["FSDL_HOME"] = str(tmp_path / "fsdl")
    e["FSDL_DAGSTER_URL"] = f"http://127.0.0.1:{free_port()}"  # no UI there: append says so
    return e


def test_seed_append_materialize_sql(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "dagster.yaml").write_text(
        (REPO / "dagster.yaml").read_text()
    )  # the embedded instance
    small = ["--photos-per-day", "40", "--users", "60", "--events-per-day", "1500"]
    r = fsdl(["world", "seed", "--days", "1", *small], tmp_path, env)
    assert r.returncode == 0, r.stderr
    assert "2026-01-01: 60 new users, 40 photos" in r.stdout
    r = fsdl(["world", "seed", "--days", "1"], tmp_path, env)
    assert r.returncode == 1 and "already exists" in r.stderr
    assert fsdl(["world", "append"], tmp_path, env).returncode == 0
    info = fsdl(["world", "info"], tmp_path, env)
    assert "days: 2026-01-01, 2026-01-02" in info.stdout

    r = fsdl(["materialize"], tmp_path, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(": ok run") == 2
    assert (tmp_path / "fsdl" / "dagster" / "storage").is_dir()  # runs persisted for `make dev`
    assert not (tmp_path / ".fsdl").exists()  # under FSDL_HOME, not the working directory

    r = fsdl(["sql", "SELECT count(*) AS photos FROM photo_metadata"], tmp_path, env)
    assert r.returncode == 0 and "80" in r.stdout and "(1 rows)" in r.stdout
    r = fsdl(["sql", "SELECT * FROM no_such_table"], tmp_path, env)
    assert r.returncode == 1 and "no_such_table" in r.stderr and "Traceback" not in r.stderr
    assert "lake tables: annotator_quality, events, events_quarantine" in r.stderr


def test_cli_imports_lazily(tmp_path: Path, env: dict[str, str]) -> None:
    r = fsdl(["--help"], tmp_path, env)
    assert r.returncode == 0 and "materialize" in r.stdout
    r = subprocess.run(
        [sys.executable, "-c", "import sys, fsdl_data.cli; print('dagster' in sys.modules, 'polars' in sys.modules)"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert r.stdout.strip() == "False False"


def test_a_bad_day_or_a_day_without_data_is_one_line_and_publishes_nothing(
    tmp_path: Path, env: dict[str, str]
) -> None:
    small = ["--photos-per-day", "10", "--users", "20", "--events-per-day", "100"]
    assert fsdl(["world", "seed", "--days", "1", *small], tmp_path, env).returncode == 0
    open_calendar = {**env, "FSDL_START_DATE": "2026-01-01"}  # as in production: no end
    for day, says, environment in (
        (
            "../../etc/passwd",
            "is not a day partition: give a day as YYYY-MM-DD between 2026-01-01",
            env,
        ),
        ("2026-13-01", "is not a day partition", env),
        ("2026-01-05", "between 2026-01-01 and 2026-01-01", env),  # the world's days only
        ("2026-01-05", "no data for 2026-01-05", open_calendar),
    ):
        one_line_error(fsdl(["materialize", "--day", day], tmp_path, environment), says)
    r = fsdl(["materialize", "--day", "2026-01-01", "--job", "everything"], tmp_path, env)
    one_line_error(
        r, "no job 'everything': choose one of features, import_labels, ingest, ingest_events"
    )
    assert r.stdout == ""  # the error comes first and alone: no progress line before it
    assert not (tmp_path / "fsdl" / "lake" / "tables").exists()  # nothing was published


def test_check_exits_non_zero_when_a_blocking_check_fails(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # with an orphaned photo: its poster does not exist
    home, env = one_day_home(tmp_path, env, "broken", "--defects", "--photos-per-day", "80",
                             "--users", "60", "--events-per-day", "600")  # fmt: skip
    r = fsdl(["check", "--home", str(home), "--days", "1", "--job", "ingest"], tmp_path, env)
    assert r.returncode == 2, r.stdout + r.stderr
    (row,) = [line for line in r.stdout.splitlines() if "photo_metadata_users_exist" in line]
    assert "2026-01-01" in row and "ERROR" in row and "FAILED" in row
    assert "1 blocking failures" in r.stdout and "Traceback" not in r.stderr
    assert "events_quarantine_rate" in r.stdout and "passed" in r.stdout  # every check listed
    passed = [line for line in r.stdout.splitlines() if line.endswith("passed")]
    assert passed and not any("ERROR" in line or "WARN" in line for line in passed)
    r = fsdl(["check", "--home", str(home), "--job", "everything"], tmp_path, env)
    one_line_error(r, "no job 'everything': choose one of")
    assert r.stdout == ""  # asked before anything is seeded or printed


def test_the_cli_docstring_lists_every_verb_and_its_module() -> None:
    """`cli/__init__.py` says which module holds which verbs: that list is the parser's."""
    import re

    import fsdl_data.cli as cli

    parser = cli.build_parser()
    verbs = next(a for a in parser._actions if a.dest == "verb").choices
    listed = {
        verb: module
        for module, names in re.findall(r"^- (\w+): (.+)$", cli.__doc__ or "", re.M)
        for verb in re.findall(r"`(\w+)`", names)
    }
    assert set(listed) == set(verbs)
    for verb, module in listed.items():
        command = verbs[verb]
        groups = [a for a in command._actions if isinstance(a.choices, dict)]
        handlers = [command.get_default("handler")] + [
            sub.get_default("handler") for group in groups for sub in group.choices.values()
        ]
        modules = {handler.__module__ for handler in handlers if handler is not None}
        assert modules == {f"fsdl_data.cli.{module}"}, verb


def test_check_exits_1_naming_the_step_when_a_step_crashes(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """A crash is not a pass: the checks of a step that failed never ran, so CI must go red."""
    import sqlite3

    home, env = one_day_home(tmp_path, env, "crashing", "--photos-per-day", "20", "--users", "30",
                             "--events-per-day", "300")  # fmt: skip
    with sqlite3.connect(home / "app.db") as db:  # the app database lost a table: `users` crashes
        db.execute("DROP TABLE users")
    r = fsdl(["check", "--home", str(home), "--days", "1", "--job", "ingest"], tmp_path, env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "1 failed steps" in r.stdout and "Traceback" not in r.stdout + r.stderr
    (line,) = [line for line in r.stdout.splitlines() if line.startswith("  2026-01-01 users:")]
    assert "users" in line.split(":", 1)[1]  # the error names what is missing


@pytest.mark.daemon  # heavy: three interrupted and resumed CLI runs
@pytest.mark.parametrize("after", ["photo_pixels", "events_quarantine", "events"])
def test_a_materialize_killed_with_9_blocks_nothing_and_the_rerun_completes(
    tmp_path: Path, env: dict[str, str], after: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kill -9 of `fsdl-data materialize` once `after` is published: the run it leaves STARTED
    is failed at the next CLI start (so the day is not blocked), no pair is half there, and the
    rerun publishes the whole day."""
    import signal
    import time

    import dagster as dg

    from fsdl_data.core.storage.backends.local import LocalObjectStore
    from fsdl_data.core.storage.lake import Lake

    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    monkeypatch.setenv("FSDL_HOME", env["FSDL_HOME"])  # the embedded instance's storage is there
    small = ["--photos-per-day", "20", "--users", "30", "--events-per-day", "300"]
    assert fsdl(["world", "seed", "--days", "1", *small], tmp_path, env).returncode == 0
    command = [sys.executable, "-m", "fsdl_data.cli", "materialize", "--job", "ingest"]
    with dg.DagsterInstance.from_config(str(tmp_path)):
        pass  # its storage made here first: two processes creating it at once would race
    cli = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            while cli.poll() is None:
                if instance.get_latest_materialization_event(dg.AssetKey(after)):
                    break
                time.sleep(0.05)
        assert cli.poll() is None, "the run finished before it could be killed"
        os.killpg(cli.pid, signal.SIGKILL)
        cli.wait(timeout=30)
    finally:
        if cli.poll() is None:
            os.killpg(cli.pid, signal.SIGKILL)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        (killed,) = instance.get_runs()
        assert killed.status == dg.DagsterRunStatus.STARTED  # what a kill -9 leaves
    r = fsdl(["materialize", "--job", "ingest"], tmp_path, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"run {killed.run_id[:8]} had lost its process (killed?): marked failed" in r.stderr
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    lake = Lake(LocalObjectStore(tmp_path / "fsdl" / "lake"))
    for table in ("raw_photos", "photo_pixels", "events", "events_quarantine", "users"):
        assert lake.partitions(table) == ["2026-01-01"], table


def test_a_full_disk_under_the_instance_storage_is_one_line(tmp_path: Path) -> None:
    """SQLite on a real filesystem that fills up (a tiny tmpfs, root), through SQLAlchemy and a
    Dagster error around it, as the instance's storage raises it: one line that says the disk
    is full, not a hundred lines of `disk I/O error` traceback."""
    import sqlalchemy as sa
    from dagster._core.errors import DagsterError

    from fsdl_data.cli import one_line
    from fsdl_data_tests.conftest import service_missing

    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        service_missing(f"a tmpfs mount ({done.stderr.decode().strip()})")
    try:
        engine = sa.create_engine(f"sqlite:///{mount / 'runs.db'}")
        with pytest.raises(sa.exc.OperationalError) as full, engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE runs (body BLOB)"))
            for _ in range(1000):
                conn.execute(sa.text("INSERT INTO runs VALUES (randomblob(4096))"))
        engine.dispose()
        try:
            raise DagsterError("could not store event") from full.value
        except DagsterError as wrapped:
            message = one_line(wrapped)
        assert message is not None and "\n" not in message
        assert "is full or failing" in message and "free space, then rerun" in message
        assert one_line(DagsterError("a bug")) is None  # a bug stays a traceback
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("loaded", ["RepositoryLocation", "PythonError"])
def test_append_asks_a_running_ui_to_reload_and_says_what_happened(
    loaded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`world append` reloads every code location of the UI at FSDL_DAGSTER_URL; a location
    that fails to load is named with what to do; no UI at all is one calm line."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from fsdl_data.cli.world import reload_running_ui

    asked: list[dict] = []

    class Dagster(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            asked.append(body)
            if "reloadRepositoryLocation" in body["query"]:
                entry = {"__typename": loaded, "message": "ImportError: no module named x"}
                data = {"reloadRepositoryLocation": {"__typename": "WorkspaceLocationEntry",
                                                     "locationOrLoadError": entry}}  # fmt: skip
            else:
                names = [{"name": f"location_{i}"} for i in range(2)]
                data = {"workspaceOrError": {"locationEntries": names}}
            answer = json.dumps({"data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Dagster)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        reload_running_ui(url)
    finally:
        server.shutdown()
    said = capsys.readouterr()
    assert [a["variables"].get("name") for a in asked] == [None, "location_0", "location_1"]
    if loaded == "RepositoryLocation":
        assert said.out.count(f"Dagster at {url} reloaded location_") == 2 and not said.err
    else:
        assert "did not reload location_0 (ImportError: no module named x)" in said.err
        assert "Deployment > Reload" in said.err
    reload_running_ui(f"http://127.0.0.1:{free_port()}")
    assert "no Dagster UI at" in capsys.readouterr().out
    reload_running_ui("off")
    assert capsys.readouterr().out == ""


def test_a_path_that_cannot_exist_is_one_line_that_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`export latest /proc/nope/x` said only `[Errno 2] No such file or directory`: the
    operating system's error is worded as one line that names the path and what to do."""
    import errno

    from fsdl_data import cli
    from fsdl_data.cli import lineage

    target = tmp_path / "no-such-folder" / "x"

    def export(snapshot_id: str, folder: str, license_id: str) -> int:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), folder)

    monkeypatch.setattr(lineage, "export", export)
    assert cli.main(["export", "latest", str(target)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(target) in line and "Errno" not in line
    assert "check the path" in line
    mine = FileNotFoundError("no snapshot named 'x': `fsdl-data snapshot list` shows them")
    monkeypatch.setattr(lineage, "export", lambda *a: (_ for _ in ()).throw(mine))
    assert cli.main(["export", "x", str(target)]) == 1
    assert capsys.readouterr().err == f"fsdl-data: {mine}\n"  # our own words are kept as said


def test_a_nights_line_names_each_failed_checks_severity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A newcomer reading `check failed: ...` under an `ok` night could not tell a warning from
    a failure: each failed check's line says WARN or ERROR; passed ones are not printed."""
    from fsdl_data.cli.run import print_run
    from fsdl_data.cli.runner import CheckOutcome, DayRun

    outcomes = [
        CheckOutcome("labeled_set:labeled_set_agreement", "2026-01-02", "WARN", False, "low"),
        CheckOutcome("events:events_keys", "2026-01-02", "ERROR", False, "duplicated"),
        CheckOutcome("users:users_schema", "2026-01-02", "ERROR", True, "schema matches"),
    ]
    print_run(DayRun("2026-01-02", True, "0123456789", [], ["events"], 3, outcomes))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "  2026-01-02: ok run 01234567, 1 assets"
    assert lines[1:] == [
        "      check failed (WARN): labeled_set:labeled_set_agreement: low",
        "      check failed (ERROR): events:events_keys: duplicated",
    ]


def test_a_failed_materialize_says_why_in_one_line_per_step_and_no_stack_trace(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """Features asked for before their day was ingested (a user's mistake): each failed step
    is one line naming what is missing and what to do; Dagster's own error records (a stack
    trace each, then a line per step left out) stay in the run's logs, off the console."""
    _, env = one_day_home(tmp_path, env, "unfed", "--photos-per-day", "20", "--users", "20",
                          "--events-per-day", "200")  # fmt: skip
    r = fsdl(["materialize", "--job", "features"], tmp_path, env)
    output = r.stdout + r.stderr
    assert r.returncode == 2, output  # a run failed
    assert "Stack Trace" not in output and "Traceback" not in output, output
    assert "Not executing" not in output, output
    failed = [line.strip() for line in output.splitlines() if "step failed:" in line]
    assert len(failed) == 2 and all("materialize it first" in line for line in failed), output
