"""Human labels: every Label Studio annotation of a day, the annotator-aware consensus over them
and each annotator's estimated quality."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import table
from fsdl_data.assets.labels._windows import DAILY_LABELS, OWNERS, trailing
from fsdl_data.core.labels.consensus import annotator_consensus, exclusions_by_gold
from fsdl_data.core.labels.human import (
    apply_reviews,
    deduplicate,
    import_files,
    import_for_day,
    label_studio_keys,
    read_label_studio,
    rejection_counts,
)
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.partitions import daily
from fsdl_data.resources import ObjectStoreResource

CONSENSUS_WINDOW_DAYS = 30  # annotators' confusion matrices are estimated over this many days


@dg.asset(
    **DAILY_LABELS,
    kinds={"labelstudio", "parquet"},
    description="Every human annotation of that day's photos, one row per annotation, from the Label "
    "Studio exports in the object store: the seed set and the expert's gold set (labels/seed/, "
    "labels/gold/, by day) and any export dropped under labels/import/ (any file name; each "
    "annotation goes to its photo's day, named by `data.photo_id` or by the image URL our queue "
    "gave it). Gold is marked `ground_truth`; annotators are ids only. The label is the choice in "
    "the `content` control; other controls' and non-choice regions are listed in `ignored`. "
    "Unusable rows are kept with a `rejected_reason` and `rejected_detail` (unknown photo or "
    "class, cancelled, not one choice, no annotator, unreadable file); an annotation (per Label "
    "Studio project) exported twice counts once, its newest version. A photo sent back for review "
    "is judged by its review: its earlier non-gold annotations are kept as `reviewed_again`.",
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
    df = apply_reviews(deduplicate(pl.concat([exports, imported.rows])))
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
        "human_labels": dg.AssetIn(partition_mapping=trailing(CONSENSUS_WINDOW_DAYS)),
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
