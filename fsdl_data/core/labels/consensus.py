"""Consensus of human annotations that knows annotators differ: the Dawid-Skene estimator
(`crowd.DawidSkene`) over the human_labels rows, one row per photo and per annotator.

Each annotator has a confusion matrix P(their label | true class), estimated by EM together
with the class balance and each photo's posterior over classes. Ground-truth (gold)
annotations by an expert are not votes: they fix their photo's class, which anchors every
annotator's matrix on the photos they share with gold. Which photos an annotator was given
says nothing about the class, so unlike a labeling function's abstentions it is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fsdl_data.core.labels.agreement import gold_accuracy, gold_exclusions
from fsdl_data.core.labels.crowd import DawidSkene

CONSENSUS = {
    "photo_id": pl.Int64,
    "label": pl.String,
    "confidence": pl.Float64,
    "annotations": pl.Int64,
    "annotators": pl.List(pl.String),
    "agreement": pl.Float64,  # share of annotations that gave the consensus label
    "gold_label": pl.String,
}
ANNOTATORS = {
    "annotator": pl.String,
    "annotations": pl.Int64,
    "estimated_accuracy": pl.Float64,
    "gold_annotations": pl.Int64,
    "gold_correct": pl.Int64,
    "gold_accuracy": pl.Float64,
    "gold_accuracy_low": pl.Float64,  # 95% Wilson interval
    "gold_accuracy_high": pl.Float64,
    "excluded": pl.Boolean,
    "excluded_reason": pl.String,
}


@dataclass(frozen=True)
class Consensus:
    photos: pl.DataFrame  # CONSENSUS
    annotators: pl.DataFrame  # ANNOTATORS


def annotator_consensus(
    annotations: pl.DataFrame,
    classes: tuple[str, ...],
    *,
    excluded: dict[str, str] | None = None,
    max_iter: int = 200,
    tolerance: float = 1e-8,
    smoothing: float = 1.0,
) -> Consensus:
    """`annotations`: accepted human labels with photo_id, annotator, label and ground_truth.

    `excluded` maps annotators to the reason their labels are left out of the consensus (they
    are still listed, with the reason). Photos labeled only by excluded annotators and no gold
    get no consensus row.
    """
    excluded = excluded or {}
    index = {c: i for i, c in enumerate(classes)}
    rows = annotations.filter(pl.col("label").is_in(list(classes)))
    gold_rows = rows.filter(pl.col("ground_truth"))
    votes = rows.filter(~pl.col("ground_truth") & pl.col("annotator").is_not_null())  # no voter
    used = votes.filter(~pl.col("annotator").is_in(list(excluded)))
    gold = gold_labels(gold_rows)
    people = sorted(set(votes["annotator"].to_list()))

    model = DawidSkene(n_iter=max_iter, tol=tolerance, smoothing=smoothing).fit(
        used.select(task="photo_id", worker="annotator", label="label"), gold, classes
    )
    photo_ids = [int(p) for p in model.tasks_]
    item = {p: i for i, p in enumerate(photo_ids)}
    best = model.probas_.argmax(axis=1)
    photos = _photo_rows(photo_ids, used, model.probas_, best, classes, gold)
    people_table = _annotator_rows(votes, gold, people, model, item, index, excluded)
    return Consensus(photos=photos, annotators=people_table)


def exclusions_by_gold(
    accepted: pl.DataFrame, min_accuracy: float, min_gold: int
) -> dict[str, str]:
    """Gold-standard QA over accepted human_labels rows: the annotators whose accuracy on the
    expert's gold photos (at least `min_gold` answers) is below `min_accuracy`, with the
    reason; pass it to `annotator_consensus(excluded=...)`."""
    votes = accepted.filter(~pl.col("ground_truth"))
    gold = gold_labels(accepted.filter(pl.col("ground_truth")))
    return gold_exclusions(gold_accuracy(votes, gold), min_accuracy, min_gold)


def gold_labels(gold_rows: pl.DataFrame) -> dict[int, str]:
    """photo -> gold class; where experts disagree, the most frequent, ties alphabetically."""
    out: dict[int, str] = {}
    for (photo_id,), group in gold_rows.group_by(["photo_id"]):
        counts = group["label"].value_counts().sort(["count", "label"], descending=[True, False])
        out[int(photo_id)] = counts["label"][0]
    return out


def _photo_rows(
    photo_ids: list[int],
    used: pl.DataFrame,
    posterior: np.ndarray,
    best: np.ndarray,
    classes: tuple[str, ...],
    gold: dict[int, str],
) -> pl.DataFrame:
    by_photo = {
        int(p): (group["annotator"].to_list(), group["label"].to_list())
        for (p,), group in used.group_by(["photo_id"])
    }
    records = []
    for i, p in enumerate(photo_ids):
        annotators, labels = by_photo.get(p, ([], []))
        label = classes[int(best[i])]
        records.append(
            {
                "photo_id": p,
                "label": label,
                "confidence": float(posterior[i].max()),
                "annotations": len(labels),
                "annotators": sorted(set(annotators)),
                "agreement": (sum(x == label for x in labels) / len(labels)) if labels else None,
                "gold_label": gold.get(p),
            }
        )
    return pl.DataFrame(records, schema=CONSENSUS)


def _annotator_rows(
    votes: pl.DataFrame,
    gold: dict[int, str],
    people: list[str],
    model: DawidSkene,
    item: dict[int, int],
    index: dict[str, int],
    excluded: dict[str, str],
) -> pl.DataFrame:
    on_gold = {row["annotator"]: row for row in gold_accuracy(votes, gold).iter_rows(named=True)}
    records = []
    for name in people:
        mine = votes.filter(pl.col("annotator") == name)
        if name in excluded:  # not in the fit: how often the consensus agrees with them
            hits = [
                model.probas_[item[p], index[label]]
                for p, label in mine.select("photo_id", "label").iter_rows()
                if p in item
            ]
            estimated = float(np.mean(hits)) if hits else None
        else:
            matrix = model.errors_[model.workers_.index(name)]
            estimated = float((model.priors_ * np.diag(matrix)).sum())
        records.append(
            {
                **on_gold[name],
                "annotations": len(mine),
                "estimated_accuracy": estimated,
                "excluded": name in excluded,
                "excluded_reason": excluded.get(name),
            }
        )
    return pl.DataFrame(records, schema=ANNOTATORS)
