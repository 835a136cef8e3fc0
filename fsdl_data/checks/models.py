"""Checks on the `models` group."""

import dagster as dg
import polars as pl


@dg.asset_check(
    asset="popularity_model",
    blocking=True,
    description="On the held-out day the model beats a constant predictor: AUC of 'above-median likes' by "
    "at least 0.05 and rank correlation by at least 0.1. The asset promotes the model only then.",
)
def popularity_model_beats_baseline(popularity_model: pl.DataFrame) -> dg.AssetCheckResult:
    m = popularity_model.row(0, named=True)
    return dg.AssetCheckResult(
        passed=bool(m["promoted"]),
        description=f"held-out {m['held_out_day']}: AUC {m['auc_above_median']:.3f} vs baseline "
        f"{m['baseline_auc']:.3f}, rank correlation {m['spearman']:.3f} vs {m['baseline_spearman']:.3f}",
        metadata={
            "auc": m["auc_above_median"],
            "spearman": m["spearman"],
            "test_rows": m["test_rows"],
        },
    )


model_checks = [popularity_model_beats_baseline]
