"""The labeled set: one label per photo from the best source there is, with its provenance.

Precedence: gold (an expert's ground truth) > human consensus (annotators, weighed by how good
each is) > weak (the label model over the labeling functions). Every photo of the day has a row;
one with no label from any source has a null label and source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
import polars as pl

from fsdl_data.core.labels.calibration import Recalibrated, recalibrate
from fsdl_data.core.labels.functions import vote_matrix
from fsdl_data.core.labels.label_model import LabelModel
from fsdl_data.core.versioning.hashing import frame_digest
from fsdl_data.core.versions import code_version, version_of

GOLD_CONFIDENCE = 0.995  # the expert's measured accuracy on the world's gold set

LABELED_SET = {
    "photo_id": pl.Int64,
    "label": pl.String,
    "confidence": pl.Float64,
    "source": pl.String,
    "gold_label": pl.String,
    "human_label": pl.String,
    "human_confidence": pl.Float64,
    "annotators": pl.List(pl.String),
    "weak_label": pl.String,
    "weak_confidence": pl.Float64,
    "labeling_functions": pl.List(pl.String),  # the functions that voted
    "label_model_version": pl.String,
    "labeling_functions_version": pl.String,
    "classifier_version": pl.String,  # the classifier behind the classifier_* votes, if any
}
WEAK_LABELS = {
    "photo_id": pl.Int64,
    "weak_label": pl.String,
    "weak_confidence": pl.Float64,
    "labeling_functions": pl.List(pl.String),
}


def label_model_version(
    matrix: pl.DataFrame, function_names: list[str], functions_version: str, seed: int
) -> str:
    """Changes with the label model's and the labeled set's code (their source hash), the
    functions' code and the votes it was fitted on."""
    digest = frame_digest(matrix.select("photo_id", *function_names))
    return version_of(code_version("weak_labels"), functions_version, seed, digest)


def labeled_set_version(labeled_set: pl.DataFrame) -> str:
    """The labeled set's version: its rows and the source of the code that makes them (the
    labeling functions, the label model, this module), so editing that code is a new version
    even where it leaves today's rows as they were (a day with no weak label has no label model
    version in its rows to carry the change)."""
    return version_of(
        code_version("weak_labels"), frame_digest(labeled_set.drop("known_at", strict=False))
    )


class WeakLabels(NamedTuple):
    table: pl.DataFrame  # photo_id, weak_label, weak_confidence, labeling_functions
    model: LabelModel | None
    recalibrated: Recalibrated | None  # what the confidences rest on


def weak_labels(
    fit_on: pl.DataFrame,
    label: pl.DataFrame,
    function_names: list[str],
    classes: tuple[str, ...],
    seed: int = 0,
    reference: pl.DataFrame | None = None,
) -> WeakLabels:
    """Fits the label model on the votes of `fit_on` (e.g. a trailing week of label matrices: more
    items, better estimates) and labels the rows of `label`. A photo no function voted on gets no
    weak label. With `reference` (photo_id, label: labels known to be right, see
    `reference_labels`), each weak confidence is the accuracy measured on the reference photos
    of `fit_on` at that confidence (core.labels.calibration; cross-fitted, so no reference photo
    calibrates itself), not the model's own posterior. Returns the labels, the fitted model and
    what the confidences rest on (both None when nothing was fitted)."""
    votes = vote_matrix(label, function_names)
    if len(fit_on) == 0 or len(label) == 0 or not function_names:
        return WeakLabels(_no_weak_labels(label), None, None)
    fit_votes = vote_matrix(fit_on, function_names)
    model = LabelModel(cardinality=len(classes), seed=seed).fit(fit_votes)
    proba = model.predict_proba(votes)
    best = model.predict(votes)
    voted = votes >= 0
    recalibrated = _recalibrated(
        model, proba.max(axis=1), label, fit_on, fit_votes, classes, reference, seed
    )
    names = np.array(function_names)
    table = pl.DataFrame(
        {
            "photo_id": label["photo_id"],
            "weak_label": [
                classes[b] if v.any() else None for b, v in zip(best, voted, strict=True)
            ],
            "weak_confidence": [
                float(c) if v.any() else None
                for c, v in zip(recalibrated.confidence, voted, strict=True)
            ],
            "labeling_functions": [names[v].tolist() for v in voted],
        },
        schema=WEAK_LABELS,
    )
    return WeakLabels(table, model, recalibrated)


