"""The lake IO manager's reads of a window of partitions."""

import dagster as dg
import polars as pl

from fsdl_data.config import Settings
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.partitions import daily_partitions
from fsdl_data.resources import LakeIOManager, build_resources


def test_a_window_reads_partitions_written_before_a_column_was_added(
    embedded_settings: Settings,
) -> None:
    """A table gains a column (human_labels' `review`): the partitions written before it are
    still read in a window beside the new ones, the column null in them."""
    lake = Lake(open_object_store(embedded_settings.lake_url))
    lake.write("human_labels", pl.DataFrame({"photo_id": [1], "label": ["city"]}), "2026-01-01")
    newer = pl.DataFrame({"photo_id": [2], "label": ["food"], "review": [True]})
    lake.write("human_labels", newer, "2026-01-02")
    manager = LakeIOManager(lake=build_resources(embedded_settings)["lake"])
    context = dg.build_input_context(
        asset_key=dg.AssetKey("human_labels"),
        asset_partition_key_range=dg.PartitionKeyRange("2026-01-01", "2026-01-02"),
        asset_partitions_def=daily_partitions(embedded_settings),
    )
    rows = manager.load_input(context).sort("photo_id")
    assert rows.to_dicts() == [
        {"photo_id": 1, "label": "city", "review": None},
        {"photo_id": 2, "label": "food", "review": True},
    ]
