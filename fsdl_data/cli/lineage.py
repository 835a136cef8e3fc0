"""`fsdl-data lineage`, `rebuild` and `export`: where a model's data came from, rebuilding a
snapshot to prove it, and handing a snapshot over as a Hugging Face dataset."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fsdl_data.cli import _common


def lineage(model_or_snapshot: str, as_json: bool = False) -> int:
    """The chain behind a model version (or `latest`) or a snapshot (id, prefix or name), as
    recorded: each step at the version that was used."""
    import json

    from fsdl_data.cli._lineage import model_lineage, snapshot_lineage
    from fsdl_data.cli.runner import cli_instance
    from fsdl_data.core.modeling.registry import card_key
    from fsdl_data.core.versioning.lineage import latest_model_version
    from fsdl_data.core.versioning.store import SnapshotNotFound, SnapshotStore

    lake, settings, defs = _common.lake(), _common.settings(), _common.definitions()
    wanted = model_or_snapshot.strip()
    if wanted == "latest":
        chain = model_lineage(cli_instance(settings), defs, lake, latest_model_version(lake))
    elif lake.store.head(card_key(wanted)) is not None:
        chain = model_lineage(cli_instance(settings), defs, lake, wanted)
    else:
        try:
            _, full, manifest = SnapshotStore(lake.store).open_snapshot(wanted)
        except SnapshotNotFound:
            raise LookupError(
                f"{wanted!r} is neither a popularity model version nor a snapshot: "
                '`fsdl-data sql "SELECT version FROM popularity_model"` and `fsdl-data snapshot '
                "list` show them"
            ) from None
        chain = snapshot_lineage(cli_instance(settings), defs, lake, full, manifest)
    print(json.dumps(chain.as_dict(), indent=1) if as_json else "\n".join(chain.lines()))
    return 0


def rebuild(snapshot_id: str) -> int:
    """Rematerializes the partitions a table snapshot was built from, snapshots them again and
    says whether the new snapshot is the same (it must be, for unchanged inputs and code)."""
    import dagster as dg

    from fsdl_data.cli.runner import cli_instance
    from fsdl_data.core.versioning.store import GRAPH_SNAPSHOTS, SnapshotStore

    store = SnapshotStore(_common.lake().store)
    name, full, manifest = store.open_snapshot(snapshot_id)
    if manifest.kind != "table":
        raise ValueError(
            f"snapshot {full[:12]} is of a folder: re-run `fsdl-data snapshot add` instead"
        )
    snapshot_asset = GRAPH_SNAPSHOTS.get(name, (None, None))[1]
    if snapshot_asset is None:
        raise ValueError(f"no snapshot asset rebuilds {manifest.source!r}")
    instance = cli_instance(_common.settings())
    defs = _common.definitions()
    job = defs.resolve_implicit_global_asset_job_def()
    erasures = manifest.extra.get("erasures", ())
    if erasures:  # what was erased cannot be recomputed: the lake's erased partitions are taken
        print(f"  {full[:12]} was rewritten by {len(erasures)} erasures (`fsdl-data lineage "
              f"{full[:12]}`): its partitions are taken as the erasure left them in the lake, "
              "not rematerialized")  # fmt: skip
    # the table's asset and any it is made with in one step (raw_photos comes with photo_pixels)
    together = dg.AssetSelection.assets(manifest.source).required_multi_asset_neighbors()
    selection = sorted(together.resolve(defs.resolve_asset_graph()))
    for entry in manifest.files if not erasures else ():  # quiet: a line per partition
        result = job.execute_in_process(
            partition_key=entry.partition, instance=instance, raise_on_error=False,
            asset_selection=selection,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )  # fmt: skip
        print(f"  {manifest.source}[{entry.partition}]: {'ok' if result.success else 'FAILED'}")
        if not result.success:
            return 2
    from fsdl_data.core.versioning.snapshots import first_difference, retake
    from fsdl_data.core.versions import produced_by

    source = dg.AssetKey(manifest.source)

    def data_version(file: Any) -> str | None:
        record = instance.get_latest_data_version_record(source, partition_key=file.partition)
        tags = record.asset_materialization.tags if record and record.asset_materialization else {}
        return (tags or {}).get("dagster/data_version")

    again = retake(_common.lake(), manifest, data_version, produced_by(manifest.source))
    if again is None:
        print(f"rebuilt {name}: none of its partitions is in the lake now")
        return 2
    same = again.snapshot_id == full
    print(f"rebuilt {name}: {again.snapshot_id[:12]} "
          f"{'== identical to' if same else '!= differs from'} {full[:12]}")  # fmt: skip
    if not same:
        print(f"  first difference: {first_difference(manifest, again.manifest)}")
    return 0 if same else 3


def export(snapshot_id: str, folder: str, license_id: str) -> int:
    from fsdl_data.core.versioning.export import export_snapshot
    from fsdl_data.core.versioning.store import SnapshotStore

    store = SnapshotStore(_common.lake().store)
    name, full, manifest = store.open_snapshot(snapshot_id)
    shards = export_snapshot(store, full, manifest, Path(folder), license_id)
    print(f"exported {full[:12]} ({name}): {manifest.row_count:,} rows in {len(shards)} shards and "
          f"README.md to {folder}")  # fmt: skip
    return 0


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("lineage", help="the chain of data and versions behind a model version")
    p.add_argument("model", metavar="MODEL_OR_SNAPSHOT",
                   help="a popularity_model version, `latest`, or a snapshot id, prefix or name")  # fmt: skip
    p.add_argument("--json", action="store_true", help="the chain as JSON")
    p.set_defaults(handler=lambda a: lineage(a.model, a.json))
    p = verbs.add_parser("rebuild", help="rematerialize what a snapshot was built from; same hash?")
    p.add_argument("id", metavar="SNAPSHOT_ID")
    p.set_defaults(handler=lambda a: rebuild(a.id))
    p = verbs.add_parser(
        "export", help="write a table snapshot as a Hugging Face dataset (Parquet + card)"
    )
    p.add_argument("id", metavar="SNAPSHOT_ID",
                   help="a snapshot id (or prefix), a snapshot name, or `latest` (the newest "
                   "training_set snapshot)")  # fmt: skip
    p.add_argument("folder", metavar="DIR",
                   help="a new or empty folder, or an earlier export's (replaced whole)")  # fmt: skip
    p.add_argument("--license", default="other", help="the licence id for the dataset card")
    p.set_defaults(handler=lambda a: export(a.id, a.folder, a.license))
