"""Checks on the `sources` group."""

from datetime import timedelta

import dagster as dg
import polars as pl

from fsdl_data.checks._build import daily_check, result, rule_check, table_contract_checks
from fsdl_data.core.calendar import day_bounds
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.tables import quality, schemas
from fsdl_data.resources import ObjectStoreResource

MAX_UNDECODABLE_SHARE = 0.05  # more than this and downstream steps are blocked


raw_photos_decodable = rule_check(
    "raw_photos",
    "raw_photos_decodable",
    "Every photo object decodes as an image. Any failure warns (the key and error are in the "
    f"table); more than {MAX_UNDECODABLE_SHARE:.0%} fails and blocks downstream assets.",
    lambda df: quality.share_below(
        int(df["decode_error"].is_not_null().sum()), len(df), "photo objects could not be decoded",
        warn_above=0.0, fail_above=MAX_UNDECODABLE_SHARE,
    ),
)  # fmt: skip


@daily_check(
    asset="photo_metadata",
    blocking=True,
    reads=("users",),
    description="Referential integrity: every photo's user_id exists in users as of that day.",
)
def photo_metadata_users_exist(
    photo_metadata: pl.DataFrame, users: pl.DataFrame
) -> dg.AssetCheckResult:
    return result(quality.references(photo_metadata, "user_id", users, "user_id", "users"))


@daily_check(
    asset="photo_metadata",
    blocking=True,
    description="Every photo's posted_at falls inside the partition's day (UTC).",
)
def photo_metadata_posted_in_day(
    context: dg.AssetCheckExecutionContext, photo_metadata: pl.DataFrame
) -> dg.AssetCheckResult:
    lo, hi = day_bounds(context.partition_key)
    return result(quality.in_range(photo_metadata, "posted_at", lo, hi))


@daily_check(
    asset="photo_metadata",
    blocking=False,
    description="Freshness: the app database holds photos posted within 6 hours of the day's end "
    "(a stale read replica warns here).",
)
def photo_metadata_fresh(
    context: dg.AssetCheckExecutionContext, photo_metadata: pl.DataFrame
) -> dg.AssetCheckResult:
    _, end = day_bounds(context.partition_key)
    return result(
        quality.covers_until(photo_metadata, "posted_at", end - timedelta(hours=6), "photo")
    )


@daily_check(
    asset="raw_events",
    blocking=True,
    description="The day's event logs exist and hold lines (an empty day means the log shipper "
    "is down). Reads the row count from the Parquet footer, not the day's lines.",
)
def raw_events_not_empty(
    context: dg.AssetCheckExecutionContext, lake: ObjectStoreResource
) -> dg.AssetCheckResult:
    rows = Lake(lake.open()).row_count("raw_events", context.partition_key)
    return result(quality.not_empty(rows, "raw_events"))


# Table contracts (schema, keys); every check here is found by load_asset_checks_from_modules.
raw_photos_contract = table_contract_checks("raw_photos", schemas.RAW_PHOTOS, ["key"])
photo_pixels_contract = table_contract_checks("photo_pixels", schemas.PHOTO_PIXELS, ["photo_id"])
photo_metadata_contract = table_contract_checks(
    "photo_metadata", schemas.PHOTO_METADATA, ["photo_id"]
)
users_contract = table_contract_checks("users", schemas.USERS, ["user_id"])
