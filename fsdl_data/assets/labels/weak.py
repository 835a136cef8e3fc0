"""Weak labels: the labeling functions' votes on each day's photos, their analysis against the
humans, and the labeled set (gold > human consensus > the label model's weak label)."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import picture, plots_at, table
from fsdl_data.assets.labels._windows import DAILY_LABELS, tagged_days
from fsdl_data.core import plots
from fsdl_data.core.calendar import parse_day
from fsdl_data.core.labels import analysis, functions
from fsdl_data.core.labels import labeled_set as labeled
from fsdl_data.core.labels.agreement import (
    agreement_outcome,
    agreement_report,
    human_labels_admitted,
)
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.vision.infer import classify_as_of
from fsdl_data.resources import ObjectStoreResource, TorchResource

LABEL_MODEL_WINDOW_DAYS = 7  # the label model is fitted on this many days of votes
DRIFT_WINDOW_DAYS = 8  # the day and the 7 before it


@dg.asset(
    **DAILY_LABELS,
    kinds={"python", "parquet"},
    description="The votes of every labeling function (fsdl_data/core/labels/functions.py) on every "
    "photo of the day: one column per function, a class index or -1 to abstain. The "
    "classifier_confident function uses the classifier as known before this day (the registry's "
    "newest trained on earlier labels): the classifier trains on the labeled set, so today's "
    "classifier voting on today's labels would be a loop.",
)
def label_matrix(
    context: dg.AssetExecutionContext,
    lake: ObjectStoreResource,
    torch: TorchResource,
    photo_metadata: pl.DataFrame,
    photo_pixels: pl.DataFrame,
) -> dg.Output:
    threads = torch.use_threads(context)
    version, outputs = classify_as_of(lake.open(), context.partition_key, photo_pixels)
    df = functions.label_matrix(photo_metadata, photo_pixels, outputs, version)
    names = [lf.name for lf in functions.LABELING_FUNCTIONS]
    return table(
        df,
        labeling_functions=len(names),
        labeling_functions_version=functions.labeling_functions_version(),
        classifier_version=version or "none yet",
        **threads.metadata(),
        photos_with_a_vote=functions.photos_with_a_vote(df, names),
        coverage=dg.MetadataValue.json(functions.coverage(df, names)),
    )


@dg.asset(
    **DAILY_LABELS,
    kinds={"polars", "parquet"},
    ins={
        "label_matrix": tagged_days(-(DRIFT_WINDOW_DAYS - 1), 0),
        "human_consensus": tagged_days(-(DRIFT_WINDOW_DAYS - 1), 0),
    },
    description="Per labeling function for the day: coverage, overlap, conflict, accuracy against "
    "gold and against the human consensus (with counts), beside its trailing "
    f"{DRIFT_WINDOW_DAYS - 1}-day means for the drift check. Where to look: a partition's "
    "materialization → Metadata → `per_function` (the table; an empty cell is not measured) "
    "and `plot` (Show Markdown: coverage and accuracy bars, hatched when fewer than "
    f"{analysis.MIN_ACCURACY_COUNT} photos, none when nothing to compare).",
)
def lf_analysis(
    context: dg.AssetExecutionContext, label_matrix: pl.DataFrame, human_consensus: pl.DataFrame
) -> dg.Output:
    day = parse_day(context.partition_key)
    df = analysis.lf_analysis(
        label_matrix, human_consensus, day, functions.LABELING_FUNCTIONS, CONTENT_CLASSES
    )
    return table(
        df,
        per_function=_function_table(df),
        plot=picture(plots.labeling_functions(df, analysis.MIN_ACCURACY_COUNT))
        if len(df)
        else "no votes for this day",
    )


def _function_table(df: pl.DataFrame) -> dg.TableMetadataValue:
    columns = ["labeling_function", "coverage", "gold_n", "gold_accuracy", "human_n",
               "human_accuracy", "conflict"]  # fmt: skip
    records = [
        dg.TableRecord({c: (round(v, 3) if isinstance(v, float) else v) for c, v in row.items()})
        for row in df.select(columns).iter_rows(named=True)  # missing stays null, never -1
    ]
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(c, "string" if c == "labeling_function" else "float") for c in columns
        ]
    )
    return dg.MetadataValue.table(records, schema=schema)


class LabeledSetConfig(dg.Config):
    seed: int = 0
    # On: a weak label's confidence is its measured accuracy. Off by default (the core's
    # default): on `fsdl-data check`'s small world the popularity gate failed with it on.
    recalibrate_weak: bool = labeled.RECALIBRATE_BY_DEFAULT


@dg.asset(
    **DAILY_LABELS,
    kinds={"polars", "parquet"},
    ins={
        "label_matrix": tagged_days(-(LABEL_MODEL_WINDOW_DAYS - 1), 0),
        "human_consensus": tagged_days(-(LABEL_MODEL_WINDOW_DAYS - 1), 0),
        "human_labels": dg.AssetIn(),
        "annotator_quality": dg.AssetIn(),
    },
    description="One row per photo of the day: its label, confidence and source by precedence gold > "
    "human consensus > weak (the label model, fitted on the trailing "
    f"{LABEL_MODEL_WINDOW_DAYS} days of votes), with provenance: annotators, the labeling "
    "functions that voted, and the label model, labeling functions and classifier versions. "
    "A weak label's confidence is the label model's, or, with config `recalibrate_weak`, the "
    "accuracy measured at that confidence on the window's gold and human-labeled photos "
    "(cross-fitted; metadata `weak_confidence` says what it rests on), so weak labels admitted "
    "at >= c are about c accurate or better. When the annotators' agreement fails the gate (the labeled_set_agreement check's rule), "
    "the day's human consensus is held out (gold and weak labels remain) until a new export "
    "passes; metadata `human_labels` says which and why." + plots_at("label_sources"),
)
def labeled_set(
    context: dg.AssetExecutionContext,
    config: LabeledSetConfig,
    label_matrix: pl.DataFrame,
    human_consensus: pl.DataFrame,
    human_labels: pl.DataFrame,
    annotator_quality: pl.DataFrame,
) -> dg.Output:
    excluded = annotator_quality.filter(pl.col("excluded"))["annotator"].to_list()
    gate = agreement_outcome(agreement_report(human_labels, excluded))
    admitted = human_labels_admitted(gate)
    day = parse_day(context.partition_key)
    today = human_consensus.filter(pl.col("day") == day)
    held_out = 0 if admitted else int((today["annotators"].list.len() > 0).sum())
    if not admitted:
        context.log.warning(gate.description)
    result = labeled.label_day(
        label_matrix,
        human_consensus,  # the window's: reference labels; today's rows also enter the labeled set
        day,
        [lf.name for lf in functions.LABELING_FUNCTIONS],
        CONTENT_CLASSES,
        functions.labeling_functions_version(),
        config.seed,
        human_admitted=admitted,
        calibrate=config.recalibrate_weak,
    )
    counts = result.source_counts()
    return table(
        result.table,
        version=labeled.labeled_set_version(result.table),
        human_labels=("admitted: " if admitted else "HELD OUT: ") + gate.description,
        human_labels_held_out=held_out,
        **{f"source/{s}": n for s, n in counts.items()},
        label_sources=picture(
            plots.counts(list(counts), list(counts.values()), "labels by source")
        ),
        label_model_version=result.model_version or "none (no votes)",
        weak_confidence=result.weak_confidence,
        label_model_structure=(result.model.chosen_structure or "") if result.model else "",
        estimated_class_balance=dg.MetadataValue.json(result.class_balance()),
        estimated_lf_accuracies=dg.MetadataValue.json(result.function_accuracies()),
    )
