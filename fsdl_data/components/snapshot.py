"""A content-addressed snapshot of the objects under a prefix, as an asset."""

from __future__ import annotations

import dagster as dg
from pydantic import ConfigDict

from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.core.versioning.blobs import ROOT
from fsdl_data.core.versioning.snapshots import object_files, object_reader, take
from fsdl_data.core.versioning.store import Manifest, SnapshotStore


def open_snapshot_store(store_url: str) -> SnapshotStore:
    """The snapshot store rooted at `store_url` (its files go under <store_url>/snapshots/).
    A URL that already ends in /snapshots names the same store, never snapshots/snapshots/."""
    root = store_url.rstrip("/")
    if root.endswith(f"/{ROOT}"):
        root = root[: -len(ROOT) - 1]
    return SnapshotStore(open_object_store(root))


def snapshot_objects(objects_url: str, prefix: str, store_url: str, name: str):
    """Snapshot every object under `prefix` of `objects_url` (an S3 or file URL: a folder is
    file:///path) into the snapshot store at `store_url` as `name`; only objects whose
    fingerprint changed since the last snapshot are read. Returns the Taken (manifest,
    snapshot id, files read and reused), None when there are no objects."""
    objects = open_object_store(objects_url)
    template = Manifest(name=name, kind="folder", files=(), source=f"{objects_url}/{prefix}")
    return take(
        open_snapshot_store(store_url),
        template,
        object_files(objects, prefix),
        read=object_reader(objects, prefix),
        read_threads=8,
    )


class ObjectSnapshot(dg.Component, dg.Model, dg.Resolvable):
    """Snapshots the objects under `prefix` of `objects` (an S3 or file URL) into the snapshot
    store at `store` under `name`. Its data version is the snapshot id, so what is downstream
    of it is stale exactly when the objects changed."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    asset: str
    """The asset's name."""
    objects: str
    """Where the files are: an S3 or file URL (s3://bucket, file:///home/me/photos)."""
    prefix: str = ""
    """Only the objects under this key prefix (e.g. photos/)."""
    store: str
    """The snapshot store's root, an S3 or file URL: its files go under <store>/snapshots/
    (fsdl_data's lake root holds the graph's own). A URL ending in /snapshots is the same store."""
    name: str
    """The snapshot's name in the store (`fsdl-data snapshot list --name NAME`)."""
    group: str = "snapshots"
    """The asset group in the UI."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        component = self

        @dg.asset(
            name=component.asset,
            group_name=component.group,
            kinds={"snapshot"},
            description=f"Snapshot `{component.name}` of {component.objects}/{component.prefix}, "
            f"content-addressed in {component.store}.",
        )
        def _snapshot() -> dg.MaterializeResult:
            taken = snapshot_objects(
                component.objects, component.prefix, component.store, component.name
            )
            if taken is None:
                raise dg.Failure(f"no objects under {component.objects}/{component.prefix}")
            return dg.MaterializeResult(
                data_version=dg.DataVersion(taken.snapshot_id),
                metadata={
                    "version": taken.snapshot_id,
                    "files": len(taken.manifest.files),
                    "files_read": taken.read,
                    "files_reused": taken.reused,
                    "bytes": taken.manifest.total_bytes,
                },
            )

        return dg.Definitions(assets=[_snapshot])
