"""Point-in-time-correct training rows as an asset."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from pydantic import ConfigDict

from fsdl_data.components._tables import read_table, written
from fsdl_data.core.features.pit import point_in_time_join


class PointInTimeFeatures(dg.Component, dg.Model, dg.Resolvable):
    """Each label row joined with the newest feature row of its entity that existed at the
    label's time (and, with `known_at`, had been published by then), no older than `ttl_days`:
    Feast's `get_historical_features`, as an asset."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    asset: str
    """The asset's name."""
    labels: str
    """The label rows: a Parquet file URL (file:///home/me/tables/labels.parquet, s3://...)."""
    features: str
    """The feature rows: a Parquet file URL."""
    entity: str
    """The key column both tables share (e.g. user_id)."""
    label_time: str
    """The labels' time column: the moment each row's features must be as of."""
    feature_time: str
    """The features' event-time column (when the value describes)."""
    known_at: str | None = None
    """The features' publication-time column, if any: only values published by then count."""
    ttl_days: float | None = None
    """A value older than this at the label's time is null (never a dropped row)."""
    output: str
    """The Parquet file written, as a URL."""
    deps: list[str] = []
    """Assets to run before this one."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        component = self

        @dg.asset(
            name=component.asset,
            deps=component.deps,
            kinds={"polars", "parquet"},
            description=f"{component.labels} with the features of {component.features} as known "
            f"at `{component.label_time}` (point-in-time join on `{component.entity}`).",
        )
        def _training_rows() -> dg.MaterializeResult:
            df = point_in_time_join(
                read_table(component.labels),
                read_table(component.features),
                by=component.entity,
                left_time=component.label_time,
                right_time=component.feature_time,
                known_at=component.known_at,
                ttl=timedelta(days=component.ttl_days) if component.ttl_days else None,
            )
            return written(component.output, df)

        return dg.Definitions(assets=[_training_rows])
