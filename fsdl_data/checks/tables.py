"""Checks on the `tables` group."""

from datetime import timedelta

import dagster as dg
import polars as pl

from fsdl_data.checks._build import (
    daily_check,
    result,
    streamed_contract_checks,
    table_contract_checks,
)
from fsdl_data.core.calendar import day_bounds
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.tables import quality, schemas
from fsdl_data.core.tables.events import ALLOWED_LATENESS, FUTURE_TOLERANCE
from fsdl_data.resources import ObjectStoreResource

MAX_QUARANTINE_SHARE = 0.05


def _events(lake: ObjectStoreResource, day: str, columns: list[str]) -> quality.Batches:
    """The day's events, row group by row group, only `columns`: no check loads the day."""
    return Lake(lake.open()).read_batches("events", day, columns=columns)


@daily_check(
    asset="events",
    blocking=True,
    reads=("users",),
    description="Referential integrity: every event's user_id exists in users as of that day.",
)
def events_users_exist(
    context: dg.AssetCheckExecutionContext, lake: ObjectStoreResource, users: pl.DataFrame
) -> dg.AssetCheckResult:
    events = _events(lake, context.partition_key, ["user_id"])
    return result(quality.references_over(events, "user_id", users, "user_id", "users"))


@daily_check(
    asset="events",
    blocking=True,
    description="Event timestamps lie in the arrival day's accepted window "
    f"(up to {ALLOWED_LATENESS} late, {FUTURE_TOLERANCE} early), and event types are known.",
)
def events_values_valid(
    context: dg.AssetCheckExecutionContext, lake: ObjectStoreResource
) -> dg.AssetCheckResult:
    lo, hi = day_bounds(context.partition_key)
    day = context.partition_key
    return result(
        quality.in_range_over(
            _events(lake, day, ["ts"]), "ts", lo - ALLOWED_LATENESS, hi + FUTURE_TOLERANCE
        ),
        quality.values_in_over(
            _events(lake, day, ["event_type"]), "event_type", schemas.EVENT_TYPES
        ),
    )


@daily_check(
    asset="events_quarantine",
    blocking=False,
    description="Share of the day's raw lines that were quarantined: any warns (reasons are in the "
    f"table), more than {MAX_QUARANTINE_SHARE:.0%} fails.",
)
def events_quarantine_rate(
    context: dg.AssetCheckExecutionContext,
    lake: ObjectStoreResource,
    events_quarantine: pl.DataFrame,
) -> dg.AssetCheckResult:
    kept = Lake(lake.open()).row_count("events", context.partition_key)  # from the footer
    total = kept + len(events_quarantine)
    return result(
        quality.share_below(
            len(events_quarantine),
            total,
            "raw lines quarantined",
            warn_above=0.0,
            fail_above=MAX_QUARANTINE_SHARE,
        )
    )


FRESHNESS_SLACK = timedelta(hours=2)


@daily_check(
    asset="events",
    blocking=False,
    description=f"Freshness: the day's events reach to within {FRESHNESS_SLACK} of its end "
    "(a log shipper that stopped mid-day warns here).",
)
def events_fresh(
    context: dg.AssetCheckExecutionContext, lake: ObjectStoreResource
) -> dg.AssetCheckResult:
    _, end = day_bounds(context.partition_key)
    events = _events(lake, context.partition_key, ["ts"])
    return result(quality.covers_until_over(events, "ts", end - FRESHNESS_SLACK, "event"))


# Table contracts (schema, keys); every check here is found by load_asset_checks_from_modules.
events_contract = streamed_contract_checks("events", schemas.EVENTS, ["event_id"])
events_quarantine_contract = table_contract_checks(
    "events_quarantine", schemas.QUARANTINE, ["source_key", "line_no"]
)
