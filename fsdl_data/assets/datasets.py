"""Group `datasets`: the leakage-free training set and its content-addressed snapshots."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import table
from fsdl_data.core.features.definitions import USER_TTL_DAYS
from fsdl_data.core.features.training_set import build_training_set
from fsdl_data.core.versioning.describe import manifest_markdown
from fsdl_data.core.versioning.snapshots import TableFiles, snapshot_table
from fsdl_data.core.versioning.store import (
    MANIFEST_SCHEMA_VERSION,
    Manifest,
    SnapshotStore,
    manifest_key,
)
from fsdl_data.core.versions import produced_by
from fsdl_data.partitions import PREVIOUS_DAY, daily, days_window
from fsdl_data.resources import ObjectStoreResource

OWNERS = ["team:ml-platform"]
FEATURES_BEFORE_POSTING = days_window(-(USER_TTL_DAYS + 1), -1)


class TrainingSetConfig(dg.Config):
    as_known_at: str | None = None  # ISO 8601; unset: features as serving had them at posting


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
    "poster's user features exactly as serving had them at posting time (bitemporal point-in-time "
    "join: described and published before posting, within TTL), classifier outputs and likes in "
    "24 h. Config `as_known_at` rebuilds it as the data was known at that moment instead.",
)
def training_set(
    config: TrainingSetConfig,
    photo_features: pl.DataFrame,
    user_features: pl.DataFrame,
    photo_classifications: pl.DataFrame,
    popularity_labels: pl.DataFrame,
) -> dg.Output:
    knowledge = datetime.fromisoformat(config.as_known_at) if config.as_known_at else None
    if knowledge is not None and knowledge.tzinfo is None:
        knowledge = knowledge.replace(tzinfo=UTC)
    df = build_training_set(
        photo_features, user_features, photo_classifications, popularity_labels,
        as_known_at=knowledge,
    )  # fmt: skip
    return table(
        df,
        without_user_features=int(df["features_as_of"].null_count()),
        knowledge="as at each photo's posting"
        if knowledge is None
        else f"as known at {knowledge.isoformat()}",
    )


def _snapshot(
    context: dg.AssetExecutionContext,
    lake: ObjectStoreResource,
    table: TableFiles,
    name: str,
    key: tuple[str, ...],
    label_column: str | None,
    skip_empty: bool = False,
):
    """One snapshot of a lake table through the snapshot store: only files whose fingerprint
    changed since the last snapshot of `name` are read and hashed."""
    template = Manifest(
        name=name,
        kind="table",
        files=(),
        source=table.table,
        key=key,
        code=produced_by(table.table),
        extra={"label_column": label_column} if label_column else {},
        schema_version=MANIFEST_SCHEMA_VERSION,  # a tree: an erasure writes only what changed
    )
    taken = snapshot_table(SnapshotStore(lake.open()), template, table, skip_empty=skip_empty)
    if taken is None:
        # expected on the first night (labels need 24 h), nothing to act on: info, not a warning
        context.log.info(
            f"not yet: no {'non-empty ' if skip_empty else ''}{table.table} partition to "
            "snapshot (labels mature after 24 h; the second night makes the first)"
        )
        return
    manifest, parts = taken.manifest, [f.partition for f in taken.manifest.files if f.partition]
    row = pl.DataFrame(
        {
            "version": [taken.snapshot_id],
            "name": [name],
            "manifest_key": [manifest_key(name, taken.snapshot_id)],
            "row_count": [manifest.row_count],
            "parts": [len(manifest.files)],
            "first_part": [min(parts) if parts else None],
            "last_part": [max(parts) if parts else None],
            "files_read": [taken.read],
            "files_reused": [taken.reused],
        }
    )
    yield dg.Output(
        row,
        data_version=dg.DataVersion(taken.snapshot_id),
        metadata={
            "version": taken.snapshot_id,
            "dagster/row_count": manifest.row_count,
            "files": len(manifest.files),  # = files_read + files_reused
            "files_read": taken.read,
            "files_reused": taken.reused,
            "files_left_out": taken.left_out,  # listed, not kept (empty partitions)
            "days": f"{min(parts)} .. {max(parts)}" if parts else "",
            "bytes": manifest.total_bytes,
            "show": dg.MetadataValue.md(manifest_markdown(taken.snapshot_id, manifest)),
        },
    )


SNAPSHOT_INPUT = {"input_manager_key": "lake_files"}
# every snapshot asset: one unpartitioned snapshot of all its table's partitions, none when
# there is nothing to snapshot yet
SNAPSHOT_ASSET = {"group_name": "datasets", "owners": OWNERS, "output_required": False}


@dg.asset(
    **SNAPSHOT_ASSET,
    kinds={"parquet"},
    ins={"training_set": dg.AssetIn(**SNAPSHOT_INPUT)},
    description="A content-addressed snapshot of every non-empty training_set partition in the "
    "snapshot store (blobs by SHA-256 plus a manifest of files, rows, schema, upstream data "
    "versions and code versions). Incremental: only partitions whose files changed are read. The "
    "manifest's hash is the snapshot id and the data version: the same inputs give the same id.",
)
def training_snapshot(
    context: dg.AssetExecutionContext, lake: ObjectStoreResource, training_set: TableFiles
):
    yield from _snapshot(
        context, lake, training_set, "training_set", ("photo_id",), "likes_24h", skip_empty=True
    )


@dg.asset(
    **SNAPSHOT_ASSET,
    kinds={"parquet"},
    ins={"labeled_set": dg.AssetIn(**SNAPSHOT_INPUT)},
    description="A content-addressed snapshot of every labeled_set partition (labels, sources and "
    "provenance), incremental like training_snapshot; `fsdl-data snapshot diff` counts label flips.",
)
def labeled_set_snapshot(
    context: dg.AssetExecutionContext, lake: ObjectStoreResource, labeled_set: TableFiles
):
    yield from _snapshot(context, lake, labeled_set, "labeled_set", ("photo_id",), "label")


@dg.asset(
    **SNAPSHOT_ASSET,
    kinds={"parquet", "s3"},
    ins={"raw_photos": dg.AssetIn(**SNAPSHOT_INPUT)},
    description="A content-addressed snapshot of every raw_photos partition: each photo object's "
    "key, ETag, S3 VersionId (on versioned buckets) and SHA-256, so a dataset can be traced to "
    "the exact bytes it was built from; each file's manifest entry counts its objects.",
)
def raw_photos_snapshot(
    context: dg.AssetExecutionContext, lake: ObjectStoreResource, raw_photos: TableFiles
):
    yield from _snapshot(context, lake, raw_photos, "raw_photos", ("key",), None)
