"""Lineage's plain parts (core.versioning.lineage): how a chain prints, the newest model, and a
model's card and training snapshot, on a real lake in a folder."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from fsdl_data.core.modeling.registry import card_key
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.versioning import snapshots as snap
from fsdl_data.core.versioning.lineage import Step, latest_model_version, model_training_snapshot
from fsdl_data.core.versioning.store import Manifest, SnapshotStore


def test_a_chain_prints_one_indented_line_per_step_with_its_partitions_and_versions() -> None:
    source = Step("raw_photos", ["2026-01-01"], ["v1"], {"objects": 3})
    days = Step("training_set", ["2026-01-02", "2026-01-01", None], ["a", "b", "a"], {}, [source])
    top = Step("popularity_model", [None], [None], {"spearman": 0.5}, [days])
    assert top.lines() == [
        "popularity_model  data version -, spearman 0.5",
        "  training_set[2026-01-01 .. 2026-01-02: 2 partitions]  data version 2 versions",
        "    raw_photos[2026-01-01]  data version v1, objects 3",
    ]


def test_the_newest_model_or_a_line_that_says_to_materialize(tmp_path: Path) -> None:
    lake = Lake(LocalObjectStore(tmp_path))
    with pytest.raises(LookupError, match="run `fsdl-data materialize` first"):
        latest_model_version(lake)  # no table at all
    lake.write("popularity_model", pl.DataFrame({"version": []}, schema={"version": pl.String}))
    with pytest.raises(LookupError, match="no popularity_model yet"):
        latest_model_version(lake)  # an empty one
    lake.write("popularity_model", pl.DataFrame({"version": ["m1", "m2"]}))
    assert latest_model_version(lake) == "m2"


def test_a_models_card_names_the_training_snapshot_it_was_fitted_on(tmp_path: Path) -> None:
    lake = Lake(LocalObjectStore(tmp_path))
    with pytest.raises(LookupError, match=r"no popularity model 'nope'.*SELECT version FROM"):
        model_training_snapshot(lake, "nope")
    lake.write(
        "training_set", pl.DataFrame({"photo_id": [1, 2], "label": [0.0, 1.0]}), "2026-01-01"
    )
    store = SnapshotStore(lake.store)
    template = Manifest(name="training_set", kind="table", files=(), source="training_set",
                        key=("photo_id",))  # fmt: skip
    files = snap.TableFiles(
        "training_set", lake.store, tuple(snap.table_files(lake, "training_set"))
    )
    taken = snap.snapshot_table(store, template, files)
    assert taken is not None
    lake.store.put(card_key("m1"), json.dumps({"snapshot": taken.snapshot_id}).encode())
    card, manifest = model_training_snapshot(lake, "m1")
    assert card["snapshot"] == taken.snapshot_id
    assert manifest.row_count == 2 and [f.partition for f in manifest.files] == ["2026-01-01"]
