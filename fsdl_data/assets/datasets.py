"""Group `datasets`: the leakage-free training set and its content-addressed snapshots."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import table
from fsdl_data.core.features.definitions import USER_FEATURE_WINDOW_DAYS
from fsdl_data.core.features.training_set import build_training_set
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.versioning.hashing import frame_digest
from fsdl_data.core.versioning.snapshot import write_snapshot
from fsdl_data.partitions import PREVIOUS_DAY, daily
from fsdl_data.resources import ObjectStoreResource

OWNERS = ["team:ml-platform"]
FEATURES_BEFORE_POSTING = dg.TimeWindowPartitionMapping(
    start_offset=-(USER_FEATURE_WINDOW_DAYS + 1),
    end_offset=-1,
    allow_nonexistent_upstream_partitions=True,
)
SNAPSHOT_NAME = "training_set"


@dg.asset(
    partitions_def=daily,
    group_name="datasets",
    owners=OWNERS,
    kinds={"polars", "parquet"},
    ins={
        "photo_features": dg.AssetIn(partition_mapping=PREVIOUS_DAY),
        "photo_classifications": dg.AssetIn(partition_mapping=PREVIOUS_DAY),
        "user_features": dg.AssetIn(partition_mapping=FEATURES_BEFORE_POSTING),
        "popularity_labels": dg.AssetIn(),
    },
    description="Partition D: the photos posted on D-1 that have a label, with photo features, the "
    "poster's user features as known at posting time (point-in-time join), classifier outputs and "
    "likes in 24 h.",
)
def training_set(
    photo_features: pl.DataFrame,
    user_features: pl.DataFrame,
    photo_classifications: pl.DataFrame,
    popularity_labels: pl.DataFrame,
) -> dg.Output:
    df = build_training_set(photo_features, user_features, photo_classifications, popularity_labels)
    return table(df, without_user_features=int(df["features_as_of"].null_count()))


@dg.asset(
    group_name="datasets",
    owners=OWNERS,
    kinds={"parquet"},
    deps=["training_set"],
    output_required=False,
    description="Every non-empty training_set partition, written as Parquet files named by their SHA-256 "
    "plus a manifest (rows, schema, file hashes, upstream data versions). The manifest's hash is the "
    "snapshot version and the Dagster data version: the same inputs give the same snapshot.",
)
def training_snapshot(context: dg.AssetExecutionContext, lake: ObjectStoreResource):
    the_lake = Lake(lake.open())
    parts = {}
    for day in the_lake.partitions("training_set"):
        df = the_lake.read("training_set", day)
        if len(df):
            parts[day] = df
    if not parts:
        context.log.warning(
            "no labeled rows in any training_set partition yet (labels mature a day later): skipped"
        )
        return
    upstream = {f"training_set[{day}]": frame_digest(df)[:16] for day, df in parts.items()}
    classifier_versions = sorted(
        {
            v
            for df in parts.values()
            for v in df["classifier_version"].drop_nulls().unique().to_list()
        }
    )
    snap = write_snapshot(
        the_lake.store, SNAPSHOT_NAME, parts, upstream, {"classifier_versions": classifier_versions}
    )
    row = pl.DataFrame(
        {
            "version": [snap.version],
            "manifest_key": [f"snapshots/{SNAPSHOT_NAME}/manifests/{snap.version}.json"],
            "row_count": [snap.row_count],
            "parts": [len(parts)],
            "first_part": [min(parts)],
            "last_part": [max(parts)],
        }
    )
    yield dg.Output(
        row,
        data_version=dg.DataVersion(snap.version),
        metadata={
            "version": snap.version,
            "dagster/row_count": snap.row_count,
            "files": len(parts),
            "days": f"{min(parts)} .. {max(parts)}",
            "manifest": dg.MetadataValue.json(snap.manifest),
        },
    )
