"""Lineage: from a model to the exact data behind it, with a version at every step.

model -> training snapshot (manifest) -> training_set partitions -> everything upstream, walked
through the asset graph's own partition mappings. At each step the upstream materialization is
the one that existed when the downstream one was made (the newest before it in the event log),
so the chain is what was used, not what is there now. It ends at the sources: the S3 object
versions behind raw_photos, the database watermark behind photo_metadata, the log files behind
raw_events.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.versioning.lineage import Step, model_training_snapshot

SOURCE_FACTS = (
    "watermark",
    "read_window",
    "log_files",
    "decode_errors",
    "version",
    "classifier_version",
)


class Tracer:
    def __init__(self, instance: dg.DagsterInstance, defs: dg.Definitions, lake: Lake) -> None:
        self.instance = instance
        self.graph = defs.resolve_asset_graph()
        self.lake = lake
        # walked already: (asset, partition, data version), so each version of an asset (two
        # classifier versions, say) has its own parents walked
        self.seen: set[tuple[str, str | None, str | None]] = set()
        self._recorded: dict[tuple[str | None, str | None], tuple[str, Any]] | None = None

    def record(self, key: dg.AssetKey, partition: str | None, before: int | None) -> Any:
        return self.instance.get_latest_data_version_record(
            key, is_source=False, partition_key=partition, before_cursor=before
        )

    def step(self, key: dg.AssetKey, partitions: list[str | None], before: int | None) -> Step:
        records = [(p, self.record(key, p, before)) for p in partitions]
        records = [(p, r) for p, r in records if r is not None]
        step = Step(
            key.to_user_string(),
            [p for p, _ in records],
            [r.asset_materialization.tags.get("dagster/data_version") for _, r in records],
        )
        if len(records) == 1:
            metadata = records[0][1].asset_materialization.metadata
            step.facts = {k: metadata[k].value for k in SOURCE_FACTS if k in metadata}
        step.facts.update(self.source_facts(key, records))
        name = key.to_user_string()

        def walked(partition: str | None, record: Any) -> tuple[str, str | None, str | None]:
            return name, partition, record.asset_materialization.tags.get("dagster/data_version")

        fresh = [(p, r) for p, r in records if walked(p, r) not in self.seen]
        self.seen |= {walked(p, r) for p, r in fresh}
        for parent in sorted(self.graph.get(key).parent_keys, key=lambda k: k.to_user_string()):
            wanted: list[str | None] = []
            cursor = None
            for partition, record in fresh:
                cursor = max(cursor or 0, record.storage_id)
                wanted += self.parent_partitions(key, partition, parent)
            if fresh:
                unique = sorted(set(wanted), key=lambda p: p or "")
                step.parents.append(self.step(parent, unique, cursor))
        return step

    def parent_partitions(
        self, child: dg.AssetKey, partition: str | None, parent: dg.AssetKey
    ) -> list[str | None]:
        if self.graph.get(parent).partitions_def is None:
            return [None]
        if partition is None:  # an unpartitioned asset reads every partition there was
            return [p for p in self.instance.get_materialized_partitions(parent)]
        subset = self.graph.get_parent_partition_keys_for_child(partition, parent, child)
        return sorted(subset.partitions_subset.get_partition_keys())

    def recorded_objects(self) -> dict[tuple[str | None, str | None], tuple[str, Any]]:
        """(partition, data version) of each raw_photos file any raw_photos snapshot recorded ->
        (that snapshot's id, the file's entry): the object versions as they were recorded."""
        if self._recorded is None:
            from fsdl_data.core.versioning.store import SnapshotStore

            snapshots = SnapshotStore(self.lake.store)
            self._recorded = {}
            for ref in snapshots.history("raw_photos"):
                for entry in snapshots.read(ref.id, ref.name).files:
                    self._recorded[(entry.partition, entry.data_version)] = (ref.id, entry)
        return self._recorded

    def source_facts(
        self, key: dg.AssetKey, records: list[tuple[str | None, Any]]
    ) -> dict[str, Any]:
        """What a source partition was read from: the S3 object versions behind raw photos, as
        the raw_photos snapshot that holds that very version recorded them (never today's lake),
        with the command that lists them. photo_pixels, made in the same read, has the same
        data version."""
        if key.to_user_string() not in ("raw_photos", "photo_pixels"):
            return {}
        objects = versions = 0
        listed: set[str] = set()
        missing = 0
        for partition, record in records:
            version = record.asset_materialization.tags.get("dagster/data_version")
            found = self.recorded_objects().get((partition, version))
            if found is None:
                missing += 1
                continue
            snapshot_id, entry = found
            facts = entry.facts or {}
            objects += int(facts.get("objects", 0))
            versions += int(facts.get("objects_with_version_id", 0))
            listed.add(snapshot_id[:12])
        out: dict[str, Any] = {"objects": objects, "with S3 VersionId": versions}
        if listed:
            out["listed by"] = " ; ".join(
                f"fsdl-data snapshot show {i} --objects" for i in sorted(listed)
            )
        if missing:
            out["not in any raw_photos snapshot"] = f"{missing} partitions"
        return out


def model_lineage(
    instance: dg.DagsterInstance, defs: dg.Definitions, lake: Lake, model_version: str
) -> Step:
    """The chain behind a popularity model version (its card names its snapshot)."""
    card, manifest = model_training_snapshot(lake, model_version)
    snapshot = snapshot_lineage(instance, defs, lake, card["snapshot"], manifest)
    return Step("popularity_model", [None], [model_version],
                {k: card[k] for k in ("held_out_day", "spearman", "auc_above_median") if k in card},
                [snapshot])  # fmt: skip


def snapshot_lineage(
    instance: dg.DagsterInstance, defs: dg.Definitions, lake: Lake, snapshot_id: str,
    manifest: Any,
) -> Step:  # fmt: skip
    """The chain behind a table snapshot: each file's partition at the version it recorded,
    then everything upstream of that materialization."""
    from fsdl_data.core.versioning.store import GRAPH_SNAPSHOTS

    asset = GRAPH_SNAPSHOTS.get(manifest.name, (manifest.source, f"{manifest.name} snapshot"))[1]
    tracer = Tracer(instance, defs, lake)
    from fsdl_data.core.versioning.erasure import erasure_facts

    snapshot = Step(asset, [None], [snapshot_id],
                    {"files": len(manifest.files), "rows": manifest.row_count,
                     **{f"code {c}": v for c, v in manifest.code.items()},
                     **erasure_facts(snapshot_id, manifest)})  # fmt: skip
    if manifest.kind != "table" or not manifest.source:
        return snapshot
    table = dg.AssetKey(manifest.source)
    for entry in manifest.files:
        record = _record_with_version(instance, table, entry.partition, entry.data_version)
        cursor = record.storage_id + 1 if record else None
        snapshot.parents.append(tracer.step(table, [entry.partition], cursor))
    return snapshot


def _record_with_version(
    instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None, version: str | None
) -> Any:
    """The materialization of `partition` that produced `version` (the newest if unknown)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None),
        limit=100,
    ).records
    for record in records:
        if (
            version is None
            or record.asset_materialization.tags.get("dagster/data_version") == version
        ):
            return record
    return records[0] if records else None
