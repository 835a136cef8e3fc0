"""Checks on the `labels` group."""

import polars as pl

from fsdl_data.checks._build import rule_check, table_contract_checks
from fsdl_data.core.tables import quality, schemas

MAX_REJECTED_SHARE = 0.2

human_labels_rejections = rule_check(
    "human_labels",
    "human_labels_rejections",
    "Annotations with unknown photo ids or classes: any warns (reasons in `rejected_reason`), more than "
    f"{MAX_REJECTED_SHARE:.0%} fails.",
    lambda df: quality.share_below(
        int(df["rejected_reason"].is_not_null().sum()), len(df), "annotations rejected",
        warn_above=0.0, fail_above=MAX_REJECTED_SHARE,
    ),
    blocking=False,
)  # fmt: skip

popularity_labels_non_negative = rule_check(
    "popularity_labels",
    "popularity_labels_non_negative",
    "Likes in 24 h are never negative.",
    lambda df: quality.in_range(
        df.filter(pl.col("likes_24h").is_not_null()), "likes_24h", 0, 10**9
    ),
)

label_checks = [
    human_labels_rejections,
    *table_contract_checks("popularity_labels", schemas.POPULARITY_LABELS, ["photo_id"]),
    popularity_labels_non_negative,
]
