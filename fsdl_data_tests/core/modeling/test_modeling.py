"""The popularity model's fit-and-hold-out protocol on synthetic rows with a known signal."""

from __future__ import annotations

import numpy as np
import polars as pl

from fsdl_data.core.features.definitions import USER_FEATURES
from fsdl_data.core.modeling.popularity import PopularityModel, fit_with_held_out_day
from fsdl_data.core.tables.schemas import CONTENT_CLASSES


def _rows(days: list[str], n: int = 300, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    k = n * len(days)
    style = rng.uniform(0, 1, k)
    likes = rng.poisson(np.exp(0.5 + 2.0 * style))  # likes driven by style alone
    probs = rng.dirichlet(np.ones(len(CONTENT_CLASSES)), k)
    return pl.DataFrame(
        {
            **{f"p_{c}": probs[:, i] for i, c in enumerate(CONTENT_CLASSES)},
            "style_score": style,
            "post_hour": rng.integers(0, 24, k),
            "title_length": rng.integers(5, 30, k),
            **{f: rng.integers(0, 5, k) for f in USER_FEATURES},
            "likes_24h": likes,
            "snapshot_part": np.repeat(days, n),
        }
    )


def test_one_day_cannot_be_held_out() -> None:
    assert fit_with_held_out_day(_rows(["2026-01-02"]), list(CONTENT_CLASSES), "v") is None


def test_fit_holds_out_the_last_day_and_beats_a_constant() -> None:
    fit = fit_with_held_out_day(
        _rows(["2026-01-02", "2026-01-03", "2026-01-04"]), list(CONTENT_CLASSES), "v"
    )
    assert fit is not None
    assert fit.held_out_day == "2026-01-04" and fit.train_rows == 600 and fit.evaluation.rows == 300
    ev = fit.evaluation
    assert ev.baseline_spearman == 0.0 and ev.baseline_auc == 0.5
    assert ev.spearman > 0.4 and ev.auc_above_median > 0.7 and ev.beats_baseline
    again = PopularityModel.from_bytes(fit.model.to_bytes())
    rows = _rows(["2026-01-05"], n=20, seed=1)
    assert np.allclose(again.predict(rows), fit.model.predict(rows))


def test_one_record_gives_the_card_the_row_and_the_metadata() -> None:
    """Every number of a trained model is written once: card, table row and run metadata are
    views of one record and agree."""
    from fsdl_data.core.modeling.popularity import ModelRecord, model_version

    rows = _rows(["2026-01-02", "2026-01-03"], n=100)
    version = model_version("snap1", 50, 0)
    fit = fit_with_held_out_day(rows, list(CONTENT_CLASSES), version, epochs=50)
    record = ModelRecord.of(fit, version, "snap1")
    card, row, metadata = record.card(), record.row("models/x.pt"), record.metadata()
    assert card["snapshot"] == "snap1" and card["version"] == version  # what lineage reads
    assert row.columns == [
        "version", "model_key", "snapshot_version", "held_out_day", "train_rows", "test_rows",
        "spearman", "auc_above_median", "baseline_spearman", "baseline_auc", "promoted",
    ]  # fmt: skip
    assert row["model_key"][0] == "models/x.pt" and len(row) == 1
    for name in ("held_out_day", "train_rows", "test_rows", "spearman", "auc_above_median",
                 "promoted"):  # fmt: skip
        assert card[name] == row[name][0]
    for name, value in metadata.items():
        assert row[name][0] == value
    assert card["test_rows"] == fit.evaluation.rows and card["train_rows"] == fit.train_rows
    assert card["promoted"] == fit.evaluation.beats_baseline
    assert f"{fit.evaluation.auc_above_median:.3f}" in record.check_description()


def test_a_held_out_day_too_small_to_judge_is_not_promoted_and_says_why() -> None:
    """On a tiny world's held-out day a pass or a fail of the gate is noise: below
    MIN_HELD_OUT_ROWS the model is not promoted, whatever its AUC, and the record says why."""
    from fsdl_data.core.modeling.popularity import MIN_HELD_OUT_ROWS, ModelRecord

    rng = np.random.default_rng(5)
    for held_out in (int(rng.integers(20, MIN_HELD_OUT_ROWS)), MIN_HELD_OUT_ROWS):
        rows = _rows(["2026-01-02", "2026-01-03"], n=300, seed=int(rng.integers(1000)))
        rows = rows.filter(
            (pl.col("snapshot_part") == "2026-01-02")
            | (pl.int_range(pl.len()).over("snapshot_part") < held_out)
        )
        fit = fit_with_held_out_day(rows, list(CONTENT_CLASSES), "v", epochs=100)
        assert fit is not None and fit.evaluation.rows == held_out
        assert fit.evaluation.beats_baseline  # the signal is strong: it would have passed
        record = ModelRecord.of(fit, "v", "snap")
        judged = held_out >= MIN_HELD_OUT_ROWS
        assert record.judged == fit.evaluation.judged == judged
        assert record.promoted == judged
        says = record.check_description()
        assert ("not judged" in says and f"has {held_out} rows" in says) != judged
