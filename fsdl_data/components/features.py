"""Point-in-time-correct training rows as an asset."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from fsdl_data.components._tables import TableComponent, read_table
from fsdl_data.core.features.pit import point_in_time_join


class PointInTimeFeatures(TableComponent):
    """Each label row joined with the newest feature row of its entity that existed at the
    label's time (and, with `known_at`, had been published by then), no older than `ttl_days`:
    Feast's `get_historical_features`, as an asset."""

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

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return self.table_definitions(
            {"polars", "parquet"},
            f"{self.labels} with the features of {self.features} as known at "
            f"`{self.label_time}` (point-in-time join on `{self.entity}`).",
            lambda: point_in_time_join(
                read_table(self.labels),
                read_table(self.features),
                by=self.entity,
                left_time=self.label_time,
                right_time=self.feature_time,
                known_at=self.known_at,
                ttl=timedelta(days=self.ttl_days) if self.ttl_days else None,
            ),
        )
