"""Checks on the `vision` group."""

import dagster as dg
import polars as pl

from fsdl_data.checks._build import daily_check, result, table_contract_checks
from fsdl_data.core.tables import quality, schemas


@daily_check(
    asset="photo_classifications",
    blocking=True,
    reads=("raw_photos",),
    description="Every decodable photo of the day is classified; probabilities sum to 1; style in [0, 1].",
)
def photo_classifications_valid(
    photo_classifications: pl.DataFrame, raw_photos: pl.DataFrame
) -> dg.AssetCheckResult:
    decodable = raw_photos.filter(pl.col("decode_error").is_null())
    total = photo_classifications.select(pl.sum_horizontal(pl.col("^p_.*$")).alias("s"))["s"]
    sums_ok = bool(((total - 1).abs() < 1e-3).all())
    return result(
        quality.references(
            decodable, "photo_id", photo_classifications, "photo_id", "photo_classifications"
        ),
        quality.Outcome(
            sums_ok,
            "class probabilities sum to 1" if sums_ok else "class probabilities do not sum to 1",
        ),
        quality.in_range(photo_classifications, "style_score", 0.0, 1.0 + 1e-6),
    )


# Table contracts (schema, keys); every check here is found by load_asset_checks_from_modules.
photo_classifications_contract = table_contract_checks(
    "photo_classifications", schemas.PHOTO_CLASSIFICATIONS, ["photo_id"]
)
