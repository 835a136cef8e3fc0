"""When a run publishes what it computes: the known-at time stamped on feature versions.

Known-at is when a value became available, whatever launched the run (the UI, the CLI, the
schedule, a sensor, a backfill, a retry): the wall clock when the step runs. A late or retried
scheduled run is therefore stamped when it actually ran, never with its scheduled time.

The one override is the `clock` resource's `world_clock` (default: Settings.world_clock, from
FSDL_WORLD_CLOCK; per run: run config `resources.clock.config.world_clock`). A replay of a
generated world (`fsdl-data demo`, `fsdl-data materialize --world-clock`, the tests) sets it,
so each day publishes at the simulated time its nightly run would have (02:00 UTC the day
after). Either way a recompute that changes a value is a later version: merge_versions moves
its known-at past the key's newest one, so two different values never share a known-at.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from fsdl_data.core.calendar import nightly_publish_time

CLOCK = "clock"  # the resource key


class PublicationClock(dg.ConfigurableResource):
    """The time a run publishes at: now, or the generated world's simulated nightly time."""

    world_clock: bool = False

    def now(self, partition_key: str | None) -> datetime:
        if self.world_clock and partition_key:
            return nightly_publish_time(partition_key)
        return datetime.now(UTC)


def published_at(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, clock: PublicationClock
) -> datetime:
    partition = context.partition_key if context.has_partition_key else None
    return clock.now(partition)


def world_clock_config() -> dict:
    """Run config of a world replay: publish at the world's simulated nightly times."""
    return {"resources": {CLOCK: {"config": {"world_clock": True}}}}
