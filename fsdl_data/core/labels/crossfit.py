"""Out-of-sample class probabilities by cross-fitting: what label-issue detection needs.

A model that trained on an item has learned its given label, right or wrong, so its probability
for that label is no evidence against it. Cross-fitting splits the items into folds; each fold's
items are scored by a model trained on the other folds only, so no item is ever scored by a
model that saw it. The model is a cheap one, multinomial logistic regression (softmax, L2
penalty, L-BFGS) on standardized features, refitted per fold in well under a second for
thousands of items; a fold is drawn per item from a hash of its id, so an item's fold does not
depend on which other items are there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

DEFAULT_FOLDS = 5
DEFAULT_L2 = 0.1  # per standardized feature; the loss is a mean over items
MAX_ITERATIONS = 200


def folds_of(ids: Sequence[int], folds: int, seed: int = 0) -> np.ndarray:
    """Each id's fold in 0..folds-1, from a hash of (seed, id): stable whatever else is there."""
    if folds < 2:
        raise ValueError(f"folds={folds}: cross-fitting needs at least 2 folds")
    return np.array(
        [int.from_bytes(hashlib.sha256(f"{seed}:{i}".encode()).digest()[:8], "little") % folds
         for i in ids],
        dtype=np.int64,
    )  # fmt: skip


@dataclass(frozen=True)
class SoftmaxRegression:
    """Multinomial logistic regression on features standardized by the training items."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray  # (features + 1) x classes, the last row the intercepts

    @classmethod
    def fit(
        cls, features: np.ndarray, labels: np.ndarray, classes: int, l2: float = DEFAULT_L2
    ) -> SoftmaxRegression:
        x = np.asarray(features, dtype=np.float64)
        mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        target = np.eye(classes)[labels]
        shape = (z.shape[1], classes)

        def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
            w = flat.reshape(shape)
            logits = z @ w
            log_p = logits - logsumexp(logits, axis=1, keepdims=True)
            value = -(target * log_p).sum() / len(z) + 0.5 * l2 * (w[:-1] ** 2).sum()
            gradient = z.T @ (np.exp(log_p) - target) / len(z)
            gradient[:-1] += l2 * w[:-1]
            return value, gradient.ravel()

        with threadpool_limits(1, user_api="blas"):  # small matrices: threads only contend
            found = minimize(loss, np.zeros(shape).ravel(), jac=True, method="L-BFGS-B",
                             options={"maxiter": MAX_ITERATIONS})  # fmt: skip
        return cls(mean, scale, found.x.reshape(shape))

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
        logits = z @ self.weights[:-1] + self.weights[-1]
        return np.exp(logits - logsumexp(logits, axis=1, keepdims=True))


def cross_fitted_probabilities(
    features: np.ndarray,
    labels: np.ndarray,
    classes: int,
    folds: np.ndarray,
    l2: float = DEFAULT_L2,
) -> np.ndarray:
    """n x classes probabilities; row i from a model trained on every item outside i's fold
    (`folds`, e.g. `folds_of`), never on item i. `labels`: class indices 0..classes-1."""
    features, labels, folds = np.asarray(features), np.asarray(labels), np.asarray(folds)
    if not len(features) == len(labels) == len(folds):
        raise ValueError(
            f"{len(features)} feature rows, {len(labels)} labels and {len(folds)} folds: "
            "give one of each per item"
        )
    present = np.unique(folds)
    if len(present) < 2:
        raise ValueError(
            f"{len(labels)} items fall in {len(present)} fold(s): cross-fitting needs items in "
            "at least 2 folds (label more items)"
        )
    probabilities = np.zeros((len(labels), classes))
    for fold in present:
        held_out = folds == fold
        model = SoftmaxRegression.fit(features[~held_out], labels[~held_out], classes, l2)
        probabilities[held_out] = model.predict_proba(features[held_out])
    return probabilities
