"""Checks on the `datasets` group."""

import dagster as dg
import polars as pl

from fsdl_data.checks._build import daily_check, result
from fsdl_data.core.features.training_set import leaky_rows
from fsdl_data.core.tables import quality


@daily_check(
    asset="training_set",
    blocking=True,
    description="No leakage: for every row, the user features describe a moment before the photo was "
    "posted (as_of <= posted_at), were computed only from events before it (max event ts < "
    "posted_at) and, for a set built as at posting, were published before it (known_at <= "
    "posted_at).",
)
def training_set_no_leakage(training_set: pl.DataFrame) -> dg.AssetCheckResult:
    bad = leaky_rows(training_set)
    return result(
        quality.Outcome(
            bad.is_empty(),
            f"no feature computed after posting, over {len(training_set)} rows"
            if bad.is_empty()
            else f"{len(bad)} of {len(training_set)} rows use features from after posting, "
            f"e.g. photo_ids {bad['photo_id'].head(5).to_list()}",
            {"leaky_rows": len(bad)},
        ),
        quality.unique(training_set, ["photo_id"]),
    )
