"""Pictures that say what is not known: no bar at 0 for a missing accuracy, a marked bar for
one measured on too few photos."""

from __future__ import annotations

import matplotlib.pyplot as plt
import polars as pl
from matplotlib.patches import Rectangle

from fsdl_data.core import plots


def _analysis() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "labeling_function": ["a_measured", "b_few", "c_missing"],
            "coverage": [0.5, 0.2, 0.0],
            "gold_n": [40, 3, 0],
            "gold_accuracy": [0.9, 0.6, None],
            "human_n": [50, 0, 0],
            "human_accuracy": [0.8, None, None],
        }
    )


def _bars(axes: plt.Axes) -> list[Rectangle]:
    return [p for p in axes.patches if isinstance(p, Rectangle) and p.get_width() > 0]


def test_missing_accuracy_is_no_bar_and_says_so() -> None:
    figure = plots.labeling_functions_figure(_analysis(), too_few=10)
    right = figure.axes[1]
    bars = _bars(right)
    assert sorted(round(b.get_width(), 3) for b in bars) == [0.6, 0.8, 0.9]  # no bar at 0
    texts = [t.get_text() for t in right.texts]
    assert texts.count("human: no votes") == 2 and texts.count("gold: no votes") == 1
    few = next(b for b in bars if round(b.get_width(), 3) == 0.6)
    assert few.get_fill() is False or few.get_facecolor()[3] == 0  # outlined, not solid
    assert few.get_hatch() and "n=3, too few" in texts
    assert "n=40" in texts and "n=50" in texts
    plt.close(figure)
    assert plots.labeling_functions(_analysis()).startswith(b"\x89PNG")
