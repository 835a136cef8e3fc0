"""Pictures of tables for the Dagster UI: each function returns PNG bytes.

Rendered with matplotlib's Agg backend (no display needed), small and at a fixed size so a
materialization's metadata stays light.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import polars as pl

DPI = 80


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return buffer.getvalue()


def labeling_functions(analysis: pl.DataFrame) -> bytes:
    """Coverage and accuracy (against the human consensus and gold) per labeling function."""
    rows = analysis.sort("labeling_function", descending=True)
    names = rows["labeling_function"].to_list()
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 0.28 * len(names) + 1.2), sharey=True)
    positions = list(range(len(names)))
    left.barh(positions, rows["coverage"].to_list(), color="#4c72b0")
    left.set_yticks(positions, names, fontsize=8)
    left.set_xlim(0, 1)
    left.set_title("coverage", fontsize=10)
    human = rows["human_accuracy"].fill_null(0).to_list()
    gold = rows["gold_accuracy"].fill_null(0).to_list()
    right.barh(
        [p + 0.2 for p in positions], human, height=0.4, label="vs human consensus", color="#55a868"
    )
    right.barh([p - 0.2 for p in positions], gold, height=0.4, label="vs gold", color="#c44e52")
    right.set_xlim(0, 1)
    right.set_title("accuracy", fontsize=10)
    right.legend(fontsize=7, loc="lower right")
    return _png(figure)


def counts(labels: list[str], values: list[int], title: str) -> bytes:
    """A bar per label: how many of each."""
    figure, axes = plt.subplots(figsize=(5, 2.6))
    axes.bar(labels, values, color="#4c72b0")
    axes.set_title(title, fontsize=10)
    axes.tick_params(axis="x", labelsize=8)
    for i, value in enumerate(values):
        axes.annotate(str(value), (i, value), ha="center", va="bottom", fontsize=8)
    return _png(figure)
