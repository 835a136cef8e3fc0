"""Group `tables`: cleaned, typed tables built from the raw sources."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from fsdl_data.core.storage.lake import Lake, parquet_batches
from fsdl_data.core.tables.events import Cleaned, clean_batches
from fsdl_data.core.tables.schemas import EVENTS, QUARANTINE, empty
from fsdl_data.partitions import DAILY_FRESHNESS, daily
from fsdl_data.resources import MADE_WITH, ObjectStoreResource, publishing, table_metadata

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
    ins={"raw_events": dg.AssetIn(dagster_type=dg.Nothing)},
)
def events(context: dg.AssetExecutionContext, lake: ObjectStoreResource):
    """Cleaned row group by row group of `raw_events` (one log file each), the events written
    as row groups as they come: the day is never whole in memory, only its quarantine."""
    day, the_lake = context.partition_key, Lake(lake.open())
    quarantined: list[pl.DataFrame] = []
    sample: list[pl.DataFrame] = []

    def cleaned_events() -> Iterator[pl.DataFrame]:
        for cleaned in clean_batches(the_lake.read_batches("raw_events", day), day):
            quarantined.append(cleaned.quarantine)
            sample[:] = sample or [cleaned.events.head(10)]
            yield cleaned.events

    data, kept = parquet_batches(cleaned_events(), EVENTS)
    quarantine = pl.concat(quarantined) if quarantined else empty(QUARANTINE)
    raw_lines = kept + len(quarantine)
    counts = Cleaned(events=empty(EVENTS), quarantine=quarantine).reason_counts
    yield dg.Output(
        quarantine,
        output_name="events_quarantine",
        metadata={"raw_lines": raw_lines, **{f"reason/{k}": v for k, v in counts.items()}},
    )
    # events last: a run stopped between the two leaves no events without their quarantine
    with publishing(the_lake, "events", day):
        uri = the_lake.write_bytes("events", data, day)
    metadata = table_metadata(sample[0] if sample else empty(EVENTS), uri)
    yield dg.Output(
        None,
        output_name="events",
        metadata={**metadata, "dagster/row_count": kept, "raw_lines": raw_lines},
    )
