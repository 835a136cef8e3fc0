"""`fsdl-data sql` cannot hurt the lake: names are quoted, only SELECT/EXPLAIN run, files
outside the lake's tables cannot be read, and --allow-writes opts out (explicitly)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from fsdl_data.core.explore import QueryRefused, run_sql
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake

EVIL = "x\"; COPY (SELECT 1) TO 'pwned.csv'; SELECT '"  # a folder name that is SQL


def lake_of(root: Path) -> Lake:
    lake = Lake(LocalObjectStore(root))
    lake.write("events", pl.DataFrame({"event_type": ["view", "like", "view"]}), "2026-01-02")
    lake.write(EVIL, pl.DataFrame({"a": [1]}), "2026-01-01")
    return lake


def fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def test_quoted_names_and_read_only_queries(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    lake = lake_of(tmp_path / "lake")
    before = fingerprint(tmp_path / "lake")
    quoted = '"' + EVIL.replace('"', '""') + '"'
    assert run_sql(lake, f"SELECT a FROM {quoted}").rows() == [(1,)]  # the name is data
    assert not (tmp_path / "pwned.csv").exists()
    partition = tmp_path / "lake" / "tables" / "events" / "date=2026-01-02" / "data.parquet"
    for query in (
        f"COPY (SELECT 1 AS event_type) TO '{partition}' (FORMAT parquet)",
        "ATTACH 'other.db' AS other",
        "CREATE TABLE t AS SELECT 1",
        "SELECT 1; INSERT INTO events VALUES ('x')",
        "SET enable_external_access = true",
        "PRAGMA enable_profiling",
    ):
        with pytest.raises(QueryRefused, match="read-only"):
            run_sql(lake, query)
    import duckdb

    with pytest.raises(duckdb.PermissionException):
        run_sql(lake, "SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(duckdb.PermissionException):  # not even through a lake table's view
        run_sql(lake, f"SELECT * FROM read_text('{tmp_path}/elsewhere.txt')")
    assert fingerprint(tmp_path / "lake") == before and not (tmp_path / "other.db").exists()
    assert run_sql(lake, "SELECT count(*) n FROM events").item() == 3
    run_sql(lake, "CREATE TABLE t AS SELECT 1", allow_writes=True)  # the explicit opt-out


def test_cli_refusals_are_one_line_and_leave_the_lake_alone(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_HOME"))}
    env["FSDL_HOME"] = str(tmp_path / "fsdl")
    lake_of(tmp_path / "fsdl" / "lake")
    before = fingerprint(tmp_path / "fsdl" / "lake")
    partition = tmp_path / "fsdl/lake/tables/events/date=2026-01-02/data.parquet"
    for query, words in (
        (f"COPY (SELECT 1 AS event_type) TO '{partition}' (FORMAT parquet)", "COPY statements"),
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
        ("ATTACH 'x.db'", "ATTACH statements"),
    ):
        r = subprocess.run([sys.executable, "-m", "fsdl_data.cli", "sql", query], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == 1 and words in lines[0], r.stderr
    assert fingerprint(tmp_path / "fsdl" / "lake") == before
