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
