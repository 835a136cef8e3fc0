"""Annotator-aware crowd consensus as an estimator: Dawid and Skene (1979), fitted by EM.

Each worker has a confusion matrix P(their label | true class), estimated together with the
class prior and each task's posterior over classes. Known true labels (gold, `true_labels`)
are not votes: they fix their task's posterior, which anchors every worker's matrix on the
tasks they share with gold.

The attributes follow crowd-kit's `DawidSkene` (`probas_`, `priors_`, `errors_`, `labels_`)
as arrays, in the order of `tasks_`, `workers_` and `classes_`: `errors_[w, t, o]` is crowd-kit's
`errors_.loc[(worker, o), t]`, the probability that worker `w` answers `o` when the truth is `t`.
Two choices differ from crowd-kit's defaults, each because it is more accurate on small or
lopsided crowds: a mild Dirichlet pull of every matrix towards being right (`smoothing`, worth
one pseudo-answer per true class, so a worker seen a few times is not taken as perfect or
worthless) and a Laplace prior on the class balance; and convergence on the relative change of
the log evidence rather than a fixed absolute step.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

COLUMNS = ("task", "worker", "label")


def _frame(data: Any) -> pl.DataFrame:
    """`data` as a Polars frame of task, worker, label (a pandas frame, as crowd-kit takes, too)."""
    frame = data if isinstance(data, pl.DataFrame) else pl.from_pandas(data)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"crowd data needs columns task, worker, label; missing {missing}")
    return frame.select(COLUMNS)


def _ordered(values: Sequence[Hashable]) -> list[Hashable]:
    unique = list(dict.fromkeys(values))
    try:
        return sorted(unique)  # type: ignore[type-var]
    except TypeError:
        return unique  # mixed types: first appearance


class DawidSkene:
    """`fit(data, true_labels=None)` then `labels_`, `probas_`, `priors_`, `errors_`, or
    `predict(data)` / `predict_proba(data)` for new tasks with the fitted workers."""

    def __init__(self, n_iter: int = 200, tol: float = 1e-8, smoothing: float = 1.0) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing

    def fit(
        self,
        data: Any,
        true_labels: Mapping[Hashable, Hashable] | None = None,
        classes: Sequence[Hashable] | None = None,
    ) -> DawidSkene:
        """`data`: one row per answer (task, worker, label). `true_labels`: task -> known class
        (tasks with no answers are allowed: they still inform the prior). `classes`: the label
        space (default: every label seen, sorted)."""
        frame = _frame(data)
        gold = dict(true_labels or {})
        seen = frame["label"].to_list() + list(gold.values())
        self.classes_ = tuple(classes) if classes is not None else tuple(_ordered(seen))
        if not seen:
            raise ValueError("crowd data has no answers and no true labels: nothing to fit")
        index = self._index(seen)
        self.tasks_ = _ordered(frame["task"].to_list() + list(gold))
        self.workers_ = _ordered(frame["worker"].to_list())
        task = {t: i for i, t in enumerate(self.tasks_)}
        worker = {w: i for i, w in enumerate(self.workers_)}
        task_of = np.array([task[t] for t in frame["task"]], dtype=np.int64)
        worker_of = np.array([worker[w] for w in frame["worker"]], dtype=np.int64)
        label_of = np.array([index[c] for c in frame["label"]], dtype=np.int64)
        clamp = np.full(len(self.tasks_), -1, dtype=np.int64)
        for t, c in gold.items():
            clamp[task[t]] = index[c]
        self._em(task_of, worker_of, label_of, clamp)
        return self

    def _index(self, labels: Sequence[Hashable]) -> dict[Hashable, int]:
        """Class -> column; a label outside the classes is refused, in fit and in predict alike
        (dropping it silently would label a task from fewer answers than it has)."""
        index = {c: i for i, c in enumerate(self.classes_)}
        unknown = sorted({repr(c) for c in labels if c not in index})
        if unknown:
            raise ValueError(f"labels outside the classes {self.classes_}: {', '.join(unknown)}")
        return index

    def _em(
        self, task_of: np.ndarray, worker_of: np.ndarray, label_of: np.ndarray, clamp: np.ndarray
    ) -> None:
        n, k, m = len(clamp), len(self.classes_), len(self.workers_)
        known = clamp >= 0
        posterior = np.full((n, k), 1e-3)  # start from the (soft) majority vote
        np.add.at(posterior, (task_of, label_of), 1.0)
        posterior /= posterior.sum(axis=1, keepdims=True)
        posterior[known] = np.eye(k)[clamp[known]]
        pull = self.smoothing * (np.eye(k) * (k - 1) + 1) / k  # rows sum to `smoothing`
        previous, history = -np.inf, []
        for _ in range(self.n_iter):
            prior = (posterior.sum(axis=0) + 1.0) / (n + k)
            counts = np.zeros((m, k, k))
            np.add.at(counts, (worker_of, slice(None), label_of), posterior[task_of])
            counts += pull
            errors = np.clip(counts / counts.sum(axis=2, keepdims=True), 1e-12, None)
            log_joint = np.tile(np.log(prior), (n, 1))
            np.add.at(log_joint, task_of, np.log(errors[worker_of, :, label_of]))
            top = log_joint.max(axis=1, keepdims=True)
            evidence = float((top[:, 0] + np.log(np.exp(log_joint - top).sum(axis=1))).sum())
            posterior = np.exp(log_joint - top)
            posterior /= posterior.sum(axis=1, keepdims=True)
            posterior[known] = np.eye(k)[clamp[known]]
            history.append(evidence)
            if abs(evidence - previous) < self.tol * max(1.0, abs(evidence)):
                break
            previous = evidence
        self.probas_ = posterior
        self.priors_ = prior
        self.errors_ = errors
        self.labels_ = np.array(self.classes_, dtype=object)[posterior.argmax(axis=1)]
        self.loss_history_ = history

    def predict_proba(self, data: Any) -> pl.DataFrame:
        """Posteriors for the tasks of `data` under the fitted prior and workers' matrices: a
        `task` column and one per class (named as text). Answers of workers the fit never saw
        carry no information and are left out."""
        frame = _frame(data)
        tasks = _ordered(frame["task"].to_list())
        task = {t: i for i, t in enumerate(tasks)}
        worker = {w: i for i, w in enumerate(self.workers_)}
        index = self._index(frame["label"].to_list())
        known = frame.filter(pl.col("worker").is_in(list(self.workers_)))
        log_joint = np.tile(np.log(self.priors_), (len(tasks), 1))
        np.add.at(
            log_joint,
            np.array([task[t] for t in known["task"]], dtype=np.int64),
            np.log(
                self.errors_[
                    np.array([worker[w] for w in known["worker"]], dtype=np.int64),
                    :,
                    np.array([index[c] for c in known["label"]], dtype=np.int64),
                ]
            ),
        )
        posterior = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
        posterior /= posterior.sum(axis=1, keepdims=True)
        columns = {str(c): posterior[:, i] for i, c in enumerate(self.classes_)}
        return pl.DataFrame({"task": tasks, **columns}, strict=False)

    def predict(self, data: Any) -> pl.DataFrame:
        """The most probable class per task of `data` (`task`, `label`), ties to the first
        class."""
        proba = self.predict_proba(data)
        best = proba.drop("task").to_numpy().argmax(axis=1)
        labels = [self.classes_[i] for i in best]
        return pl.DataFrame({"task": proba["task"], "label": labels}, strict=False)
