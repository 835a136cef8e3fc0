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


def labeling_functions(analysis: pl.DataFrame, too_few: int = 10) -> bytes:
    """labeling_functions_figure as PNG bytes."""
    return _png(labeling_functions_figure(analysis, too_few))


def labeling_functions_figure(analysis: pl.DataFrame, too_few: int = 10) -> plt.Figure:
    """Coverage and accuracy (against the human consensus and gold) per labeling function.
    Honest about what is not known: a missing accuracy (nothing to compare with) is no bar and
    says "no votes", never a bar at 0; one measured on fewer than `too_few` photos is an
    outlined, hatched bar marked "too few"; every accuracy bar names its count."""
    rows = analysis.sort("labeling_function", descending=True)
    names = rows["labeling_function"].to_list()
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 0.32 * len(names) + 1.4), sharey=True)
    positions = list(range(len(names)))
    left.barh(positions, rows["coverage"].to_list(), color="#4c72b0")
    left.set_yticks(positions, names, fontsize=8)
    left.set_xlim(0, 1)
    left.set_title("coverage", fontsize=10)
    series = (
        ("human", +0.2, "vs human consensus", "#55a868"),
        ("gold", -0.2, "vs gold", "#c44e52"),
    )
    for source, offset, label, color in series:
        accuracies = rows[f"{source}_accuracy"].to_list()
        counts = rows[f"{source}_n"].to_list()
        for position, accuracy, n in zip(positions, accuracies, counts, strict=True):
            y = position + offset
            if accuracy is None or not n:
                right.text(0.01, y, f"{source}: no votes", va="center", fontsize=6, color="#777")
                continue
            few = n < too_few
            right.barh(y, accuracy, height=0.4, color="none" if few else color,
                       edgecolor=color, hatch="///" if few else None)  # fmt: skip
            note = f"n={n}, too few" if few else f"n={n}"
            right.text(min(accuracy, 0.8) + 0.01, y, note, va="center", fontsize=6)
        right.barh([], [], color=color, label=label)  # the legend's swatch
    right.set_xlim(0, 1)
    right.set_title(f"accuracy (hatched: fewer than {too_few} photos)", fontsize=10)
    right.legend(fontsize=7, loc="lower right")
    return figure


def counts(labels: list[str], values: list[int], title: str) -> bytes:
    """A bar per label: how many of each."""
    figure, axes = plt.subplots(figsize=(5, 2.6))
    axes.bar(labels, values, color="#4c72b0")
    axes.set_title(title, fontsize=10)
    axes.tick_params(axis="x", labelsize=8)
    for i, value in enumerate(values):
        axes.annotate(str(value), (i, value), ha="center", va="bottom", fontsize=8)
    return _png(figure)


def likes_and_maturity(likes: list[int], pending: int) -> bytes:
    """Left: the distribution of likes in 24 h (log scale); right: labels known vs still maturing."""
    import numpy as np

    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 2.8), width_ratios=[3, 1])
    values = np.log1p(np.asarray(likes, dtype=float))
    left.hist(values, bins=30, color="#4c72b0")
    left.set_xlabel("log(1 + likes in 24 h)", fontsize=8)
    left.set_title(f"likes in 24 h ({len(likes)} photos)", fontsize=10)
    right.bar(["known", "maturing"], [len(likes), pending], color=["#55a868", "#c44e52"])
    right.set_title("label maturity", fontsize=10)
    right.tick_params(axis="x", labelsize=8)
    return _png(figure)


def confusion(matrix: list[list[int]], classes: list[str], title: str) -> bytes:
    """Rows: the reference class; columns: the predicted class; each cell its count."""
    import numpy as np

    counts = np.asarray(matrix)
    figure, axes = plt.subplots(figsize=(4.6, 3.8))
    axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(range(len(classes)), classes, fontsize=8)
    axes.set_xlabel("classifier", fontsize=8)
    axes.set_ylabel("human label", fontsize=8)
    for (row, column), value in np.ndenumerate(counts):
        axes.annotate(str(value), (column, row), ha="center", va="center", fontsize=8,
                      color="white" if value > counts.max() / 2 else "black")  # fmt: skip
    axes.set_title(title, fontsize=10)
    return _png(figure)


def calibration_and_scatter(predicted: list[float], actual: list[float], bins: int = 10) -> bytes:
    """Left: mean actual against mean predicted per predicted decile (on the diagonal when
    calibrated); right: every held-out photo, predicted against actual."""
    import numpy as np

    p, a = np.asarray(predicted, dtype=float), np.asarray(actual, dtype=float)
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3.4))
    if len(p):
        order = np.argsort(p)
        groups = [g for g in np.array_split(order, min(bins, len(p))) if len(g)]
        left.plot(
            [p[g].mean() for g in groups], [a[g].mean() for g in groups], "o-", color="#4c72b0"
        )
        low, high = float(min(p.min(), a.min())), float(max(p.max(), a.max()))
        for axes in (left, right):
            axes.plot([low, high], [low, high], "--", color="grey", linewidth=1)
        right.scatter(p, a, s=4, alpha=0.4, color="#4c72b0")
    left.set_title("calibration (deciles)", fontsize=10)
    right.set_title(f"held-out photos ({len(p)})", fontsize=10)
    for axes in (left, right):
        axes.set_xlabel("predicted log(1 + likes)", fontsize=8)
        axes.set_ylabel("actual log(1 + likes)", fontsize=8)
    return _png(figure)


def serving_freshness(freshness: pl.DataFrame) -> bytes:
    """Per feature, how old served values were at serve time: since their event time and since
    they were published (median bars, 90th percentile ticks), in hours."""
    rows = freshness.sort("feature", descending=True)
    names = rows["feature"].to_list()
    figure, axes = plt.subplots(figsize=(6, 0.35 * len(names) + 1.3))
    positions = list(range(len(names)))
    for offset, column, label, color in ((0.2, "age_h", "since event time", "#4c72b0"),
                                         (-0.2, "since_known_h", "since known-at", "#dd8452")):  # fmt: skip
        at = [p + offset for p in positions]
        axes.barh(at, rows[f"median_{column}"].to_list(), height=0.4, label=label, color=color)
        axes.scatter(rows[f"p90_{column}"].to_list(), at, marker="|", color="black", s=80)
    axes.set_yticks(positions, names, fontsize=8)
    axes.set_xlabel("hours at serve time (bar: median, tick: 90th percentile)", fontsize=8)
    axes.legend(fontsize=7, loc="lower right")
    return _png(figure)
