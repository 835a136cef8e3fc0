"""Group `labels`: human labels, labeling functions and the label model, the labeled set, and the
labels the logs give for free."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import picture, table
from fsdl_data.core import plots
from fsdl_data.core.calendar import parse_day
from fsdl_data.core.labels import analysis
from fsdl_data.core.labels import labeled_set as labeled
from fsdl_data.core.labels.consensus import annotator_consensus, exclusions_by_gold
from fsdl_data.core.labels.functions import (
    LABELING_FUNCTIONS,
    apply_labeling_functions,
    labeling_functions_version,
    photos_for_labeling,
)
from fsdl_data.core.labels.human import (
    deduplicate,
    import_files,
    import_for_day,
    label_studio_keys,
    read_label_studio,
    rejection_counts,
)
from fsdl_data.core.labels.popularity import label_cutoff, likes_within_24h
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.infer import classify_pixels
from fsdl_data.core.vision.pixels import thumbnails_from_bytes
from fsdl_data.partitions import PREVIOUS_DAY, daily, days_window
from fsdl_data.resources import TAGGED_BY_DAY, ObjectStoreResource, TorchResource

OWNERS = ["team:labeling"]


def _trailing(days: int) -> dg.TimeWindowPartitionMapping:
    """The partition itself and the `days - 1` before it (those that exist)."""
    return days_window(-(days - 1), 0)


CONSENSUS_WINDOW_DAYS = 30  # annotators' confusion matrices are estimated over this many days
LABEL_MODEL_WINDOW_DAYS = 7  # the label model is fitted on this many days of votes
DRIFT_WINDOW_DAYS = 8  # the day and the 7 before it


@dg.asset(
    partitions_def=daily,
    group_name="labels",
    owners=OWNERS,
    kinds={"labelstudio", "parquet"},
    description="Every human annotation of that day's photos, one row per annotation, from the Label "
    "Studio exports in the object store: the seed set and the expert's gold set (labels/seed/, "
    "labels/gold/, by day) and any export dropped under labels/import/ (any file name; each "
    "annotation goes to its photo's day, named by `data.photo_id` or by the image URL our queue "
    "gave it). Gold is marked `ground_truth`; annotators are ids only. The label is the choice in "
    "the `content` control; other controls' and non-choice regions are listed in `ignored`. "
    "Unusable rows are kept with a `rejected_reason` and `rejected_detail` (unknown photo or "
    "class, cancelled, not one choice, no annotator, unreadable file); an annotation (per Label "
    "Studio project) exported twice counts once, its newest version.",
)
def human_labels(
    context: dg.AssetExecutionContext, objects: ObjectStoreResource, photo_metadata: pl.DataFrame
) -> dg.Output:
    store = objects.open()
    day = context.partition_key
    keys = label_studio_keys(store, day)
    photo_ids = set(photo_metadata["photo_id"].to_list())
    photo_keys = dict(photo_metadata.select("object_key", "photo_id").iter_rows())
    imported = import_for_day(
        store, import_files(store), day, photo_ids, CONTENT_CLASSES, photo_keys=photo_keys
    )
    if not keys and imported.rows.is_empty():
        context.log.warning(f"no Label Studio export for {day}")
    exports = read_label_studio(store, keys, photo_ids, CONTENT_CLASSES, photo_keys=photo_keys)
    df = deduplicate(pl.concat([exports, imported.rows]))
    files = sorted(set(df["source_file"].drop_nulls().to_list()))
    return table(
        df,
        annotations=len(df),
        accepted=int(df["rejected_reason"].is_null().sum()),
        photos=df["photo_id"].n_unique(),
        gold_annotations=int(df["ground_truth"].sum()),
        imported_annotations=len(imported.rows),
        imports_for_other_days=imported.other_days,
        exports=dg.MetadataValue.json(files),
        **{f"rejected/{r}": n for r, n in rejection_counts(df).items()},
    )


class ConsensusConfig(dg.Config):
    """Gold-standard QA: an annotator with at least `min_gold_annotations` answers on gold photos
    (over the consensus window) whose accuracy on them is below `min_gold_accuracy` is left out
    of the consensus; annotator_quality and its check say who and why."""

    min_gold_accuracy: float = 0.75
    min_gold_annotations: int = 10


@dg.multi_asset(
    outs={
        "human_consensus": dg.AssetOut(
            owners=OWNERS,
            kinds={"polars", "parquet"},
            description="Per photo of the day with human labels: the class by annotator-aware "
            "consensus (Dawid-Skene, each annotator's confusion matrix estimated over the trailing "
            f"{CONSENSUS_WINDOW_DAYS} days, anchored by gold), its posterior confidence, who "
            "labeled it, and the gold label where an expert gave one.",
        ),
        "annotator_quality": dg.AssetOut(
            owners=OWNERS,
            kinds={"polars", "parquet"},
            description="Per annotator over the trailing window: annotations, accuracy estimated by "
            "the consensus model, accuracy on gold with its count and 95% interval, and whether "
            "their labels were left out of the consensus (too inaccurate on gold) and why.",
        ),
    },
    partitions_def=daily,
    group_name="labels",
    ins={
        "human_labels": dg.AssetIn(partition_mapping=_trailing(CONSENSUS_WINDOW_DAYS)),
        "photo_metadata": dg.AssetIn(),
    },
)
def human_consensus(
    config: ConsensusConfig, human_labels: pl.DataFrame, photo_metadata: pl.DataFrame
):
    accepted = human_labels.filter(pl.col("rejected_reason").is_null())
    excluded = exclusions_by_gold(accepted, config.min_gold_accuracy, config.min_gold_annotations)
    result = annotator_consensus(accepted, CONTENT_CLASSES, excluded=excluded)
    photos = result.photos.filter(pl.col("photo_id").is_in(photo_metadata["photo_id"].implode()))
    yield dg.Output(
        photos,
        output_name="human_consensus",
        metadata={
            "photos": len(photos),
            "gold_photos": int(photos["gold_label"].is_not_null().sum()),
            "mean_confidence": float(photos["confidence"].mean() or 0.0),
            "excluded_annotators": dg.MetadataValue.json(excluded),
        },
    )
    yield dg.Output(result.annotators, output_name="annotator_quality")


@dg.asset(
    partitions_def=daily,
    group_name="labels",
    owners=OWNERS,
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
    store = lake.open()
    torch.use_threads()
    card = registry.classifier_as_of(store, context.partition_key)
    outputs = None
    if card is not None and len(photo_pixels):
        classifier = registry.load_classifier(store, card.version)
        outputs = classify_pixels(
            classifier,
            photo_pixels["photo_id"].to_list(),
            photo_pixels["key"].to_list(),
            thumbnails_from_bytes(photo_pixels["thumbnail"].to_list()),
        )
    photos = photos_for_labeling(photo_metadata, photo_pixels, outputs)
    df = apply_labeling_functions(photos).with_columns(
        pl.lit(card.version if card else None, dtype=pl.String).alias("classifier_version")
    )
    names = [lf.name for lf in LABELING_FUNCTIONS]
    voted = df.select(pl.sum_horizontal([pl.col(n) >= 0 for n in names]) > 0).to_series()
    return table(
        df,
        labeling_functions=len(names),
        labeling_functions_version=labeling_functions_version(),
        classifier_version=card.version if card else "none yet",
        photos_with_a_vote=int(voted.sum()),
        coverage=dg.MetadataValue.json(
            {n: round(float((df[n] >= 0).mean() or 0.0), 4) for n in names}
        ),
    )


@dg.asset(
    partitions_def=daily,
    group_name="labels",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    ins={
        "label_matrix": dg.AssetIn(
            partition_mapping=_trailing(DRIFT_WINDOW_DAYS), metadata=TAGGED_BY_DAY
        ),
        "human_consensus": dg.AssetIn(
            partition_mapping=_trailing(DRIFT_WINDOW_DAYS), metadata=TAGGED_BY_DAY
        ),
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
        label_matrix, human_consensus, day, LABELING_FUNCTIONS, CONTENT_CLASSES
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


@dg.asset(
    partitions_def=daily,
    group_name="labels",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    ins={
        "label_matrix": dg.AssetIn(
            partition_mapping=_trailing(LABEL_MODEL_WINDOW_DAYS), metadata=TAGGED_BY_DAY
        ),
        "human_consensus": dg.AssetIn(),
    },
    description="One row per photo of the day: its label, confidence and source by precedence gold > "
    "human consensus > weak (the label model, fitted on the trailing "
    f"{LABEL_MODEL_WINDOW_DAYS} days of votes), with provenance: annotators, the labeling "
    "functions that voted, and the label model, labeling functions and classifier versions.",
)
def labeled_set(
    context: dg.AssetExecutionContext,
    config: LabeledSetConfig,
    label_matrix: pl.DataFrame,
    human_consensus: pl.DataFrame,
) -> dg.Output:
    day = parse_day(context.partition_key)
    names = [lf.name for lf in LABELING_FUNCTIONS]
    today = label_matrix.filter(pl.col("day") == day)
    weak, model = labeled.weak_labels(label_matrix, today, names, CONTENT_CLASSES, config.seed)
    functions_version = labeling_functions_version()
    model_version = (
        labeled.label_model_version(label_matrix, names, functions_version, config.seed)
        if model
        else None
    )
    classifier_versions = today["classifier_version"].drop_nulls().unique().to_list()
    df = labeled.build_labeled_set(
        weak,
        human_consensus,
        label_model_version=model_version,
        functions_version=functions_version,
        classifier_version=classifier_versions[0] if classifier_versions else None,
    )
    sources = df.group_by("source").len().sort("source")
    source_counts = {s or "unlabeled": n for s, n in sources.iter_rows()}
    estimated = (
        {n: round(float(a), 3) for n, a in zip(names, model.lf_accuracies(), strict=True)}
        if model
        else {}
    )
    return table(
        df,
        **{f"source/{s}": n for s, n in source_counts.items()},
        label_sources=picture(
            plots.counts(list(source_counts), list(source_counts.values()), "labels by source")
        ),
        label_model_version=model_version or "none (no votes)",
        label_model_structure=(model.chosen_structure or "") if model else "",
        estimated_class_balance=dg.MetadataValue.json(
            dict(
                zip(
                    CONTENT_CLASSES,
                    [round(float(x), 3) for x in model.class_balance()],
                    strict=True,
                )
            )
            if model
            else {}
        ),
        estimated_lf_accuracies=dg.MetadataValue.json(estimated),
    )


PREVIOUS_AND_THIS_DAY = days_window(-1, 0)


@dg.asset(
    partitions_def=daily,
    group_name="labels",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    ins={
        "photo_metadata": dg.AssetIn(partition_mapping=PREVIOUS_DAY),
        "events": dg.AssetIn(partition_mapping=PREVIOUS_AND_THIS_DAY, metadata=TAGGED_BY_DAY),
    },
    description="Partition D labels the photos posted on D-1 (their 24 hours end during D): likes in the "
    "24 hours after posting, from `events`. A photo whose 24 hours are not over by the end of the "
    "newest events partition present gets no label.",
)
def popularity_labels(
    context: dg.AssetExecutionContext, photo_metadata: pl.DataFrame, events: pl.DataFrame
) -> dg.Output:
    known_until = label_cutoff(events["day"].unique().to_list(), context.partition_key)
    df = likes_within_24h(photo_metadata, events, known_until)
    known = df["likes_24h"].drop_nulls().to_list()
    return table(
        df,
        known_until=known_until.isoformat(),
        labeled=len(known),
        photos=len(df),
        likes_and_maturity=picture(plots.likes_and_maturity(known, len(df) - len(known))),
    )
