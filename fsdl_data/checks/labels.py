"""Checks on the `labels` group."""

import dagster as dg
import polars as pl

from fsdl_data.checks._build import daily_check, result, rule_check, table_contract_checks
from fsdl_data.core import catalog
from fsdl_data.core.labels.agreement import (
    MIN_ALPHA,
    MIN_UNITS_FOR_ALPHA,
    agreement_outcome,
    agreement_report,
    exclusion_outcome,
)
from fsdl_data.core.labels.analysis import drifted
from fsdl_data.core.labels.human import BOOKKEEPING_REASONS
from fsdl_data.core.labels.issues import scoring_outcome
from fsdl_data.core.tables import quality, schemas

MAX_REJECTED_SHARE = 0.2
LF_COVERAGE_DRIFT = 0.1  # absolute change in coverage from the trailing mean that warns
LF_ACCURACY_DRIFT = 0.15  # absolute change in accuracy against the human consensus that warns

human_labels_rejections = rule_check(
    "human_labels",
    "human_labels_rejections",
    "Annotations rejected (unknown photo or class, cancelled, unreadable file; reasons in "
    "`rejected_reason`): any warns, more than "
    f"{MAX_REJECTED_SHARE:.0%} fails. Duplicates of an annotation already counted do not count.",
    lambda df: quality.share_below(
        int((df["rejected_reason"].is_not_null()
             & ~df["rejected_reason"].is_in(BOOKKEEPING_REASONS)).sum()),
        int((~df["rejected_reason"].is_in(BOOKKEEPING_REASONS)).fill_null(True).sum()),
        "annotations rejected",
        warn_above=0.0, fail_above=MAX_REJECTED_SHARE,
    ),
    blocking=False,
)  # fmt: skip


@daily_check(
    asset="label_issues",
    blocking=False,
    reads=("labeled_set", "photo_pixels"),
    description="Every labeled photo of the day that has pixels is scored once (a label left "
    "unscored could be wrong unseen), each score a probability, and the issues ranked 1, 2, ... "
    "without a gap.",
)
def label_issues_complete(
    label_issues: pl.DataFrame, labeled_set: pl.DataFrame, photo_pixels: pl.DataFrame
) -> dg.AssetCheckResult:
    return result(scoring_outcome(label_issues, labeled_set, photo_pixels))


popularity_labels_non_negative = rule_check(
    "popularity_labels",
    "popularity_labels_non_negative",
    "Likes in 24 h are never negative.",
    lambda df: quality.in_range(
        df.filter(pl.col("likes_24h").is_not_null()), "likes_24h", 0, 10**9
    ),
)


@daily_check(
    asset="lf_analysis",
    blocking=False,
    description="Drift: warns, naming the labeling function, when its coverage moves more than "
    f"{LF_COVERAGE_DRIFT} or its accuracy against the human consensus more than {LF_ACCURACY_DRIFT} "
    "from its trailing 7-day mean.",
)
def lf_analysis_drift(lf_analysis: pl.DataFrame) -> dg.AssetCheckResult:
    found = drifted(
        lf_analysis, coverage_change=LF_COVERAGE_DRIFT, accuracy_change=LF_ACCURACY_DRIFT
    )
    description = (
        "; ".join(
            f"{d.labeling_function}: {d.what} {d.today:.3f} vs trailing mean {d.trailing_mean:.3f}"
            for d in found
        )
        if found
        else f"no drift over {len(lf_analysis)} labeling functions"
    )
    return result(
        quality.Outcome(
            not found,
            description,
            {
                "drifted": len(found),
                "functions": ", ".join(sorted({d.labeling_function for d in found})),
            },
            severe=False,
        )
    )


@daily_check(
    asset="labeled_set",
    blocking=True,
    description="Every labeled row names a known class, a source in (gold, human, weak) and a "
    "confidence in (0, 1]; a row without a label has no source.",
)
def labeled_set_valid(labeled_set: pl.DataFrame) -> dg.AssetCheckResult:
    labeled = labeled_set.filter(pl.col("label").is_not_null())
    unlabeled_with_source = labeled_set.filter(
        pl.col("label").is_null() & pl.col("source").is_not_null()
    )
    return result(
        quality.values_in(labeled, "label", schemas.CONTENT_CLASSES),
        quality.values_in(labeled, "source", ("gold", "human", "weak")),
        quality.in_range(labeled, "confidence", 1e-9, 1.0 + 1e-9),
        quality.Outcome(
            unlabeled_with_source.is_empty(),
            f"{len(unlabeled_with_source)} rows have a source but no label",
        ),
    )


annotator_quality_gold = rule_check(
    "annotator_quality",
    "annotator_quality_gold",
    "Gold-standard QA: warns, naming them and why, when annotators are left out of the "
    "consensus because their accuracy on gold is below the threshold (ConsensusConfig).",
    exclusion_outcome,
    blocking=False,
)


@daily_check(
    asset="labeled_set",
    # not blocking: labeled_set has already held the day's human labels out (the same rule,
    # `agreement_outcome`), so what follows it is safe to run; blocking here stopped that
    # night's classifier and popularity model as well, which the gate is not for
    blocking=False,
    reads=("human_labels", "annotator_quality"),
    description="Agreement of the day's human labels (the annotations the consensus used: no gold, "
    "no rejected rows, no excluded annotators): pairwise agreement and Krippendorff's alpha "
    f"(nominal) over the content classes. Alpha confidently below {MIN_ALPHA} (its bootstrapped "
    f"95% upper bound below it too) on at least {MIN_UNITS_FOR_ALPHA} photos labeled twice or "
    "more fails (severity ERROR): labeled_set holds that day's human labels out (so every later "
    "classifier trains without them) until a new export passes; the night's training goes on "
    "with the day's gold and weak labels. A low alpha that is not confidently low, or on fewer "
    "photos, only warns.",
)
def labeled_set_agreement(
    labeled_set: pl.DataFrame, human_labels: pl.DataFrame, annotator_quality: pl.DataFrame
) -> dg.AssetCheckResult:
    excluded = annotator_quality.filter(pl.col("excluded"))["annotator"].to_list()
    return result(agreement_outcome(agreement_report(human_labels, excluded)))


# Table contracts (schema, keys); every check here is found by load_asset_checks_from_modules.
popularity_labels_contract = table_contract_checks(
    "popularity_labels", schemas.POPULARITY_LABELS, ["photo_id"]
)
human_consensus_contract = table_contract_checks(
    "human_consensus", catalog.TABLE_SCHEMAS["human_consensus"], ["photo_id"]
)
label_matrix_contract = table_contract_checks("label_matrix", catalog.LABEL_MATRIX, ["photo_id"])
lf_analysis_contract = table_contract_checks(
    "lf_analysis", catalog.TABLE_SCHEMAS["lf_analysis"], ["labeling_function"]
)
labeled_set_contract = table_contract_checks(
    "labeled_set", catalog.TABLE_SCHEMAS["labeled_set"], ["photo_id"]
)
label_issues_contract = table_contract_checks(
    "label_issues", catalog.TABLE_SCHEMAS["label_issues"], ["photo_id"]
)
labeling_queue_contract = table_contract_checks(
    "labeling_queue", catalog.TABLE_SCHEMAS["labeling_queue"], ["photo_id"]
)
