"""Group `models`: the nightly photo-popularity model, evaluated and gated."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import picture, plots_at
from fsdl_data.core import plots
from fsdl_data.core.modeling import popularity as pop
from fsdl_data.core.modeling.registry import save_model
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.versioning.describe import manifest_markdown
from fsdl_data.core.versioning.snapshots import load_table
from fsdl_data.core.versioning.store import SnapshotStore
from fsdl_data.resources import ObjectStoreResource

OWNERS = ["team:ml-platform"]


class PopularityTraining(dg.Config):
    epochs: int = 400
    seed: int = 0


@dg.multi_asset(
    outs={
        "popularity_model": dg.AssetOut(
            group_name="models",
            owners=OWNERS,
            kinds={"pytorch"},
            is_required=False,
            description="Predicts log(1 + likes in 24 h), trained on the snapshot's days but the last, "
            "evaluated on the last (held out). Records the snapshot version it was trained on; promoted "
            "(models/popularity_model/promoted.json) only when it beats the baseline."
            + plots_at("calibration", partitioned=False),
        )
    },
    check_specs=[
        dg.AssetCheckSpec(
            "popularity_model_beats_baseline",
            asset="popularity_model",
            blocking=True,
            description="On the held-out day the model beats a constant predictor: AUC of 'above-median "
            "likes' by at least 0.05 and rank correlation by at least 0.1. Only then is it promoted. "
            f"Skipped (the model is recorded, not promoted) when the held-out day has fewer than "
            f"{pop.MIN_HELD_OUT_ROWS} rows: on fewer the comparison is noise.",
        )
    ],
    ins={"training_snapshot": dg.AssetIn()},
    # the online store's parity check is blocking: no retraining while serving disagrees
    deps=["online_features"],
    can_subset=True,  # with too little data the model and its check are skipped, not failed
)
def popularity_model(
    context: dg.AssetExecutionContext,
    config: PopularityTraining,
    lake: ObjectStoreResource,
    training_snapshot: pl.DataFrame,
):
    store = lake.open()
    snapshots = SnapshotStore(store)
    snapshot_id = training_snapshot["version"][0]
    manifest = snapshots.read(snapshot_id, "training_set")
    rows = load_table(snapshots, manifest)
    version = pop.model_version(snapshot_id, config.epochs, config.seed)
    fit = pop.fit_with_held_out_day(
        rows, list(CONTENT_CLASSES), version, config.epochs, config.seed
    )
    if fit is None:
        context.log.info("not yet: the snapshot has one day; training needs two (train, hold out)")
        return
    record = pop.ModelRecord.of(fit, version, snapshot_id)
    key = save_model(store, fit.model, record.card())
    yield dg.Output(
        record.row(key),
        output_name="popularity_model",
        data_version=dg.DataVersion(version),
        metadata={
            **record.metadata(),
            **({} if record.judged else {"not_judged": record.check_description()}),
            "lineage": dg.MetadataValue.md(
                f"`fsdl-data lineage {version}` prints the whole chain, down to the S3 object "
                "versions. Trained on:\n\n" + manifest_markdown(snapshot_id, manifest)
            ),
            "calibration": picture(
                plots.calibration_and_scatter(fit.predicted.tolist(), fit.actual.tolist())
            ),
        },
    )
    if not record.judged:  # too few held-out rows: the check is skipped, not failed
        context.log.info(record.check_description())
        return
    yield dg.AssetCheckResult(
        check_name="popularity_model_beats_baseline",
        passed=record.promoted,
        description=record.check_description(),
        metadata={
            "auc": record.auc_above_median,
            "spearman": record.spearman,
            "test_rows": record.test_rows,
        },
    )
