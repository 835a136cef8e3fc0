"""Generated crowds for testing and benchmarking annotator consensus against the truth.

Kinds of worker: skilled and sloppy ones whose mistakes follow a structure of their own (some
classes confused more than others), spammers who answer at random or always the same class, and
adversarial ones who mostly answer a fixed other class. Every parameter is drawn per seed, so
no estimator can be tuned to one crowd.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def _worker(rng: np.random.Generator, k: int, kind: str) -> np.ndarray:
    """A confusion matrix P(answer | truth) of the given kind, its parameters drawn."""
    if kind == "spammer_random":
        return np.full((k, k), 1.0 / k)
    if kind == "spammer_constant":
        matrix = np.zeros((k, k))
        matrix[:, rng.integers(k)] = 1.0
        return matrix
    if kind == "adversarial":  # right rarely, mostly a fixed other class
        shuffle = np.roll(np.arange(k), int(rng.integers(1, k)))
        matrix = np.full((k, k), rng.uniform(0.0, 0.15) / k)
        matrix[np.arange(k), shuffle] += 1.0
        return matrix / matrix.sum(axis=1, keepdims=True)
    accuracy = rng.uniform(0.55, 0.97) if kind == "skilled" else rng.uniform(0.3, 0.6)
    errors = rng.dirichlet(np.full(k - 1, rng.uniform(0.2, 3.0)), size=k)  # structured mistakes
    matrix = np.zeros((k, k))
    for truth in range(k):
        matrix[truth, truth] = accuracy
        matrix[truth, np.arange(k) != truth] = (1 - accuracy) * errors[truth]
    return matrix


def crowd(seed: int) -> tuple[pl.DataFrame, np.ndarray, dict[int, int]]:
    """Answers (task, worker, label), the true classes and a gold subset: the number of tasks,
    workers and classes, the mix of worker kinds, each worker's matrix, the class prior, how
    much each worker answers and how many answers a task gets are all drawn per seed."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    tasks, workers = int(rng.integers(200, 1500)), int(rng.integers(8, 40))
    mix = rng.dirichlet([3.0, 1.5, 0.7, 0.7, 0.7])  # skilled, sloppy, spammers, adversarial
    kinds = rng.choice(["skilled", "sloppy", "spammer_random", "spammer_constant", "adversarial"],
                       size=workers, p=mix)  # fmt: skip
    kinds[0] = "skilled"  # a crowd with no one skilled has no truth to find
    matrices = [_worker(rng, k, kind) for kind in kinds]
    prior = rng.dirichlet(np.full(k, rng.uniform(0.5, 5.0)))
    truth = rng.choice(k, size=tasks, p=prior)
    activity = rng.dirichlet(np.full(workers, rng.uniform(0.3, 3.0)))  # some answer a lot
    rows = []
    for task in range(tasks):
        overlap = int(rng.integers(1, min(7, workers) + 1))
        for who in rng.choice(workers, size=overlap, replace=False, p=activity):
            rows.append((task, f"w{who}", int(rng.choice(k, p=matrices[who][truth[task]]))))
    answers = pl.DataFrame(rows, schema=["task", "worker", "label"], orient="row")
    gold_tasks = rng.choice(tasks, size=max(2, int(tasks * rng.uniform(0.02, 0.1))), replace=False)
    return answers, truth, {int(t): int(truth[t]) for t in gold_tasks}
