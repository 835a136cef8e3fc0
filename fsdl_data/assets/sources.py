"""Group `sources`: what the photo app's object store, database and logs hold, day by day."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.ingestion.cursor import (
    day_has_data,
    day_listing,
    no_data_message,
)
from fsdl_data.core.storage.lake import Lake, parquet_batches
from fsdl_data.core.storage.objects import ObjectStore, listing_digest
from fsdl_data.core.tables import sources as core
from fsdl_data.core.tables.schemas import RAW_EVENTS, empty
from fsdl_data.core.versions import version_of
from fsdl_data.partitions import DAILY_FRESHNESS, daily
from fsdl_data.resources import (
    MADE_WITH,
    AppDatabaseResource,
    ObjectStoreResource,
    publishing,
    table_metadata,
)

OWNERS = ["team:data-platform"]
# Sources talk to services that can blip (S3 and Postgres restarting): a failed step is retried
# after 2, then 4 s, on top of botocore's own per-call retries.
SOURCE_RETRIES = dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL)
# Every source table (an asset, or an output of a multi-asset) and every source step, once.
SOURCE_OUTPUT = {"owners": OWNERS, "freshness_policy": DAILY_FRESHNESS}
SOURCE_STEP = {"partitions_def": daily, "group_name": "sources", "retry_policy": SOURCE_RETRIES}
DAILY_SOURCE = {**SOURCE_STEP, **SOURCE_OUTPUT}


def refuse_without_data(context: dg.AssetExecutionContext, store: ObjectStore) -> None:
    """A day with no objects publishes nothing, however it was launched (UI, schedule, sensor,
    CLI, `materialize()`): each source fails with why, once (no retry will make data appear)."""
    if not day_has_data(store, context.partition_key):
        raise dg.Failure(
            description=no_data_message(context.partition_key, store.url), allow_retries=False
        )


def _version(*parts: object) -> dg.DataVersion:
    return dg.DataVersion(version_of(*parts))


@dg.multi_asset(
    outs={
        "raw_photos": dg.AssetOut(
            kinds={"s3", "parquet"},
            **SOURCE_OUTPUT,
            description="One row per photo object uploaded that day: key, ETag, VersionId, size, "
            "SHA-256, decoded width/height, or why it could not be decoded.",
        ),
        "photo_pixels": dg.AssetOut(
            kinds={"numpy", "parquet"},
            **SOURCE_OUTPUT,
            metadata={MADE_WITH: "raw_photos"},
            description="Per decodable photo of the day: a model-sized RGB thumbnail (what the "
            "classifier sees) and pixel statistics for labeling functions. Made in the same "
            "read and decode as raw_photos, so nothing downstream decodes a JPEG again.",
        ),
    },
    **SOURCE_STEP,
)
def raw_photos(context: dg.AssetExecutionContext, objects: ObjectStoreResource):
    store = objects.open()
    refuse_without_data(context, store)
    listing = day_listing(store, day_folder("photos", context.partition_key))
    raw, pixels = core.photo_objects(store, context.partition_key, listing)
    version = _version(*raw.sort("key")["etag"].to_list())
    errors = int(raw["decode_error"].is_not_null().sum())
    # pixels first: raw_photos, which carries the digest the sensor compares, is published
    # last, so a run stopped between the two is asked again (and photo_pixels' readers refuse
    # pixels whose raw_photos is missing: MADE_WITH)
    yield dg.Output(pixels, output_name="photo_pixels", data_version=version)
    yield dg.Output(
        raw,
        output_name="raw_photos",
        data_version=version,
        metadata={
            "decode_errors": errors,
            "total_bytes": int(raw["size"].sum() or 0),
            "objects_digest": listing_digest(listing),  # what the sensor compares
        },
    )


@dg.multi_asset(
    outs={
        "photo_metadata": dg.AssetOut(
            kinds={"postgres", "parquet"},
            **SOURCE_OUTPUT,
            description="The photos posted that day, read from the app database in keyset pages; "
            "metadata records the watermark and row count that were read. Only rows that fit "
            "the schema: the others are in photo_metadata_quarantine.",
        ),
        "photo_metadata_quarantine": dg.AssetOut(
            kinds={"postgres", "parquet"},
            **SOURCE_OUTPUT,
            description="App-database photo rows of that day that break the schema (a NULL, "
            "text that is not UTF-8, a time that is not one), each with a reason and the row.",
        ),
    },
    **SOURCE_STEP,
)
def photo_metadata(
    context: dg.AssetExecutionContext, app_db: AppDatabaseResource, objects: ObjectStoreResource
):
    refuse_without_data(context, objects.open())
    with app_db.connect() as db:
        df, quarantine, state = core.photo_rows(db, context.partition_key)
    version = _version(state["watermark"], state["row_count"], state["quarantined"])
    yield dg.Output(
        df,
        output_name="photo_metadata",
        data_version=version,
        metadata={
            "watermark": state["watermark"] or "",
            "read_window": state["window"],
            "database": app_db.display_url,
            "quarantined": state["quarantined"],
        },
    )
    counts = quarantine.group_by("reason").len().sort("reason").iter_rows()
    yield dg.Output(
        quarantine,
        output_name="photo_metadata_quarantine",
        data_version=version,
        metadata={f"reason/{reason}": count for reason, count in counts},
    )


@dg.asset(
    **DAILY_SOURCE,
    kinds={"postgres", "parquet"},
    description="The users table as of the end of that day.",
)
def users(
    context: dg.AssetExecutionContext, app_db: AppDatabaseResource, objects: ObjectStoreResource
) -> dg.Output[pl.DataFrame]:
    refuse_without_data(context, objects.open())
    with app_db.connect() as db:
        df = core.users_as_of(db, context.partition_key)
    newest = df["updated_at"].max() if len(df) else None
    return dg.Output(
        df, data_version=_version(len(df), newest), metadata={"database": app_db.display_url}
    )


@dg.asset(
    **DAILY_SOURCE,
    kinds={"s3", "parquet"},
    description="Every line of that day's gzipped JSON event logs, bytes kept as delivered "
    "(the lake's raw zone: transform later, never lose the original).",
)
def raw_events(
    context: dg.AssetExecutionContext, objects: ObjectStoreResource, lake: ObjectStoreResource
) -> dg.Output[None]:
    """Written file by file as row groups (the day is never whole in memory), published with
    one atomic put."""
    store, day = objects.open(), context.partition_key
    refuse_without_data(context, store)
    listing = day_listing(store, day_folder("events", day))
    files: set[str] = set()
    sample: list[pl.DataFrame] = []

    def by_file() -> Iterator[pl.DataFrame]:
        for frame in core.log_files(store, day, listing):
            files.update(frame["source_key"].unique().to_list())
            sample[:] = sample or [frame.head(10)]
            yield frame

    the_lake = Lake(lake.open())
    with publishing(the_lake, "raw_events", day):
        data, rows = parquet_batches(by_file(), RAW_EVENTS)
        uri = the_lake.write_bytes("raw_events", data, day)
    return dg.Output(
        None,
        data_version=_version(*sorted(files), rows),
        metadata={
            **table_metadata(sample[0] if sample else empty(RAW_EVENTS), uri),
            "dagster/row_count": rows,
            "log_files": len(files),
            "objects_digest": listing_digest(listing),
        },
    )
