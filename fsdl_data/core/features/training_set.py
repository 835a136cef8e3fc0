"""Assembling the training set: photos x photo features x user features as known at posting
time x classifier outputs x label."""

from __future__ import annotations

import polars as pl

from fsdl_data.core.features.definitions import USER_FEATURES
from fsdl_data.core.features.pit import point_in_time_join


def build_training_set(
    photo_features: pl.DataFrame,
    user_features: pl.DataFrame,
    classifications: pl.DataFrame,
    labels: pl.DataFrame,
) -> pl.DataFrame:
    """One row per labeled photo. User features come from the newest row with as_of <= posted_at."""
    uf = user_features.select(
        "user_id",
        pl.col("as_of").alias("features_as_of"),
        *USER_FEATURES,
        pl.col("max_event_ts").alias("features_max_event_ts"),
    )
    joined = point_in_time_join(
        photo_features, uf, by="user_id", left_time="posted_at", right_time="features_as_of"
    )
    cls = classifications.drop("key", strict=False)
    return (
        joined.join(cls, on="photo_id", how="left")
        .join(labels.select("photo_id", "likes_24h"), on="photo_id", how="inner")
        .filter(pl.col("likes_24h").is_not_null())
        .sort("photo_id")
    )


def leaky_rows(training_set: pl.DataFrame) -> pl.DataFrame:
    """Rows whose features were computed from anything at or after the photo's posting time."""
    return training_set.filter(
        (pl.col("features_as_of") > pl.col("posted_at"))
        | (pl.col("features_max_event_ts") >= pl.col("posted_at"))
    )
