"""Checks on the `features` group."""

import dagster as dg
import polars as pl

from fsdl_data.checks._build import result, rule_check, table_contract_checks
from fsdl_data.core.tables import quality, schemas
from fsdl_data.partitions import daily

user_features_no_future_events = rule_check(
    "user_features",
    "user_features_no_future_events",
    "No user feature was computed from an event at or after its `as_of` time.",
    lambda df: quality.strictly_before(df, "max_event_ts", "as_of"),
)


@dg.asset_check(
    asset="photo_features",
    blocking=True,
    partitions_def=daily,
    additional_ins={"photo_metadata": dg.AssetIn("photo_metadata")},
    description="Every photo of the day has exactly one feature row.",
)
def photo_features_cover_photos(
    photo_features: pl.DataFrame, photo_metadata: pl.DataFrame
) -> dg.AssetCheckResult:
    return result(
        quality.references(
            photo_metadata, "photo_id", photo_features, "photo_id", "photo_features"
        ),
        quality.unique(photo_features, ["photo_id"]),
    )


feature_checks = [
    *table_contract_checks("user_features", schemas.USER_FEATURES, ["user_id"]),
    user_features_no_future_events,
    *table_contract_checks("photo_features", schemas.PHOTO_FEATURES, ["photo_id"]),
    photo_features_cover_photos,
]
