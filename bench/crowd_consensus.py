"""Benchmark: our Dawid-Skene (core/labels/crowd.py) against crowd-kit's `DawidSkene` with its
defaults, and majority vote, on the generated crowds the tests use (synthetic_crowds.crowd:
size, classes, skill mix, spammers and adversarial workers drawn per seed).

Per crowd and with gold given to both (`true_labels`) or to neither: accuracy against the truth
on the tasks whose truth neither was told, and fit time, median with range over --runs runs
(crowd-kit's measured in the same run). Accuracies do not vary between runs (both are
deterministic). Run: `python bench/crowd_consensus.py`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene

from fsdl_data.core.labels.crowd import DawidSkene
from fsdl_data.core.labels.synthetic_crowds import crowd


def accuracy(labels: dict, truth: np.ndarray, skip: set[int]) -> float:
    scored = [t for t in labels if t not in skip]
    return float(np.mean([labels[t] == truth[t] for t in scored]))


def majority(answers: pl.DataFrame) -> dict:
    counts = answers.group_by("task", "label").len().sort(["task", "len", "label"],
                                                         descending=[False, True, False])  # fmt: skip
    return dict(
        counts.group_by("task", maintain_order=True).first().select("task", "label").iter_rows()
    )


def timed(fit, runs: int) -> tuple[object, list[float]]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fit()
        times.append(time.perf_counter() - start)
    return result, times


def spread(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} ({min(times):.3f}-{max(times):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("crowd  gold  tasks workers k  | ours   crowd-kit  majority | fit s ours, crowd-kit: "
          "median (range)")  # fmt: skip
    wins = []
    for seed in range(args.seeds):
        answers, truth, gold = crowd(seed)
        frame = answers.to_pandas()
        for use_gold in (True, False):
            given = gold if use_gold else None
            ours, ours_t = timed(lambda g=given, a=answers: DawidSkene().fit(a, g), args.runs)
            theirs, theirs_t = timed(
                lambda g=given, f=frame: CrowdKitDawidSkene().fit_predict(
                    f, pd.Series(g) if g else None
                ),
                args.runs,
            )
            skip = set(gold)
            a = accuracy(dict(zip(ours.tasks_, ours.labels_, strict=True)), truth, skip)
            b = accuracy(theirs.to_dict(), truth, skip)
            c = accuracy(majority(answers), truth, skip)
            wins.append(a - b)
            print(f"{seed:5d}  {'yes' if use_gold else 'no ':4s} {len(truth):6d} "
                  f"{answers['worker'].n_unique():7d} {len(ours.classes_):2d}  | {a:.4f} {b:.4f}"
                  f"     {c:.4f}   | {spread(ours_t)}, {spread(theirs_t)}")  # fmt: skip
    print(
        f"ours - crowd-kit, accuracy points: min {100 * min(wins):+.2f}, "
        f"median {100 * statistics.median(wins):+.2f}, max {100 * max(wins):+.2f}"
    )


if __name__ == "__main__":
    main()
