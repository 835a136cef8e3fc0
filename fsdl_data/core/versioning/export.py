"""Export a table snapshot as a Hugging Face dataset: Parquet shards plus a dataset card.

The shards are the snapshot's files, byte for byte (each checked against its hash); the card
(README.md) says what the dataset holds (features, row counts), where it came from (the
snapshot id, its upstream data versions, code versions, git commit) and its licence, in the
YAML header `datasets.load_dataset` reads.
"""

from __future__ import annotations

import json
from pathlib import Path

from fsdl_data.core.versioning.store import Manifest, SnapshotStore

_HF_TYPES = {
    "Int8": "int8", "Int16": "int16", "Int32": "int32", "Int64": "int64",
    "UInt8": "uint8", "UInt16": "uint16", "UInt32": "uint32", "UInt64": "uint64",
    "Float32": "float32", "Float64": "float64", "Boolean": "bool", "String": "string",
    "Date": "date32", "Binary": "binary",
}  # fmt: skip


def _feature_type(polars_type: str) -> str:
    if polars_type.startswith("Datetime"):
        return "timestamp[us, tz=UTC]" if "UTC" in polars_type else "timestamp[us]"
    if polars_type.startswith("List"):
        return "list"
    return _HF_TYPES.get(polars_type, "string")


def export_snapshot(snapshots: SnapshotStore, snapshot_id: str, manifest: Manifest, folder: Path,
                    license_id: str = "other") -> list[Path]:  # fmt: skip
    """Writes data/train-NNNNN-of-NNNNN.parquet and README.md into `folder`; returns the shards."""
    if manifest.kind != "table":
        raise ValueError(
            f"snapshot {snapshot_id[:12]} is of a folder: only table snapshots export as datasets"
        )
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    shards = []
    total = len(manifest.files)
    for i, f in enumerate(manifest.files):
        path = data / f"train-{i:05d}-of-{total:05d}.parquet"
        path.write_bytes(snapshots.get_blob(f.sha256))
        shards.append(path)
    (folder / "README.md").write_text(dataset_card(snapshot_id, manifest, license_id))
    return shards


def dataset_card(snapshot_id: str, manifest: Manifest, license_id: str) -> str:
    features = "\n".join(
        f"  - name: {name}\n    dtype: {_feature_type(kind)}"
        for name, kind in manifest.schema.items()
    )
    header = (
        "---\n"
        f"license: {license_id}\n"
        f"pretty_name: {manifest.name} (snapshot {snapshot_id[:12]})\n"
        "configs:\n"
        "- config_name: default\n"
        "  data_files:\n"
        "  - split: train\n"
        '    path: "data/*.parquet"\n'
        "dataset_info:\n"
        "  features:\n"
        f"{features}\n"
        "  splits:\n"
        "  - name: train\n"
        f"    num_examples: {manifest.row_count}\n"
        f"    num_bytes: {manifest.total_bytes}\n"
        "---\n"
    )
    parts = [f.partition for f in manifest.files if f.partition]
    lineage = {
        "snapshot_id": snapshot_id,
        "source": manifest.source,
        "partitions": f"{min(parts)} .. {max(parts)}" if parts else "",
        "upstream": manifest.upstream,
        "files": [
            {"path": f.path, "sha256": f.sha256, "rows": f.rows, "data_version": f.data_version}
            for f in manifest.files
        ],
        "code": manifest.code,
    }
    columns = "\n".join(f"| `{c}` | {t} |" for c, t in manifest.schema.items())
    return (
        f"{header}\n# {manifest.name}\n\n"
        f"Snapshot `{snapshot_id}` of the `{manifest.source}` table, exported by fsdl-data: "
        f"{manifest.row_count:,} rows in {len(manifest.files)} Parquet shards"
        + (f" (partitions {lineage['partitions']})" if parts else "")
        + ".\n\n"
        "```python\nfrom datasets import load_dataset\n"
        'ds = load_dataset("parquet", data_files="data/*.parquet", split="train")\n```\n\n'
        f"## Features\n\n| column | type |\n|---|---|\n{columns}\n\n"
        f"## Lineage\n\nEvery shard is a snapshot file, byte for byte (SHA-256 below); "
        f"`fsdl-data lineage` traces a model trained on it back to its sources.\n\n"
        f"```json\n{json.dumps(lineage, indent=1, sort_keys=True)}\n```\n\n"
        f"## Licence\n\n`{license_id}`: set with `fsdl-data export --license`.\n"
    )
