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
        self.seen: set[tuple[str, str | None]] = set()

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
        step.facts.update(self.source_facts(key, [p for p, _ in records]))
        fresh = [(p, r) for p, r in records if (key.to_user_string(), p) not in self.seen]
        self.seen |= {(key.to_user_string(), p) for p, _ in fresh}
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

    def source_facts(self, key: dg.AssetKey, partitions: list[str | None]) -> dict[str, Any]:
        """What a source partition was read from: the S3 object versions behind raw photos (and
        photo_pixels, made in the same read)."""
        if key.to_user_string() not in ("raw_photos", "photo_pixels"):
            return {}
        objects = versions = 0
        for partition in partitions:
            table = self.lake.read("raw_photos", partition)
            objects += len(table)
            versions += int(table["version_id"].is_not_null().sum())
        return {
            "objects": objects,
            "with S3 VersionId": versions,
            "ETags": "in raw_photos (key, etag)",
        }


def model_lineage(
    instance: dg.DagsterInstance, defs: dg.Definitions, lake: Lake, model_version: str
) -> Step:
    """The chain behind a popularity model version (its card names its snapshot)."""
    card, manifest = model_training_snapshot(lake, model_version)
    tracer = Tracer(instance, defs, lake)
    snapshot = Step("training_snapshot", [None], [card["snapshot"]],
                    {"files": len(manifest.files), "rows": manifest.row_count,
                     "git commit": manifest.code.get("git_commit", "?")})  # fmt: skip
    training_set = dg.AssetKey("training_set")
    for entry in manifest.files:
        record = _record_with_version(instance, training_set, entry.partition, entry.data_version)
        cursor = record.storage_id + 1 if record else None
        snapshot.parents.append(tracer.step(training_set, [entry.partition], cursor))
    return Step("popularity_model", [None], [model_version],
                {k: card[k] for k in ("held_out_day", "spearman", "auc_above_median") if k in card},
                [snapshot])  # fmt: skip


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
