"""The calendar every daily asset shares, and the partition mappings between days.

Asset, check and job modules declare `partitions_def=daily`: *that* they are partitioned by
day. *Which* days is the deployment's setting (FSDL_START_DATE / FSDL_END_DATE, else the
world's calendar), read when the definitions load: `build_definitions` swaps
`daily_partitions(settings)` in for `daily` everywhere (`bind_calendar`), so nothing reads the
environment at import and two definitions built in one process keep their own calendars.
"""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster._core.definitions.asset_checks.asset_checks_definition import AssetChecksDefinition

from fsdl_data.config import Settings


class _UnboundCalendar(dg.DailyPartitionsDefinition):
    """Stands for the calendar until the definitions bind it: asking it for days is a mistake."""

    def _unbound(self) -> RuntimeError:
        return RuntimeError(
            "partitions.daily only marks an asset as daily; its days are bound when the "
            "definitions are built: use daily_partitions(settings), or a resolved job's or "
            "asset's partitions_def"
        )

    def get_partition_keys(self, *args: Any, **kwargs: Any) -> Any:
        raise self._unbound()

    def has_partition_key(self, *args: Any, **kwargs: Any) -> Any:
        raise self._unbound()


daily = _UnboundCalendar(start_date="2000-01-01", timezone="UTC")


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """The day partitions of `settings`' calendar (its end day included; open without one)."""
    end = settings.end_date + timedelta(days=1) if settings.end_date else None
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(),
        end_date=end.isoformat() if end else None,
        timezone="UTC",
    )


def bind_calendar(definitions: Sequence[Any], calendar: dg.PartitionsDefinition) -> list[Any]:
    """`definitions` (assets, asset checks) with `calendar` wherever they declared `daily`."""

    def bound(partitions: Any) -> Any:
        return calendar if partitions is daily else partitions

    out = []
    for definition in definitions:
        if not isinstance(definition, dg.AssetsDefinition):
            out.append(definition)
            continue
        attributes = definition.get_attributes_dict()
        attributes["specs"] = [
            spec.replace_attributes(partitions_def=bound(spec.partitions_def))
            if spec.partitions_def is daily
            else spec
            for spec in attributes["specs"]
        ]
        checks = {
            name: spec._replace(partitions_def=bound(spec.partitions_def))
            for name, spec in attributes["check_specs_by_output_name"].items()
        }
        if isinstance(definition, AssetChecksDefinition):
            out.append(AssetChecksDefinition.create(
                keys_by_input_name=definition.keys_by_input_name, node_def=definition.node_def,
                check_specs_by_output_name=checks, can_subset=definition.can_subset,
                resource_defs=definition.resource_defs,
            ))  # fmt: skip
            continue
        attributes["check_specs_by_output_name"] = checks
        out.append(dg.AssetsDefinition.dagster_internal_init(**attributes))
    return out


# Every daily table must have been refreshed by 06:00 UTC, materialized within the 24 hours before:
# the UI shows an asset as stale (and alerts can fire) when the nightly run did not happen.
DAILY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 6 * * *", lower_bound_delta=timedelta(hours=24)
)


def days_window(first: int, last: int) -> dg.TimeWindowPartitionMapping:
    """Partition D reads its input's partitions D+first .. D+last (those that exist): the one
    spelling of every window over days."""
    return dg.TimeWindowPartitionMapping(
        start_offset=first, end_offset=last, allow_nonexistent_upstream_partitions=True
    )


# Partition D reads partition D-1 of its input (labels and training rows mature a day later).
PREVIOUS_DAY = days_window(-1, -1)
