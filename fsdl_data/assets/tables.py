"""Group `tables`: cleaned, typed tables built from the raw sources."""

import dagster as dg
import polars as pl

from fsdl_data.core.tables.events import clean_events
from fsdl_data.partitions import DAILY_FRESHNESS, daily
from fsdl_data.resources import MADE_WITH

OWNERS = ["team:data-platform"]


@dg.multi_asset(
    outs={
        "events": dg.AssetOut(
            description="Cleaned events: enforced schema, timestamps in UTC, duplicates removed.",
            owners=OWNERS,
            kinds={"polars", "parquet"},
            freshness_policy=DAILY_FRESHNESS,
        ),
        "events_quarantine": dg.AssetOut(
            description="Raw event lines that could not be cleaned, each with a reason and detail.",
            metadata={MADE_WITH: "events"},
            owners=OWNERS,
            kinds={"polars", "parquet"},
            freshness_policy=DAILY_FRESHNESS,
        ),
    },
    partitions_def=daily,
    group_name="tables",
)
def events(context: dg.AssetExecutionContext, raw_events: pl.DataFrame):
    cleaned = clean_events(raw_events, context.partition_key)
    counts = cleaned.reason_counts
    yield dg.Output(
        cleaned.quarantine,
        output_name="events_quarantine",
        metadata={"raw_lines": len(raw_events), **{f"reason/{k}": v for k, v in counts.items()}},
    )
    # events last: a run stopped between the two leaves no events without their quarantine
    yield dg.Output(cleaned.events, output_name="events", metadata={"raw_lines": len(raw_events)})
