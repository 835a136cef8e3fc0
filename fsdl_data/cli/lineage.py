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
    """Makes a table snapshot again from its recorded inputs, in a scratch home (never today's
    lake), and says whether the new snapshot is the same (it must be, for unchanged sources and
    code); else the first input whose recorded version cannot be obtained."""
    from fsdl_data.cli._rebuild import rebuild_table
    from fsdl_data.cli.runner import cli_instance
    from fsdl_data.core.versioning.rebuild import NotObtainable
    from fsdl_data.core.versioning.snapshots import first_difference
    from fsdl_data.core.versioning.store import GRAPH_SNAPSHOTS, SnapshotStore

    lake = _common.lake()
    name, full, manifest = SnapshotStore(lake.store).open_snapshot(snapshot_id)
    if manifest.kind != "table":
        raise ValueError(
            f"snapshot {full[:12]} is of a folder: re-run `fsdl-data snapshot add` instead"
        )
    if GRAPH_SNAPSHOTS.get(name, (None, None))[1] is None:
        raise ValueError(f"no snapshot asset rebuilds {manifest.source!r}")
    instance = cli_instance(_common.settings())
    defs = _common.definitions()
    erasures = manifest.extra.get("erasures", ())
    if erasures:
        again = _rebuild_erased(instance, defs, full, manifest, erasures)
    else:
        try:
            again = rebuild_table(instance, defs, lake, _common.settings(), manifest, print)
        except NotObtainable as missing:
            print(f"cannot rebuild {name} {full[:12]}: the first input whose recorded version "
                  f"cannot be obtained is {missing}")  # fmt: skip
            return 3
    if again is None:
        print(f"rebuilt {name}: none of its partitions could be made again")
        return 2
    same = again.snapshot_id == full
    print(f"rebuilt {name}: {again.snapshot_id[:12]} "
          f"{'== identical to' if same else '!= differs from'} {full[:12]}")  # fmt: skip
    if not same:
        print(f"  first difference: {first_difference(manifest, again.manifest)}")
    return 0 if same else 3


def _rebuild_erased(instance: Any, defs: Any, full: str, manifest: Any, erasures: Any) -> Any:
    """A snapshot an erasure rewrote: what was erased cannot be made again from its sources,
    so its partitions are taken as the erasure left them in the lake and snapshotted again."""
    import dagster as dg

    from fsdl_data.core.versioning.snapshots import retake
    from fsdl_data.core.versions import produced_by

    print(f"  {full[:12]} was rewritten by {len(erasures)} erasures (`fsdl-data lineage "
          f"{full[:12]}`): its partitions are taken as the erasure left them in the lake, "
          "not made again")  # fmt: skip
    source = dg.AssetKey(manifest.source)

    def data_version(file: Any) -> str | None:
        record = instance.get_latest_data_version_record(source, partition_key=file.partition)
        tags = record.asset_materialization.tags if record and record.asset_materialization else {}
        return (tags or {}).get("dagster/data_version")

    return retake(_common.lake(), manifest, data_version, produced_by(manifest.source))


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
