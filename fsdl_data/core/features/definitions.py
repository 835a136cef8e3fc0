"""Feature definitions: the same code computes features for training and for serving.

User features for day D are "as known at the end of D" (`as_of` = D+1 00:00 UTC) and use only
events with ts < as_of. A photo posted at t may use only rows with as_of <= t (see pit.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

USER_FEATURE_WINDOW_DAYS = 7
USER_FEATURES = ("logins_1d", "views_7d", "likes_7d", "posts_1d")
PHOTO_FEATURES = ("post_hour", "post_weekday", "title_length", "location")


def day_start(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def user_features(events: pl.DataFrame, users: pl.DataFrame, day: str) -> pl.DataFrame:
    """Per user known by the end of `day`: logins and posts that day, views and likes over 7 days.

    `events` may span any arrival partitions; only events with ts in the window count.
    `max_event_ts` is the newest event that fed the row, kept so leakage can be proven absent.
    """
    as_of = day_start(day) + timedelta(days=1)
    day_lo = as_of - timedelta(days=1)
    win_lo = as_of - timedelta(days=USER_FEATURE_WINDOW_DAYS)
    ev = events.filter((pl.col("ts") >= win_lo) & (pl.col("ts") < as_of))
    today = pl.col("ts") >= day_lo
    agg = ev.group_by("user_id").agg(
        ((pl.col("event_type") == "login") & today).sum().alias("logins_1d"),
        (pl.col("event_type") == "view").sum().alias("views_7d"),
        (pl.col("event_type") == "like").sum().alias("likes_7d"),
        ((pl.col("event_type") == "post") & today).sum().alias("posts_1d"),
        pl.col("ts").max().alias("max_event_ts"),
    )
    return (
        users.select("user_id")
        .unique()
        .join(agg, on="user_id", how="left")
        .with_columns(
            *[pl.col(c).fill_null(0).cast(pl.Int64) for c in USER_FEATURES],
            pl.lit(datetime.fromisoformat(day).date()).alias("feature_date"),
            pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
        )
        .select("user_id", "feature_date", "as_of", *USER_FEATURES, "max_event_ts")
        .sort("user_id")
    )


def photo_features(photo_metadata: pl.DataFrame) -> pl.DataFrame:
    """Per photo: posting hour and weekday (UTC), title length, location."""
    return photo_metadata.select(
        "photo_id",
        "user_id",
        "posted_at",
        pl.col("posted_at").dt.hour().cast(pl.Int32).alias("post_hour"),
        pl.col("posted_at").dt.weekday().cast(pl.Int32).alias("post_weekday"),
        pl.col("title").str.len_chars().cast(pl.Int32).alias("title_length"),
        "location",
    ).sort("photo_id")