def _recalibrated(
    model: LabelModel,
    confidence: np.ndarray,
    label: pl.DataFrame,
    fit_on: pl.DataFrame,
    fit_votes: np.ndarray,
    classes: tuple[str, ...],
    reference: pl.DataFrame | None,
    seed: int,
) -> Recalibrated:
    """The confidences of `label`'s weak labels recalibrated on the reference photos among the
    voted rows of `fit_on` (the model's own where there are none)."""
    ids = label["photo_id"].to_list()
    if reference is None or len(reference) == 0:
        return recalibrate(confidence, ids, np.empty(0), [], np.empty(0))
    truth = dict(zip(reference["photo_id"].to_list(), reference["label"].to_list(), strict=True))
    fit_ids = fit_on["photo_id"].to_list()
    rows = [r for r, i in enumerate(fit_ids) if i in truth and (fit_votes[r] >= 0).any()]
    reference_votes = fit_votes[rows]
    reference_ids = [fit_ids[r] for r in rows]
    right = np.array(
        [
            classes[b] == truth[i]
            for b, i in zip(model.predict(reference_votes), reference_ids, strict=True)
        ]
        if rows
        else [],
        dtype=float,
    )
    reference_confidence = model.predict_proba(reference_votes).max(axis=1) if rows else np.empty(0)
    return recalibrate(confidence, ids, reference_confidence, reference_ids, right, seed=seed)


def reference_labels(consensus: pl.DataFrame, human_admitted: bool = True) -> pl.DataFrame:
    """The labels weak confidences are calibrated on (photo_id, label): the expert's gold where
    there is one, else the annotators' consensus (only when `human_admitted`)."""
    has_human = pl.col("label").is_not_null() & (pl.col("annotators").list.len() > 0)
    label = (
        pl.when(pl.col("gold_label").is_not_null())
        .then("gold_label")
        .when(has_human if human_admitted else pl.lit(False))
        .then("label")
    )
    return (
        consensus.select("photo_id", label.alias("label"))
        .filter(pl.col("label").is_not_null())
        .unique("photo_id", keep="last", maintain_order=True)
    )


def _no_weak_labels(label: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "photo_id": label["photo_id"],
            "weak_label": [None] * len(label),
            "weak_confidence": [None] * len(label),
            "labeling_functions": [[] for _ in range(len(label))],
        },
        schema=WEAK_LABELS,
    )


def build_labeled_set(
    weak: pl.DataFrame,
    consensus: pl.DataFrame,
    *,
    label_model_version: str | None,
    functions_version: str,
    classifier_version: str | None,
    human_admitted: bool = True,
) -> pl.DataFrame:
    """One row per photo of `weak` (every photo of the day), by source precedence. With
    `human_admitted` False (the agreement gate blocked the day) the annotators' consensus is
    left out, so those photos fall back to gold or weak labels; the expert's gold stays, being
    no vote among annotators whose agreement failed."""
    if not human_admitted:
        consensus = consensus.with_columns(
            pl.lit(None, dtype=pl.String).alias("label"),
            pl.lit(None, dtype=pl.Float64).alias("confidence"),
            pl.lit([], dtype=pl.List(pl.String)).alias("annotators"),
        )
    human = consensus.select(
        "photo_id",
        "gold_label",
        pl.col("label").alias("human_label"),
        pl.col("confidence").alias("human_confidence"),
        "annotators",
    )
    joined = weak.join(human, on="photo_id", how="left", maintain_order="left")
    has_gold = pl.col("gold_label").is_not_null()
    has_human = pl.col("human_label").is_not_null() & (pl.col("annotators").list.len() > 0)
    has_weak = pl.col("weak_label").is_not_null()
    return (
        joined.with_columns(
            pl.when(has_gold)
            .then(pl.lit("gold"))
            .when(has_human)
            .then(pl.lit("human"))
            .when(has_weak)
            .then(pl.lit("weak"))
            .alias("source"),
            pl.when(has_gold)
            .then("gold_label")
            .when(has_human)
            .then("human_label")
            .otherwise("weak_label")
            .alias("label"),
            pl.when(has_gold)
            .then(pl.lit(GOLD_CONFIDENCE))
            .when(has_human)
            .then("human_confidence")
            .otherwise("weak_confidence")
            .alias("confidence"),
            pl.col("annotators").fill_null([]),
            # a gold photo's human label is its annotators' consensus (gold overrides it)
            pl.when(has_human).then("human_label").alias("human_label"),
            pl.when(has_human).then("human_confidence").alias("human_confidence"),
            pl.lit(label_model_version, dtype=pl.String).alias("label_model_version"),
            pl.lit(functions_version).alias("labeling_functions_version"),
            pl.lit(classifier_version, dtype=pl.String).alias("classifier_version"),
        )
        .select(list(LABELED_SET))
        .cast(LABELED_SET)
        .sort("photo_id")
    )


