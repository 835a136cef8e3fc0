"""`fsdl-data sql` on a table that does not exist: DuckDB's hint is kept when it names a lake
table and dropped when it names one of DuckDB's own catalog tables ('Did you mean "pg_enum"?'
for `FROM nope`), which no query here can read."""

from __future__ import annotations

import random
import re
import string
from pathlib import Path

import polars as pl
import pytest

from fsdl_data.cli import main


@pytest.mark.parametrize("seed", range(3))
def test_hints_name_only_lake_tables(seed: int, tmp_path: Path, monkeypatch, capsys) -> None:
    chance = random.Random(seed)
    table = "".join(chance.choices(string.ascii_lowercase, k=chance.randrange(8, 14)))
    folder = tmp_path / "lake" / "tables" / table / "date=2026-01-01"
    folder.mkdir(parents=True)
    pl.DataFrame({"photo_id": [1, 2]}).write_parquet(folder / "data.parquet")
    monkeypatch.setenv("FSDL_HOME", str(tmp_path))
    monkeypatch.setattr("fsdl_data.cli._common._chosen", {})  # settings are read once a process
    for name in ("nope", table[:-1]):  # DuckDB suggests pg_enum for the first, `table` next
        assert main(["sql", f"SELECT * FROM {name}"]) == 1
        err = capsys.readouterr().err
        assert f"Table with name {name} does not exist" in err, err
        hints = re.findall(r'Did you mean "([^"]+)"', err)
        assert all(hint.split(".")[-1] == table for hint in hints), err
        if name != "nope":
            assert hints, err  # a hint that helps stays
