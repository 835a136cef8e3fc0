"""`fsdl-data lineage`, `rebuild` and `export`: where a model's data came from, rebuilding a
snapshot to prove it, and handing a snapshot over as a Hugging Face dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from fsdl_data.cli import _common


def lineage(model_version: str) -> int:
    from fsdl_data.cli._lineage import model_lineage
    from fsdl_data.cli.runner import cli_instance
    from fsdl_data.core.versioning.lineage import latest_model_version

    lake = _common.lake()
    version = latest_model_version(lake) if model_version == "latest" else model_version
    chain = model_lineage(cli_instance(_common.settings()), _common.definitions(), lake, version)
    print("\n".join(chain.lines()))
    return 0


def rebuild(snapshot_id: str) -> int:
    """Rematerializes the partitions a table snapshot was built from, snapshots them again and
    says whether the new snapshot is the same (it must be, for unchanged inputs and code)."""
    import dagster as dg

    from fsdl_data.cli.runner import cli_instance
    from fsdl_data.core.versioning.store import SnapshotStore

    store = SnapshotStore(_common.lake().store)
    name, full = store.resolve(snapshot_id)
    manifest = store.read(full, name)
    if manifest.kind != "table":
        raise ValueError(
            f"snapshot {full[:12]} is of a folder: re-run `fsdl-data snapshot add` instead"
        )
    snapshot_asset = {"training_set": "training_snapshot", "labeled_set": "labeled_set_snapshot",
                      "raw_photos": "raw_photos_snapshot"}.get(manifest.source)  # fmt: skip
    if snapshot_asset is None:
        raise ValueError(f"no snapshot asset rebuilds {manifest.source!r}")
    instance = cli_instance(_common.settings())
    job = _common.definitions().resolve_implicit_global_asset_job_def()
    for entry in manifest.files:
        result = job.execute_in_process(
            partition_key=entry.partition, instance=instance, raise_on_error=False,
            asset_selection=[dg.AssetKey(manifest.source)],
        )  # fmt: skip
        print(f"  {manifest.source}[{entry.partition}]: {'ok' if result.success else 'FAILED'}")
        if not result.success:
            return 2
    result = job.execute_in_process(instance=instance, raise_on_error=False,
                                    asset_selection=[dg.AssetKey(snapshot_asset)])  # fmt: skip
    materialized = result.asset_materializations_for_node(snapshot_asset) if result.success else []
    if not materialized:
        print(f"{snapshot_asset} did not materialize")
        return 2
    again = str(materialized[0].metadata["version"].value)
    same = again == full
    print(
        f"rebuilt {name}: {again[:12]} {'== identical to' if same else '!= differs from'} {full[:12]}"
    )
    return 0 if same else 3


def export(snapshot_id: str, folder: str, license_id: str) -> int:
    from fsdl_data.core.versioning.export import export_snapshot
    from fsdl_data.core.versioning.store import SnapshotStore

    store = SnapshotStore(_common.lake().store)
    name, full = store.resolve(snapshot_id)
    manifest = store.read(full, name)
    shards = export_snapshot(store, full, manifest, Path(folder), license_id)
    print(f"exported {full[:12]} ({name}): {manifest.row_count:,} rows in {len(shards)} shards and "
          f"README.md to {folder}")  # fmt: skip
    return 0


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("lineage", help="the chain of data and versions behind a model version")
    p.add_argument("model", metavar="MODEL_VERSION", help="a popularity_model version, or `latest`")
    p.set_defaults(handler=lambda a: lineage(a.model))
    p = verbs.add_parser("rebuild", help="rematerialize what a snapshot was built from; same hash?")
    p.add_argument("id", metavar="SNAPSHOT_ID")
    p.set_defaults(handler=lambda a: rebuild(a.id))
    p = verbs.add_parser(
        "export", help="write a table snapshot as a Hugging Face dataset (Parquet + card)"
    )
    p.add_argument("id", metavar="SNAPSHOT_ID")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--license", default="other", help="the licence id for the dataset card")
    p.set_defaults(handler=lambda a: export(a.id, a.folder, a.license))
