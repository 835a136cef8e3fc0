"""Weak confidences that mean what they say, recalibrated on reference (gold or human) labels.

The label model's confidence is its own posterior: right only as far as its model of the
labeling functions is right, and a dependency it missed makes it overconfident. So the
confidence of a weak label is mapped to an accuracy measured on items whose true label is
known (reference items): an isotonic (monotone) step function of the model's confidence,
fitted by pooling adjacent violators. Each step's value is the lesser of
- its own accuracy, the posterior mean under a uniform prior, (right + 1) / (items + 2): a
  label at that confidence is claimed no more accurate than its step's reference items were;
- what the threshold promises: admitting every label at or above a step admits that step and
  all above it, so the value is at most the lower `RISK` quantile of the posterior accuracy of
  those pooled reference items (Beta(right + 1, wrong + 1)), or of a lower step's pool where
  that is higher (a pool without its lowest steps is no less accurate, accuracy being taken
  as non-decreasing in the confidence, which is what the isotonic fit assumes).
So weak labels admitted at >= c are at least c accurate but for a `RISK` chance, and a
confidence backed by few reference items is pulled well down: that is the honest fallback
when the reference is small (18 of 18 right vouch for 0.85). With no reference items nothing
is measured: the model's confidences are returned unchanged, and `Recalibrated.describe`
says so.

No reference item calibrates itself: the reference items' own confidences are cross-fitted,
each fold's mapped by a calibration fitted on the other folds only (folds drawn from a hash of
the item's id), so their accuracies measure the calibration out of sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv

from fsdl_data.core.labels.crossfit import DEFAULT_FOLDS, folds_of

RISK = 0.05  # the posterior chance that labels admitted at a value are less accurate than it


@dataclass(frozen=True)
class Calibration:
    """A monotone step function from a model's confidence to a measured accuracy: an input at
    or above `lower[i]` (and below `lower[i + 1]`) maps to `accuracy[i]`; below `lower[0]`, to
    `accuracy[0]`. `items` is how many reference items each step was measured on."""

    lower: np.ndarray
    accuracy: np.ndarray
    items: np.ndarray

    def __call__(self, confidence: np.ndarray) -> np.ndarray:
        confidence = np.asarray(confidence, dtype=float)
        step = np.searchsorted(self.lower, confidence, side="right") - 1
        return self.accuracy[np.clip(step, 0, len(self.accuracy) - 1)]


def fit_calibration(confidence: np.ndarray, right: np.ndarray) -> Calibration:
    """Isotonic regression of `right` (1 when the label was correct) on `confidence` (adjacent
    violators pooled by their mean), each step's value as the module says: the lesser of its
    posterior mean accuracy and the accuracy vouched for by it and the steps above it (or by a
    lower step and those above it). Equal confidences are one point, so they always share a
    step."""
    confidence = np.asarray(confidence, dtype=float)
    right = np.asarray(right, dtype=float)
    if len(confidence) == 0:
        raise ValueError("a calibration needs at least one reference item")
    values, inverse = np.unique(confidence, return_inverse=True)
    counts = np.bincount(inverse).astype(float)
    hits = np.bincount(inverse, weights=right)
    # pool adjacent violators: a stack of steps (first point, items, right)
    firsts: list[int] = []
    items: list[float] = []
    rights: list[float] = []
    for i in range(len(values)):
        firsts.append(i)
        items.append(counts[i])
        rights.append(hits[i])
        while len(items) > 1 and rights[-1] * items[-2] <= rights[-2] * items[-1]:
            merged_items, merged_rights = items.pop(), rights.pop()
            items[-1] += merged_items
            rights[-1] += merged_rights
            firsts.pop()
    return Calibration(
        lower=values[firsts],
        accuracy=_values(np.array(rights), np.array(items)),
        items=np.array(items, dtype=np.int64),
    )


def _values(rights: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Per step (in increasing order): min(own posterior mean, best vouched-for pool above)."""
    own = (rights + 1.0) / (items + 2.0)
    above = [_vouched(r, n) for r, n in zip(np.cumsum(rights[::-1])[::-1],
                                            np.cumsum(items[::-1])[::-1], strict=True)]  # fmt: skip
    return np.minimum(own, np.maximum.accumulate(above))


def _vouched(right: float, items: float) -> float:
    """The lower `RISK` quantile of the accuracy's posterior under a uniform prior."""
    return float(betaincinv(right + 1.0, items - right + 1.0, RISK))


@dataclass(frozen=True)
class Recalibrated:
    """Confidences after recalibration, and what they rest on."""

    confidence: np.ndarray
    reference_items: int  # 0: nothing to measure on, `confidence` is the model's own
    calibration: Calibration | None  # fitted on every reference item (None without any)

    @property
    def calibrated(self) -> bool:
        return self.calibration is not None

    def describe(self) -> str:
        if self.calibration is None:
            return "the label model's own (no reference labels to calibrate on)"
        return (
            f"recalibrated on {self.reference_items} reference labels "
            f"({len(self.calibration.accuracy)} steps, cross-fitted on those items)"
        )


def recalibrate(
    confidence: np.ndarray,
    ids: Sequence[int],
    reference_confidence: np.ndarray,
    reference_ids: Sequence[int],
    reference_right: np.ndarray,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> Recalibrated:
    """Maps each item's top-class `confidence` to the accuracy measured on the reference items
    (their confidence, id, and whether the weak label was right). An item that is itself a
    reference item gets the calibration fitted on the other folds only (the prior's `RISK`
    quantile when the other folds hold no reference item); every other item the one fitted on
    all of them."""
    confidence = np.asarray(confidence, dtype=float)
    reference_confidence = np.asarray(reference_confidence, dtype=float)
    reference_right = np.asarray(reference_right, dtype=float)
    if len(reference_confidence) == 0:
        return Recalibrated(confidence.copy(), 0, None)
    everything = fit_calibration(reference_confidence, reference_right)
    result = everything(confidence)
    fold_of = dict(
        zip(
            (int(i) for i in reference_ids),
            folds_of([int(i) for i in reference_ids], folds, seed).tolist(),
            strict=True,
        )
    )
    reference_folds = np.array([fold_of[int(i)] for i in reference_ids], dtype=np.int64)
    item_folds = np.array([fold_of.get(int(i), -1) for i in ids], dtype=np.int64)
    for f in np.unique(item_folds[item_folds >= 0]):
        others = reference_folds != f
        inside = item_folds == f
        result[inside] = (
            fit_calibration(reference_confidence[others], reference_right[others])(
                confidence[inside]
            )
            if others.any()
            else _vouched(0.0, 0.0)
        )
    return Recalibrated(result, len(reference_confidence), everything)
