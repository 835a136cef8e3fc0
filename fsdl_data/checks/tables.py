"""Checks on the `tables` group."""

from datetime import timedelta

import dagster as dg
import polars as pl

from fsdl_data.checks._build import daily_check, result, table_contract_checks
from fsdl_data.core.calendar import day_bounds
from fsdl_data.core.tables import quality, schemas
from fsdl_data.core.tables.events import ALLOWED_LATENESS, FUTURE_TOLERANCE

MAX_QUARANTINE_SHARE = 0.05


@daily_check(
    asset="events",
    blocking=True,
    reads=("users",),
    description="Referential integrity: every event's user_id exists in users as of that day.",
)
def events_users_exist(events: pl.DataFrame, users: pl.DataFrame) -> dg.AssetCheckResult:
    return result(quality.references(events, "user_id", users, "user_id", "users"))


@daily_check(
    asset="events",
    blocking=True,
    description="Event timestamps lie in the arrival day's accepted window "
    f"(up to {ALLOWED_LATENESS} late, {FUTURE_TOLERANCE} early), and event types are known.",
)
def events_values_valid(
    context: dg.AssetCheckExecutionContext, events: pl.DataFrame
) -> dg.AssetCheckResult:
    lo, hi = day_bounds(context.partition_key)
    return result(
        quality.in_range(events, "ts", lo - ALLOWED_LATENESS, hi + FUTURE_TOLERANCE),
        quality.values_in(events, "event_type", schemas.EVENT_TYPES),
    )


@daily_check(
    asset="events_quarantine",
    blocking=False,
    reads=("events",),
    description="Share of the day's raw lines that were quarantined: any warns (reasons are in the "
    f"table), more than {MAX_QUARANTINE_SHARE:.0%} fails.",
)
def events_quarantine_rate(
    events_quarantine: pl.DataFrame, events: pl.DataFrame
) -> dg.AssetCheckResult:
    total = len(events) + len(events_quarantine)
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
    context: dg.AssetCheckExecutionContext, events: pl.DataFrame
) -> dg.AssetCheckResult:
    _, end = day_bounds(context.partition_key)
    return result(quality.covers_until(events, "ts", end - FRESHNESS_SLACK, "event"))


# Table contracts (schema, keys); every check here is found by load_asset_checks_from_modules.
events_contract = table_contract_checks("events", schemas.EVENTS, ["event_id"])
events_quarantine_contract = table_contract_checks(
    "events_quarantine", schemas.QUARANTINE, ["source_key", "line_no"]
)
