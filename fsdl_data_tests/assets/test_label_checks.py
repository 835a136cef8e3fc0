"""The labeling loop's checks, invoked on hand-made tables: who is named, when alpha blocks."""

import numpy as np
import polars as pl

from fsdl_data.checks.labels import (
    MIN_UNITS_FOR_ALPHA,
    annotator_quality_gold,
    labeled_set_agreement,
)
from fsdl_data.core.labels.consensus import ANNOTATORS
from fsdl_data.core.labels.human import HUMAN_LABELS

CLASSES = ["city", "food", "landscape", "pattern", "portrait"]


def _labels(photos: int, agree: float, seed: int = 0) -> pl.DataFrame:
    """Three annotators per photo; each gives the photo's class with probability `agree`."""
    rng = np.random.default_rng(seed)
    rows = []
    for photo in range(photos):
        truth = CLASSES[photo % len(CLASSES)]
        for who in ("a", "b", "c"):
            label = truth if rng.uniform() < agree else str(rng.choice(CLASSES))
            rows.append({"photo_id": photo, "annotator": who, "label": label,
                         "ground_truth": False, "annotation_id": len(rows)})  # fmt: skip
    missing = [c for c in HUMAN_LABELS if c not in rows[0]]
    table = pl.DataFrame(rows).with_columns([pl.lit(None).alias(c) for c in missing])
    return table.select(list(HUMAN_LABELS)).cast(HUMAN_LABELS)


def _quality(excluded: dict[str, str]) -> pl.DataFrame:
    rows = [
        {"annotator": a, "annotations": 10, "estimated_accuracy": 0.9, "gold_annotations": 12,
         "gold_correct": 6 if a in excluded else 11, "gold_accuracy": 0.5 if a in excluded else 0.92,
         "gold_accuracy_low": 0.25, "gold_accuracy_high": 0.75, "excluded": a in excluded,
         "excluded_reason": excluded.get(a)}
        for a in ("a", "b", "c")
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=ANNOTATORS)


def test_agreement_blocks_when_alpha_is_low_on_enough_photos() -> None:
    # it does not block: labeled_set has held the day's human labels out already, and the
    # night's training goes on without them (test_agreement_gate)
    assert labeled_set_agreement.check_specs and not any(
        s.blocking for s in labeled_set_agreement.check_specs
    )
    good = labeled_set_agreement(
        labeled_set=pl.DataFrame(), human_labels=_labels(60, 0.95), annotator_quality=_quality({})
    )
    assert good.passed
    bad = labeled_set_agreement(
        labeled_set=pl.DataFrame(), human_labels=_labels(60, 0.2), annotator_quality=_quality({})
    )
    assert not bad.passed and bad.severity.value == "ERROR"
    assert bad.metadata["krippendorff_alpha"].value < 0.5


def test_agreement_on_too_few_photos_only_warns() -> None:
    few = labeled_set_agreement(
        labeled_set=pl.DataFrame(),
        human_labels=_labels(MIN_UNITS_FOR_ALPHA - 1, 0.2),
        annotator_quality=_quality({}),
    )
    assert not few.passed and few.severity.value == "WARN"


def test_agreement_leaves_out_excluded_annotators() -> None:
    labels = _labels(60, 0.95).with_columns(
        label=pl.when(pl.col("annotator") == "c").then(pl.lit("food")).otherwise(pl.col("label"))
    )
    with_c = labeled_set_agreement(
        labeled_set=pl.DataFrame(), human_labels=labels, annotator_quality=_quality({})
    )
    without_c = labeled_set_agreement(
        labeled_set=pl.DataFrame(), human_labels=labels,
        annotator_quality=_quality({"c": "gold accuracy 0.50 < 0.75 on 12 gold photos"}),
    )  # fmt: skip
    assert (
        without_c.metadata["krippendorff_alpha"].value > with_c.metadata["krippendorff_alpha"].value
    )


def test_gold_check_names_who_was_left_out_and_why() -> None:
    named = annotator_quality_gold(_quality({"c": "gold accuracy 0.50 < 0.75 on 12 gold photos"}))
    assert not named.passed and named.severity.value == "WARN"
    assert "c: gold accuracy 0.50 < 0.75 on 12 gold photos" in named.description
    assert annotator_quality_gold(_quality({})).passed
