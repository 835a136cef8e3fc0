"""Point-in-time-correct training rows as an asset."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from fsdl_data.components._tables import read_table, written
from fsdl_data.core.features.pit import point_in_time_join


class PointInTimeFeatures(dg.Component, dg.Model, dg.Resolvable):
    """Each label row joined with the newest feature row of its entity that existed at the
    label's time (and, with `known_at`, had been published by then), no older than `ttl_days`:
    Feast's `get_historical_features`, as an asset."""

    asset: str
    labels: str  # Parquet URL
    features: str  # Parquet URL
    entity: str
    label_time: str
    feature_time: str
    known_at: str | None = None
    ttl_days: float | None = None
    output: str  # Parquet URL
    deps: list[str] = []

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
