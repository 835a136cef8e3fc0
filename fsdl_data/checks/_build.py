"""Helpers that turn core quality Outcomes into Dagster asset checks."""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import dagster as dg
import polars as pl

from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.tables import quality
from fsdl_data.partitions import daily
from fsdl_data.resources import ObjectStoreResource


def result(*outcomes: quality.Outcome) -> dg.AssetCheckResult:
    """All outcomes must pass; a failing one that is not severe is only a warning."""
    failed = [o for o in outcomes if not o.passed]
    severe = any(o.severe for o in failed)
    metadata: dict = {}
    for o in outcomes:
        metadata.update(
            {k: v for k, v in o.metadata.items() if isinstance(v, (int, float, str, bool))}
        )
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN
        if failed and not severe
        else dg.AssetCheckSeverity.ERROR,
        description="; ".join(o.description for o in (failed or outcomes)),
        metadata=metadata,
    )


def table_contract_checks(
    asset: str, schema: Mapping[str, pl.DataType], keys: list[str]
) -> list[dg.AssetChecksDefinition]:
    """The two checks every table gets: its schema, and non-null unique keys. Both blocking."""
    return [
        rule_check(
            asset,
            f"{asset}_schema",
            f"Columns and types of {asset} match its contract in core.tables.schemas.",
            lambda df: quality.schema_matches(df, schema),
        ),
        rule_check(
            asset,
            f"{asset}_keys",
            f"{keys} of {asset} are never null and unique within the partition.",
            lambda df: quality.no_nulls(df, keys),
            lambda df: quality.unique(df, keys),
        ),
    ]


def daily_check(
    asset: str,
    *,
    description: str,
    blocking: bool = True,
    reads: Iterable[str] | Mapping[str, dg.AssetIn] = (),
    name: str | None = None,
) -> Callable[[Callable[..., Any]], dg.AssetChecksDefinition]:
    """The decorator of a check on one day's partition of `asset` that also reads that day of
    the assets in `reads` (their names, or name -> AssetIn where another day's is wanted);
    named after the function unless `name` is given."""
    ins = dict(reads) if isinstance(reads, Mapping) else {read: dg.AssetIn(read) for read in reads}
    return dg.asset_check(
        asset=asset,
        name=name,
        blocking=blocking,
        partitions_def=daily,
        additional_ins=ins or None,
        description=description,
    )


def rule_check(
    asset: str,
    name: str,
    description: str,
    *rules: Callable[[pl.DataFrame], quality.Outcome],
    blocking: bool = True,
) -> dg.AssetChecksDefinition:
    """A one-asset check from rules on the partition's DataFrame: all must pass (`result`)."""

    @daily_check(asset, name=name, blocking=blocking, description=description)
    def _check(df: pl.DataFrame) -> dg.AssetCheckResult:
        return result(*(rule(df) for rule in rules))

    return _check


def streamed_contract_checks(
    asset: str, schema: Mapping[str, pl.DataType], keys: list[str]
) -> list[dg.AssetChecksDefinition]:
    """`table_contract_checks` for a table too large to load whole: the schema is read from
    the partition's Parquet footer, the keys row group by row group (`quality.unique_over`)."""

    def batches(lake: Lake, day: str) -> quality.Batches:
        return lake.read_batches(asset, day, columns=keys)

    return [
        lake_check(
            asset,
            f"{asset}_schema",
            f"Columns and types of {asset} match its contract in core.tables.schemas "
            "(read from the Parquet footer).",
            lambda lake, day: quality.schema_matches(
                pl.DataFrame(schema=lake.schema(asset, day)), schema
            ),
        ),
        lake_check(
            asset,
            f"{asset}_keys",
            f"{keys} of {asset} are never null and unique within the partition "
            "(read row group by row group).",
            lambda lake, day: quality.no_nulls_over(batches(lake, day), keys),
            lambda lake, day: quality.unique_over(lambda: batches(lake, day), keys),
        ),
    ]


def lake_check(
    asset: str,
    name: str,
    description: str,
    *rules: Callable[[Lake, str], quality.Outcome],
    blocking: bool = True,
) -> dg.AssetChecksDefinition:
    """A one-asset check from rules that read the day's partition from the lake themselves (a
    table too large to load whole): all must pass (`result`)."""

    @daily_check(asset, name=name, blocking=blocking, description=description)
    def _check(
        context: dg.AssetCheckExecutionContext, lake: ObjectStoreResource
    ) -> dg.AssetCheckResult:
        the_lake = Lake(lake.open())
        return result(*(rule(the_lake, context.partition_key) for rule in rules))

    return _check
