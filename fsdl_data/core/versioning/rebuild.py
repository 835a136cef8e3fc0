"""Rebuilding a snapshot from what it recorded, in a scratch home: the plain parts.

A table snapshot records, per file, the partition and data version it was taken of; the event
log records, per materialization, what its inputs were at the time (lineage). A rebuild walks
that chain down from the snapshot's partitions and, in a scratch lake (never today's lake),
obtains each input at its recorded version:

- from a recorded copy, when one holds that very version: a snapshot's file of that table
  partition with that data version (`RecordedCopies`), or a classifier version from the
  model registry, which keeps every version ever trained (`copy_registry`);
- else by materializing it again in the scratch home from its own inputs (obtained first),
  the sources reading the object store and the application database, and checking that it
  comes out at the recorded data version.

The first input that comes out at another version (or cannot be made at all) is named, and
the rebuild stops there: that is the input whose recorded version cannot be obtained. Else
the snapshot's own table is made again and snapshotted into a scratch store: the same id
proves the snapshot reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

from fsdl_data.core.storage.lake import table_key
from fsdl_data.core.storage.objects import ObjectStore
from fsdl_data.core.versioning.store import SnapshotStore

REGISTRY_PREFIXES = ("models/",)  # every model version ever trained, by version: immutable


@dataclass(frozen=True)
class Node:
    """One input at one version: an asset's partition (None: unpartitioned) as recorded."""

    asset: str
    partition: str | None
    version: str | None

    def __str__(self) -> str:
        return f"{self.asset}[{self.partition}]" if self.partition else self.asset


class NotObtainable(LookupError):
    """An input whose recorded version cannot be obtained: what the rebuild names first."""

    def __init__(self, node: Node, why: str) -> None:
        super().__init__(f"{node} at its recorded data version {short(node.version)}: {why}")
        self.node = node
        self.why = why


def short(version: str | None) -> str:
    return (version or "-")[:12]


class RecordedCopies:
    """Every table file any snapshot of the store recorded, by (table, partition, data version):
    the recorded versions that can be copied rather than made again."""

    def __init__(self, snapshots: SnapshotStore, leave_out: frozenset[str] = frozenset()) -> None:
        self.snapshots = snapshots
        self.found: dict[tuple[str, str | None, str], str] = {}
        for name, snapshot_id in snapshots.ids():
            manifest = snapshots.read(snapshot_id, name)
            if manifest.kind != "table" or not manifest.source or manifest.source in leave_out:
                continue
            if manifest.extra.get("erasures"):
                continue  # rewritten by an erasure: no longer the version it records
            for entry in manifest.files:
                if entry.data_version:
                    key = (manifest.source, entry.partition, entry.data_version)
                    self.found.setdefault(key, entry.sha256)

    def holds(self, node: Node) -> bool:
        return node.version is not None and (node.asset, node.partition, node.version) in self.found

    def copy(self, node: Node, lake: ObjectStore) -> None:
        """Writes the recorded file of `node` into `lake` (checked against its hash)."""
        digest = self.found[(node.asset, node.partition, node.version or "")]
        lake.put(table_key(node.asset, node.partition), self.snapshots.get_blob(digest))


def copy_registry(source: ObjectStore, target: ObjectStore) -> int:
    """Copies the model registry (every version ever trained, each by its version) into a
    scratch lake, so a step that reads a model by version (or as of a day) reads the one it
    read then. Returns how many files were copied."""
    copied = 0
    for prefix in REGISTRY_PREFIXES:
        for listed in source.list(prefix):
            target.put(listed.key, source.get(listed.key))
            copied += 1
    return copied
