"""Group `models`: the nightly photo-popularity model, evaluated and gated."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import picture
from fsdl_data.core import plots
from fsdl_data.core.modeling import popularity as pop
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
            "(models/popularity_model/promoted.json) only when it beats the baseline.",
        )
    },
    check_specs=[
        dg.AssetCheckSpec(
            "popularity_model_beats_baseline",
            asset="popularity_model",
            blocking=True,
            description="On the held-out day the model beats a constant predictor: AUC of 'above-median "
            "likes' by at least 0.05 and rank correlation by at least 0.1. Only then is it promoted.",
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
    snapshot_id = training_snapshot["version"][0]
    manifest = SnapshotStore(store).read(snapshot_id, "training_set")
    rows = load_table(SnapshotStore(store), manifest)
    version = pop.model_version(snapshot_id, config.epochs, config.seed)
    fit = pop.fit_with_held_out_day(
        rows, list(CONTENT_CLASSES), version, config.epochs, config.seed
    )
    if fit is None:
        context.log.info("not yet: the snapshot has one day; training needs two (train, hold out)")
        return
    model, ev, held_out_day = fit.model, fit.evaluation, fit.held_out_day
    card = {
        "version": version,
        "snapshot": snapshot_id,
        "held_out_day": held_out_day,
        "train_rows": fit.train_rows,
        "test_rows": ev.rows,
        "spearman": ev.spearman,
        "auc_above_median": ev.auc_above_median,
        "promoted": ev.beats_baseline,
    }
    key = pop.save_model(store, model, card)
    row = pl.DataFrame(
        {
            "version": [version],
            "model_key": [key],
            "snapshot_version": [snapshot_id],
            "held_out_day": [held_out_day],
            "train_rows": [fit.train_rows],
            "test_rows": [ev.rows],
            "spearman": [ev.spearman],
            "auc_above_median": [ev.auc_above_median],
            "baseline_spearman": [ev.baseline_spearman],
            "baseline_auc": [ev.baseline_auc],
            "promoted": [ev.beats_baseline],
        }
    )
    yield dg.Output(
        row,
        output_name="popularity_model",
        data_version=dg.DataVersion(version),
        metadata={
            "snapshot_version": snapshot_id,
            "held_out_day": held_out_day,
            "spearman": ev.spearman,
            "auc_above_median": ev.auc_above_median,
            "baseline_auc": ev.baseline_auc,
            "promoted": ev.beats_baseline,
            "lineage": dg.MetadataValue.md(
                f"`fsdl-data lineage {version}` prints the whole chain, down to the S3 object "
                "versions. Trained on:\n\n" + manifest_markdown(snapshot_id, manifest)
            ),
            "calibration": picture(
                plots.calibration_and_scatter(fit.predicted.tolist(), fit.actual.tolist())
            ),
        },
    )
    yield dg.AssetCheckResult(
        check_name="popularity_model_beats_baseline",
        passed=ev.beats_baseline,
        description=f"held-out {held_out_day}: AUC {ev.auc_above_median:.3f} vs baseline {ev.baseline_auc:.3f}, "
        f"rank correlation {ev.spearman:.3f} vs {ev.baseline_spearman:.3f}",
        metadata={"auc": ev.auc_above_median, "spearman": ev.spearman, "test_rows": ev.rows},
    )