@dataclass(frozen=True)
class DayLabels:
    """A day's labeled set and the label model behind its weak labels (None: no votes)."""

    table: pl.DataFrame
    model: LabelModel | None
    model_version: str | None
    function_names: tuple[str, ...]
    classes: tuple[str, ...]
    weak_confidence: str = "no weak labels"  # what the weak confidences rest on

    def source_counts(self) -> dict[str, int]:
        """Photos per label source; "unlabeled" for those no source labels."""
        sources = self.table.group_by("source").len().sort("source")
        return {source or "unlabeled": n for source, n in sources.iter_rows()}

    def class_balance(self) -> dict[str, float]:
        """The label model's estimated share of each class (empty without a model)."""
        if self.model is None:
            return {}
        balance = self.model.class_balance()
        return {c: round(float(x), 3) for c, x in zip(self.classes, balance, strict=True)}

    def function_accuracies(self) -> dict[str, float]:
        """The label model's estimated accuracy of each function (empty without a model)."""
        if self.model is None:
            return {}
        accuracies = self.model.lf_accuracies()
        return {n: round(float(a), 3) for n, a in zip(self.function_names, accuracies, strict=True)}


# Off by default, on every path (the asset's `recalibrate_weak` takes this value): a window
# holds few reference labels (about 140 on the default world), and few vouch for little, so on
# a small world almost no recalibrated weak label reaches the classifier's threshold
# (docs/labels.md says what recalibration measured and how to turn it on).
RECALIBRATE_BY_DEFAULT = False


def label_day(
    label_matrix: pl.DataFrame,
    consensus: pl.DataFrame,
    day: date,
    function_names: list[str],
    classes: tuple[str, ...],
    functions_version: str,
    seed: int = 0,
    human_admitted: bool = True,
    calibrate: bool = RECALIBRATE_BY_DEFAULT,
) -> DayLabels:
    """The labeled set of `day`: the label model fitted on every row of `label_matrix` (a
    trailing window of days, tagged in its `day` column: more votes, better estimates) labels
    that day's photos, then gold > human consensus > weak (the consensus only where
    `human_admitted`, as `build_labeled_set`). `consensus` may span the window too: its photos
    of any day are the reference labels the weak confidences are recalibrated on, so that
    admitting weak labels at >= c admits labels about c accurate or better. The classifier
    version recorded is the one behind that day's classifier votes."""
    today = label_matrix.filter(pl.col("day") == day)
    reference = reference_labels(consensus, human_admitted) if calibrate else None
    weak, model, recalibrated = weak_labels(
        label_matrix, today, function_names, classes, seed, reference
    )
    model_version = (
        label_model_version(label_matrix, function_names, functions_version, seed)
        if model
        else None
    )
    classifiers = today["classifier_version"].drop_nulls().unique().to_list()
    table = build_labeled_set(
        weak,
        consensus,
        label_model_version=model_version,
        functions_version=functions_version,
        classifier_version=classifiers[0] if classifiers else None,
        human_admitted=human_admitted,
    )
    return DayLabels(
        table,
        model,
        model_version,
        tuple(function_names),
        classes,
        recalibrated.describe() if recalibrated else "no weak labels",
    )


def training_labels(
    labeled_set: pl.DataFrame, *, use_weak: bool, weak_min_confidence: float
) -> pl.DataFrame:
    """The rows a classifier trains on: every gold and human label, and weak labels at least
    `weak_min_confidence` sure when `use_weak`. `trusted` marks rows fit to validate on."""
    trusted = pl.col("source").is_in(["gold", "human"])
    weak_ok = (pl.col("source") == "weak") & (pl.col("confidence") >= weak_min_confidence)
    keep = trusted | weak_ok if use_weak else trusted
    return (
        labeled_set.filter(keep & pl.col("label").is_not_null())
        .select("photo_id", "label", "source", trusted.alias("trusted"))
        .sort("photo_id")
    )
