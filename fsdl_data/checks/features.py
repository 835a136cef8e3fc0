"""Checks on the `features` group."""

from datetime import date, timedelta

import dagster as dg
import polars as pl

from fsdl_data.checks._build import daily_check, result, rule_check, table_contract_checks
from fsdl_data.core import catalog
from fsdl_data.core.features import definitions as f
from fsdl_data.core.features import served
from fsdl_data.core.features.parity import check_parity, sample_ids
from fsdl_data.core.features.versions import as_known_at
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.tables import quality
from fsdl_data.core.tables.schemas import empty
from fsdl_data.partitions import days_window
from fsdl_data.publishing import PublicationClock, published_at
from fsdl_data.resources import FeatureStoreResource, ObjectStoreResource

PARITY_SAMPLE = 50  # entities of each kind looked up online and offline per partition

user_features_no_future_events = rule_check(
    "user_features",
    "user_features_no_future_events",
    "No user feature was computed from an event at or after its `as_of` time.",
    lambda df: quality.strictly_before(df, "max_event_ts", "as_of"),
)


@daily_check(
    asset="photo_features",
    blocking=True,
    reads=("photo_metadata",),
    description="Every photo of the day has exactly one feature row (in its newest version).",
)
def photo_features_cover_photos(
    photo_features: pl.DataFrame, photo_metadata: pl.DataFrame
) -> dg.AssetCheckResult:
    newest = as_known_at(photo_features, key=["photo_id"], known_at=f.KNOWN_AT)
    return result(
        quality.references(photo_metadata, "photo_id", newest, "photo_id", "photo_features"),
        quality.unique(newest, ["photo_id"]),
    )


WITHIN_TTL = days_window(-f.USER_TTL_DAYS, 0)


@daily_check(
    asset="online_features",
    blocking=True,
    reads={
        "user_features": dg.AssetIn("user_features", partition_mapping=WITHIN_TTL),
        "photo_features": dg.AssetIn("photo_features"),
    },
    description=f"Offline/online parity: up to {PARITY_SAMPLE} users and photos of the day are "
    "looked up in the online store and by point-in-time retrieval from the offline versions at "
    "the moment the push completed; any difference fails, naming the entity and feature, and so "
    "does an online value dated after that moment, or fewer entities compared than the minimum "
    "(FSDL_PARITY_MIN_ENTITIES); a day that pushed nothing is skipped with that reason. "
    "Blocking: the popularity model is not retrained or promoted while serving disagrees with "
    "training.",
)
def online_features_parity(
    context: dg.AssetCheckExecutionContext,
    clock: PublicationClock,
    feature_store: FeatureStoreResource,
    online_features: pl.DataFrame,
    user_features: pl.DataFrame,
    photo_features: pl.DataFrame,
) -> dg.AssetCheckResult:
    seed = int(context.partition_key.replace("-", ""))
    ids = {
        entity: sample_ids(online_features, entity, PARITY_SAMPLE, seed)
        for entity in ("user", "photo")
    }
    # the moment the push completed: now, or the newest version pushed when that is later (a
    # rerun under the world's simulated clock, whose versions come after the earlier ones)
    moment = published_at(context, clock)
    if not online_features.is_empty():
        moment = max(moment, online_features["known_at"].max())  # type: ignore[type-var]
    with feature_store.connect() as store:
        parity = check_parity(
            store, {"user": user_features, "photo": photo_features}, ids, moment,
            minimum_entities=feature_store.parity_min_entities,
        )  # fmt: skip
    return result(parity.outcome())


# Table contracts (schema, keys); every check here is found by load_asset_checks_from_modules.
user_features_contract = table_contract_checks(
    "user_features", f.USER_FEATURE_TABLE, ["user_id", "known_at"]
)
photo_features_contract = table_contract_checks(
    "photo_features", f.PHOTO_FEATURE_TABLE, ["photo_id", "known_at"]
)
online_features_contract = table_contract_checks(
    "online_features",
    catalog.TABLE_SCHEMAS["online_features"],
    ["entity", "entity_id", "feature"],
)


SERVED_SAMPLE = 200  # logged requests (an entity at a moment) replayed per day


@daily_check(
    asset="served_features",
    blocking=True,
    description=f"Served = trained: up to {SERVED_SAMPLE} logged requests of the day are "
    "recomputed by point-in-time retrieval from the offline feature versions at the logged "
    "request time (each feature's TTL applied); any difference fails, naming entity, feature "
    "and time. A day nothing was served is a skip with that reason.",
)
def served_features_match_training(
    context: dg.AssetCheckExecutionContext,
    lake: ObjectStoreResource,
    served_features: pl.DataFrame,
) -> dg.AssetCheckResult:
    if served_features.is_empty():
        return result(
            quality.Outcome(True, "skipped: nothing was served on this day", {"replayed": 0})
        )
    # read from the lake here: a check's additional_ins take only the same partition. Photo
    # features never expire (a request may name a photo of any day up to this one); user
    # features are read over their longest TTL before the day.
    tables, day = Lake(lake.open()), context.partition_key
    first_user_day = (date.fromisoformat(day) - timedelta(days=f.USER_TTL_DAYS + 1)).isoformat()

    def versions(table: str, first: str) -> pl.DataFrame:
        days = [d for d in tables.partitions(table) if first <= d <= day]
        frames = [tables.read(table, d) for d in days]
        schema = f.USER_FEATURE_TABLE if table == "user_features" else f.PHOTO_FEATURE_TABLE
        return pl.concat(frames, how="vertical_relaxed") if frames else empty(schema)

    user_features = versions("user_features", first_user_day)
    photo_features = versions("photo_features", "")
    seed = int(context.partition_key.replace("-", ""))
    sample = served.sample_requests(served_features, SERVED_SAMPLE, seed)
    mismatches = served.replay(sample, {"user": user_features, "photo": photo_features})
    shown = "; ".join(str(m) for m in mismatches[:10])
    return result(
        quality.Outcome(
            not mismatches,
            f"{len(mismatches)} of {len(sample)} served values differ from training: {shown}"
            if mismatches
            else f"{len(sample)} served values equal what training retrieves",
            {"replayed": len(sample), "mismatches": len(mismatches)},
        )
    )
