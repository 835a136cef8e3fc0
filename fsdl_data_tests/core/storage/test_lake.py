"""core.storage.lake: one file per table partition under the table's folder; a table's files
are listed with their partition, unpartitioned ones with none, and nothing else is taken."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake, table_folder, table_key


def test_files_carry_their_partition_and_stay_inside_their_table(tmp_path: Path) -> None:
    lake = Lake(LocalObjectStore(tmp_path))
    frame = pl.DataFrame({"x": [1]})
    lake.write("t", frame, "2026-01-02")
    lake.write("t", frame, "2026-01-01")
    lake.write("t", frame)
    lake.write("tail", frame, "2026-01-01")  # a table whose name starts like t's
    lake.store.put(f"{table_folder('t')}notes/readme.txt", b"not a partition")
    found = {(f.key, f.partition) for f in lake.files("t")}
    assert found == {(table_key("t", "2026-01-01"), "2026-01-01"),
                     (table_key("t", "2026-01-02"), "2026-01-02"), (table_key("t", None), None)}  # fmt: skip
    assert all(key.startswith(table_folder("t")) for key, _ in found)
    assert lake.partitions("t") == ["2026-01-01", "2026-01-02"]
    assert lake.read("t", "2026-01-01").equals(frame)
