"""How far annotators can be trusted: agreement between them, and accuracy against gold.

- Krippendorff's alpha (nominal): 1 - observed / expected disagreement, from the coincidence
  matrix of the values annotators gave the same unit. 1 is perfect agreement, 0 is what chance
  gives, below 0 is systematic disagreement. Units with a single annotation carry no
  information about agreement and are left out, as the coefficient prescribes.
- Pairwise agreement: the share of pairs of annotations on the same unit that agree.
- Gold accuracy: each annotator's share of correct answers on photos an expert labeled, with a
  Wilson score interval (sound for small counts, unlike p ± 1.96·se), and the rule that leaves
  an annotator out of consensus when enough gold says they are below a threshold.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from fsdl_data.core.tables.quality import Outcome


def krippendorff_alpha(units: Sequence[Sequence[Hashable]]) -> float | None:
    """Nominal alpha over `units`, each the values its annotators gave. None when nothing can be
    measured: fewer than two pairable values, or a single value used throughout (no expected
    disagreement)."""
    pairable = [list(u) for u in units if len(u) >= 2]
    values = sorted({v for u in pairable for v in u}, key=repr)
    index = {v: i for i, v in enumerate(values)}
    k = len(values)
    if not pairable or k < 1:
        return None
    coincidence = np.zeros((k, k))
    for unit in pairable:
        counts = np.zeros(k)
        for v in unit:
            counts[index[v]] += 1
        # ordered pairs of distinct annotations within the unit, each weighted 1 / (m_u - 1)
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (len(unit) - 1)
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    expected = (n * n - (totals**2).sum()) / (n - 1)
    if expected <= 0:
        return None
    observed = coincidence.sum() - np.trace(coincidence)
    return float(1.0 - observed / expected)


def pairwise_agreement(units: Sequence[Sequence[Hashable]]) -> float | None:
    """Agreeing pairs / all pairs, pooled over the units with two or more annotations."""
    agree = pairs = 0
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        pairs += m * (m - 1) // 2
        agree += sum(c * (c - 1) // 2 for c in Counter(unit).values())
    return agree / pairs if pairs else None


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """The score interval for a proportion (95% by default); None without trials."""
    if n <= 0:
        return None
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class AgreementReport:
    units: int  # photos with two or more annotations
    annotations: int
    pairwise: float | None
    alpha: float | None
    alpha_high: float | None = None  # the one-sided 95% upper bound of alpha (bootstrap)


def alpha_upper_bound(
    units: Sequence[Sequence[Hashable]],
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> float | None:
    """The value alpha stays below with probability `confidence`, by bootstrapping the units (as
    Hayes and Krippendorff, 2007, bootstrap alpha to judge it against a minimum): the photos are
    drawn again with replacement and alpha measured on each draw. Seeded: the same units give
    the same bound. None when alpha cannot be measured."""
    pairable = [list(u) for u in units if len(u) >= 2]
    values = sorted({v for u in pairable for v in u}, key=repr)
    if krippendorff_alpha(pairable) is None:
        return None
    index = {v: i for i, v in enumerate(values)}
    k = len(values)
    per_unit = np.zeros((len(pairable), k * k))
    for row, unit in enumerate(pairable):
        counts = np.bincount([index[v] for v in unit], minlength=k).astype(float)
        per_unit[row] = ((np.outer(counts, counts) - np.diag(counts)) / (len(unit) - 1)).ravel()
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(pairable), size=(resamples, len(pairable)))
    weights = np.stack([np.bincount(d, minlength=len(pairable)) for d in draws]).astype(float)
    coincidence = (weights @ per_unit).reshape(resamples, k, k)
    totals = coincidence.sum(axis=2)
    n = totals.sum(axis=1)
    expected = (n * n - (totals**2).sum(axis=1)) / (n - 1)
    observed = n - np.trace(coincidence, axis1=1, axis2=2)
    measurable = expected > 0
    alphas = np.where(measurable, 1.0 - observed / np.where(measurable, expected, 1.0), 1.0)
    return float(np.quantile(alphas, confidence))


def agreement_report(annotations: pl.DataFrame, excluded: Collection[str] = ()) -> AgreementReport:
    """Agreement among the annotations the consensus uses: `annotations` are human_labels rows;
    rejected ones, gold (an expert's answer is not a vote) and those of `excluded` annotators
    are left out."""
    annotations = annotations.filter(
        pl.col("rejected_reason").is_null()
        & ~pl.col("ground_truth")
        & ~pl.col("annotator").is_in(list(excluded))
    )
    units = [
        sorted(group["label"].to_list())
        for _, group in annotations.sort("photo_id").group_by("photo_id", maintain_order=True)
        if len(group) >= 2
    ]
    return AgreementReport(
        units=len(units),
        annotations=sum(len(u) for u in units),
        pairwise=pairwise_agreement(units),
        alpha=krippendorff_alpha(units),
        alpha_high=alpha_upper_bound(units),
    )


GOLD_ACCURACY = {
    "annotator": pl.String,
    "gold_annotations": pl.Int64,
    "gold_correct": pl.Int64,
    "gold_accuracy": pl.Float64,
    "gold_accuracy_low": pl.Float64,
    "gold_accuracy_high": pl.Float64,
}


def gold_accuracy(votes: pl.DataFrame, gold: dict[int, str]) -> pl.DataFrame:
    """Per annotator with at least one vote: answers on gold photos, how many were right, and the
    accuracy with its 95% Wilson interval (null without gold)."""
    rows = []
    for (name,), group in votes.group_by(["annotator"]):
        on_gold = [(p, label) for p, label in group.select("photo_id", "label").iter_rows()
                   if p in gold]  # fmt: skip
        correct = sum(label == gold[p] for p, label in on_gold)
        interval = wilson_interval(correct, len(on_gold))
        rows.append(
            {
                "annotator": name,
                "gold_annotations": len(on_gold),
                "gold_correct": correct,
                "gold_accuracy": correct / len(on_gold) if on_gold else None,
                "gold_accuracy_low": interval[0] if interval else None,
                "gold_accuracy_high": interval[1] if interval else None,
            }
        )
    return pl.DataFrame(rows, schema=GOLD_ACCURACY).sort("annotator")


def gold_exclusions(accuracy: pl.DataFrame, min_accuracy: float, min_gold: int) -> dict[str, str]:
    """Annotators to leave out of consensus: those with at least `min_gold` gold answers whose
    accuracy on them is below `min_accuracy`, each with the reason."""
    return {
        row["annotator"]: (
            f"gold accuracy {row['gold_accuracy']:.2f} < {min_accuracy:.2f} "
            f"on {row['gold_annotations']} gold photos"
        )
        for row in accuracy.iter_rows(named=True)
        if row["gold_annotations"] >= min_gold and row["gold_accuracy"] < min_accuracy
    }


MIN_ALPHA = 0.5  # Krippendorff's alpha below which a day's human labels are not used
# The small-sample rule, two parts. (1) Alpha blocks only when measured on at least this many
# photos labeled twice or more; on fewer a low alpha warns. The default world labels 20 photos
# a day three times (WorldSpec.seed_label_fraction 0.1), so each day is judged on its own.
# (2) On 20 photos alpha still varies a lot from day to day for the same annotators (0.27-0.73
# over 90 honest days of the default world), so a day blocks only when alpha is *confidently*
# below MIN_ALPHA: its bootstrapped 95% upper bound (alpha_upper_bound) is below it too; a low
# alpha that is not confidently low warns. Pooling a day with earlier ones was tried and
# rejected: a bad day pooled with a good one passes, and the bad day then drags the next down.
MIN_UNITS_FOR_ALPHA = 20


def agreement_outcome(
    report: AgreementReport, min_alpha: float = MIN_ALPHA, min_units: int = MIN_UNITS_FOR_ALPHA
) -> Outcome:
    """The gate on a day's human labels: alpha at least `min_alpha`. With fewer than `min_units`
    photos labeled twice or more alpha is too noisy to block on, so a low one only warns. A
    failed severe outcome holds the day's human labels out of the labeled set."""
    metadata = {
        "photos_with_two_or_more": report.units,
        "annotations": report.annotations,
        "pairwise_agreement": report.pairwise if report.pairwise is not None else float("nan"),
        "krippendorff_alpha": report.alpha if report.alpha is not None else float("nan"),
        "threshold": min_alpha,
        "minimum_photos": min_units,
    }
    if report.alpha is None:
        return Outcome(True, "no photo with two or more comparable annotations", metadata)
    high = report.alpha_high if report.alpha_high is not None else report.alpha
    metadata["krippendorff_alpha_upper_95"] = high
    measured = (
        f"Krippendorff's alpha {report.alpha:.3f} (95% upper bound {high:.3f}, threshold "
        f"{min_alpha}), pairwise agreement {report.pairwise:.3f}, over {report.units} photos"
    )
    if report.units < min_units:
        return Outcome(report.alpha >= min_alpha, f"{measured}: too few (< {min_units}) to block on",
                       metadata, severe=False)  # fmt: skip
    if report.alpha < min_alpha <= high:
        return Outcome(False, f"{measured}: low, but not confidently below the threshold",
                       metadata, severe=False)  # fmt: skip
    if report.alpha < min_alpha:
        held = f"{measured}: the day's human labels are held out of labeled_set until a new "
        return Outcome(False, held + "export passes", metadata)
    return Outcome(True, measured, metadata)


def human_labels_admitted(outcome: Outcome) -> bool:
    """Whether the day's human labels may enter the labeled set: not when agreement blocked."""
    return outcome.passed or not outcome.severe


def exclusion_outcome(annotator_quality: pl.DataFrame) -> Outcome:
    """A warning that names each annotator left out of the consensus, and why."""
    out = annotator_quality.filter(pl.col("excluded"))
    who = "; ".join(f"{r['annotator']}: {r['excluded_reason']}" for r in out.iter_rows(named=True))
    measured = annotator_quality.filter(pl.col("gold_annotations") > 0)
    description = (
        f"left out of consensus: {who}"
        if who
        else f"{len(measured)} annotators measured on gold, none below the threshold"
    )
    metadata = {"excluded": len(out), "annotators_on_gold": len(measured), "who": who}
    return Outcome(out.is_empty(), description, metadata, severe=False)
