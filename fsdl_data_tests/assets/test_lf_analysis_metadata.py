"""lf_analysis's table on the asset page: a missing accuracy is an empty cell, never -1."""

from __future__ import annotations

import polars as pl

from fsdl_data.assets.labels.weak import _function_table


def test_missing_values_stay_null_in_the_ui_table() -> None:
    df = pl.DataFrame(
        {
            "labeling_function": ["a", "b"],
            "coverage": [0.5, 0.0],
            "gold_n": [12, 0],
            "gold_accuracy": [0.91666, None],
            "human_n": [20, 0],
            "human_accuracy": [0.75, None],
            "conflict": [0.1, None],
        }
    )
    records = [r.data for r in _function_table(df).records]
    assert records[0]["gold_accuracy"] == 0.917
    assert records[1]["gold_accuracy"] is None and records[1]["human_accuracy"] is None
    assert -1 not in [v for r in records for v in r.values()]
