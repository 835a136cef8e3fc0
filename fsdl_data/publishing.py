"""When a run publishes what it computes: the known-at time stamped on feature versions.

A run's logical time, in order of precedence:
- the `fsdl/published_at` tag (ISO 8601): set by the CLI runner and the tests, which replay a
  world's nights, to the time the nightly job would have published that day (02:00 UTC after);
- the `dagster/scheduled_execution_time` tag of a scheduled run;
- otherwise the wall clock: a run launched by hand publishes now (a late recompute or backfill
  is then, correctly, a version known from now on).
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from fsdl_data.core.calendar import nightly_publish_time

PUBLISHED_AT_TAG = "fsdl/published_at"
SCHEDULED_TAG = "dagster/scheduled_execution_time"


def published_at(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext | dg.OpExecutionContext,
) -> datetime:
    tags = context.run.tags
    for tag in (PUBLISHED_AT_TAG, SCHEDULED_TAG):
        if tags.get(tag):
            moment = datetime.fromisoformat(tags[tag])
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def nightly_tags(day: str) -> dict[str, str]:
    """Tags of a replayed nightly run for `day`: published when the schedule would have."""
    return {PUBLISHED_AT_TAG: nightly_publish_time(day).isoformat()}
