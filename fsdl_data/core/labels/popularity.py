"""Labels from the data itself: a photo's popularity is its likes in the 24 hours after posting."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from fsdl_data.core.calendar import DAY, day_start

LABEL_WINDOW = timedelta(hours=24)


def label_cutoff(event_days: list[date], partition: str) -> datetime:
    """Until when likes are known: the end of the newest events partition present (events arrive
    by their day). With none present, nothing is known past the partition's own start."""
    if event_days:
        return day_start(max(event_days)) + DAY
    return day_start(partition)


def likes_within_24h(
    photos: pl.DataFrame, events: pl.DataFrame, known_until: datetime
) -> pl.DataFrame:
    """photo_id, posted_at, likes_24h (null where the 24 hours are not over by `known_until`).

    `events` must hold every event that arrived up to `known_until`; likes count by event time.
    """
    likes = (
        events.filter(pl.col("event_type") == "like")
        .select("photo_id", "ts")
        .join(photos.select("photo_id", "posted_at"), on="photo_id", how="inner")
        .filter(
            (pl.col("ts") >= pl.col("posted_at"))
            & (pl.col("ts") < pl.col("posted_at") + LABEL_WINDOW)
        )
        .group_by("photo_id")
        .len("n")
    )
    mature = pl.col("posted_at") + LABEL_WINDOW <= known_until
    return (
        photos.select("photo_id", "posted_at")
        .join(likes, on="photo_id", how="left")
        .with_columns(
            pl.when(mature)
            .then(pl.col("n").fill_null(0))
            .otherwise(None)
            .cast(pl.Int64)
            .alias("likes_24h")
        )
        .drop("n")
        .sort("photo_id")
    )
