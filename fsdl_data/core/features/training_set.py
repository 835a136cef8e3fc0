"""Assembling the training set: photos x photo features x user features as known at posting
time x classifier outputs x label.

Two ways to ask "as known when":
- by default, each photo gets exactly what serving would have had at its posting time: user
  feature values with as_of <= posted_at *and* known_at <= posted_at, within their TTL. A value
  backfilled later can never reach a past label (Feast's file store lets it unless asked not to);
- `as_known_at=K` rebuilds the set as the platform knew the data at K: every feature version
  published by K, the newest per (user, as_of), joined on event time. Rebuilding with the K of an
  earlier build reproduces it exactly after any backfill; K = now uses the corrected values.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from fsdl_data.core.features.definitions import KNOWN_AT, features_of, longest_ttl
from fsdl_data.core.features.pit import point_in_time_join
from fsdl_data.core.features.versions import as_known_at as versions_known_at

PHOTO_KEY = ["photo_id"]


def build_training_set(
    photo_features: pl.DataFrame,
    user_features: pl.DataFrame,
    classifications: pl.DataFrame,
    labels: pl.DataFrame,
    *,
    as_known_at: datetime | None = None,
) -> pl.DataFrame:
    """One row per labeled photo; `features_as_of` and `features_known_at` say which version of
    the poster's features it got, `knowledge_time` how it was asked for (null: at posting).
    Each user feature's own TTL applies (as the online store and the parity gate apply it): the
    version is chosen within the longest TTL, and a feature whose shorter TTL has passed at
    posting is null."""
    user_features_defined = features_of("user")
    names = [feature.name for feature in user_features_defined]
    ttl = longest_ttl("user")
    photos = versions_known_at(
        photo_features, key=PHOTO_KEY, known_at=KNOWN_AT, moment=as_known_at
    ).drop(KNOWN_AT)
    users = user_features.select(
        "user_id",
        pl.col("as_of").alias("features_as_of"),
        pl.col(KNOWN_AT).alias("features_known_at"),
        *names,
        pl.col("max_event_ts").alias("features_max_event_ts"),
    )
    if as_known_at is None:
        joined = point_in_time_join(
            photos, users, by="user_id", left_time="posted_at", right_time="features_as_of",
            known_at="features_known_at", ttl=ttl,
        )  # fmt: skip
    else:
        known = versions_known_at(
            users, key=["user_id", "features_as_of"], known_at="features_known_at",
            moment=as_known_at,
        )  # fmt: skip
        joined = point_in_time_join(
            photos, known, by="user_id", left_time="posted_at", right_time="features_as_of",
            ttl=ttl,
        )  # fmt: skip
    joined = joined.with_columns(
        pl.when(pl.col("features_as_of") <= pl.col("posted_at") - feature.ttl)
        .then(None)
        .otherwise(pl.col(feature.name))
        .alias(feature.name)
        for feature in user_features_defined
        if feature.ttl is not None and feature.ttl != ttl
    )
    cls = classifications.drop("key", strict=False)
    return (
        joined.join(cls, on="photo_id", how="left")
        .join(labels.select("photo_id", "likes_24h"), on="photo_id", how="inner")
        .filter(pl.col("likes_24h").is_not_null())
        .with_columns(pl.lit(as_known_at, dtype=pl.Datetime("us", "UTC")).alias("knowledge_time"))
        .sort("photo_id")
    )


def leaky_rows(training_set: pl.DataFrame) -> pl.DataFrame:
    """Rows whose features describe, or were computed from, anything at or after posting; and,
    for a set built as at posting, rows whose features were published after posting."""
    published_late = (pl.col("features_known_at") > pl.col("posted_at")) & pl.col(
        "knowledge_time"
    ).is_null()
    return training_set.filter(
        (pl.col("features_as_of") > pl.col("posted_at"))
        | (pl.col("features_max_event_ts") >= pl.col("posted_at"))
        | published_late
    )
