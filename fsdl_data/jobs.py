"""Jobs: named selections of the graph, run from the UI, schedules and the CLI."""

import dagster as dg

from fsdl_data.partitions import daily

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("sources", "tables"),
    partitions_def=daily,
    description="Source the day's photos, app-database rows and event logs; clean them into tables.",
)
