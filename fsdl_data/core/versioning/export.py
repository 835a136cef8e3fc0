"""Export a table snapshot as a Hugging Face dataset: Parquet shards plus a dataset card.

The shards are the snapshot's files, byte for byte (each checked against its hash); the card
(README.md) says what the dataset holds (features, row counts), where it came from (the
snapshot id, its upstream data versions, code versions, git commit) and its licence, in the
YAML header `datasets.load_dataset` reads.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from fsdl_data.core.versioning.store import Manifest, SnapshotStore

CARD_MARK = "exported by fsdl-data"  # how an export's card says what it is (to replace it)
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF")


def _scalar(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        tz = f", tz={arrow_type.tz}" if arrow_type.tz else ""
        return f"timestamp[{arrow_type.unit}{tz}]"
    if pa.types.is_date32(arrow_type):
        return "date32"
    if pa.types.is_date64(arrow_type):
        return "date64"
    if pa.types.is_string_view(arrow_type):
        return "string"
    if pa.types.is_binary_view(arrow_type):
        return "binary"
    named = {"double": "float64", "float": "float32", "halffloat": "float16"}
    return named.get(str(arrow_type), str(arrow_type))


def feature(arrow_type: Any, image: bool = False) -> dict[str, Any]:
    """The Hugging Face feature of an Arrow type, as the card's YAML holds it (`dtype`, `list`,
    `large_list` or `struct`, nested); a binary column of encoded images is an `image`."""
    import pyarrow as pa

    if image:
        return {"dtype": "image"}
    if pa.types.is_struct(arrow_type):
        return {"struct": [{"name": f.name, **feature(f.type)} for f in arrow_type]}
    if (
        pa.types.is_large_list(arrow_type)
        or pa.types.is_list(arrow_type)
        or (pa.types.is_fixed_size_list(arrow_type) or pa.types.is_list_view(arrow_type))
    ):
        inner = feature(arrow_type.value_type)
        kind = "large_list" if pa.types.is_large_list(arrow_type) else "list"
        return {kind: inner.get("dtype", inner)}
    return {"dtype": _scalar(arrow_type)}


def card_features(shards: list[bytes]) -> list[dict[str, Any]]:
    """Every column's feature, from the first shard's Arrow schema; binary columns whose first
    value is an encoded image (JPEG, PNG, GIF, WebP) are images."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not shards:
        return []
    schema = pq.read_schema(io.BytesIO(shards[0]))
    images = set()
    binary = [
        f.name for f in schema if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
    ]
    for name in binary:
        for shard in shards:
            values = pq.read_table(io.BytesIO(shard), columns=[name]).column(name).drop_null()
            if len(values):
                if values[0].as_py().startswith(IMAGE_MAGIC):
                    images.add(name)
                break
    return [{"name": f.name, **feature(f.type, f.name in images)} for f in schema]


def export_snapshot(snapshots: SnapshotStore, snapshot_id: str, manifest: Manifest, folder: Path,
                    license_id: str = "other") -> list[Path]:  # fmt: skip
    """Writes data/train-NNNNN-of-NNNNN.parquet and README.md into `folder`; returns the shards.
    Atomic: written into a temporary folder beside it, then renamed; a folder holding an earlier
    export is replaced whole (never mixed with old shards); any other non-empty folder refused."""
    if manifest.kind != "table":
        raise ValueError(
            f"snapshot {snapshot_id[:12]} is of a folder: only table snapshots export as datasets"
        )
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(
            f"{folder} is a file: export into a new, empty or earlier export's folder"
        )
    previous = folder.is_dir() and any(folder.iterdir())
    if previous and not _is_export(folder):
        raise FileExistsError(
            f"{folder} is not empty and holds no fsdl-data export: export into a new or empty folder"
        )
    parent = folder.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    scratch = parent / f".{folder.name}.export-{uuid.uuid4().hex[:12]}"
    old = parent / f".{folder.name}.replaced-{uuid.uuid4().hex[:12]}"
    try:
        (scratch / "data").mkdir(parents=True)
        total = len(manifest.files)
        blobs = [snapshots.get_blob(f.sha256) for f in manifest.files]  # checked by hash
        names = [f"train-{i:05d}-of-{total:05d}.parquet" for i in range(total)]
        for name, data in zip(names, blobs, strict=True):
            (scratch / "data" / name).write_bytes(data)
        card = dataset_card(snapshot_id, manifest, license_id, card_features(blobs))
        (scratch / "README.md").write_text(card)
        if previous:
            folder.rename(old)
        elif folder.is_dir():
            folder.rmdir()
        scratch.rename(folder)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        if old.exists() and not folder.exists():
            old.rename(folder)  # put the earlier export back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return [folder / "data" / name for name in names]


def _is_export(folder: Path) -> bool:
    """A folder that holds an earlier export only: its card, and shards under data/."""
    card = folder / "README.md"
    if not card.is_file() or CARD_MARK not in card.read_text(errors="replace"):
        return False
    with contextlib.suppress(OSError):
        return {p.name for p in folder.iterdir()} <= {"README.md", "data"}
    return False


def dataset_card(
    snapshot_id: str,
    manifest: Manifest,
    license_id: str,
    features: list[dict[str, Any]] | None = None,
) -> str:
    """The card: a YAML header `datasets` reads (features typed from the shards' Arrow
    schema, as JSON, which is YAML), then what the dataset is and where it came from."""
    features = (
        features
        if features is not None
        else [{"name": name, "dtype": "string"} for name in manifest.schema]
    )
    typed = "\n".join(f"  - {json.dumps(f, sort_keys=True)}" for f in features)
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
        f"{typed}\n"
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
        f"Snapshot `{snapshot_id}` of the `{manifest.source}` table, {CARD_MARK}: "
        f"{manifest.row_count:,} rows in {len(manifest.files)} Parquet shards"
        + (f" (partitions {lineage['partitions']})" if parts else "")
        + ".\n\n"
        "```python\nfrom datasets import load_dataset\n"
        'ds = load_dataset("path/to/this/folder", split="train")  # or streaming=True\n```\n\n'
        f"## Features\n\n| column | type |\n|---|---|\n{columns}\n\n"
        f"## Lineage\n\nEvery shard is a snapshot file, byte for byte (SHA-256 below); "
        f"`fsdl-data lineage` traces a model trained on it back to its sources.\n\n"
        f"```json\n{json.dumps(lineage, indent=1, sort_keys=True)}\n```\n\n"
        f"## Licence\n\n`{license_id}`: set with `fsdl-data export --license`.\n"
    )
