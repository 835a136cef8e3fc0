"""A separate tiny Dagster project built from fsdl_data's YAML components alone: photos on an S3
server → a snapshot → GPU-tagged inference → Label Studio tasks, beside weak labels, a
point-in-time join, annotations read back and a sensor on the prefix. Loaded with
`dg.load_from_defs_folder`, materialized, and each output checked."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from fsdl_data.components._tables import read_table, write_table
from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.core.versioning.store import SnapshotStore
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.pixels import thumbnail
from fsdl_data.core.vision.train import TrainConfig, train_classifier
from fsdl_data.core.world.images import encode_jpeg, render_photo

pytestmark = pytest.mark.s3


def _project(root: Path, components: dict[str, str]) -> Path:
    """pyproject.toml with [tool.dg], the package, and one defs/<name>/defs.yaml per component."""
    project = root / "tiny"
    (project / "tiny" / "defs").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "tiny"\nversion = "0.1"\n\n[tool.dg]\ndirectory_type = "project"\n\n'
        '[tool.dg.project]\nroot_module = "tiny"\n'
    )
    (project / "tiny" / "__init__.py").write_text("")
    (project / "tiny" / "defs" / "__init__.py").write_text("")
    for name, text in components.items():
        (project / "tiny" / "defs" / name).mkdir()
        (project / "tiny" / "defs" / name / "defs.yaml").write_text(text)
    return project


def test_a_project_made_of_our_components_materializes(
    tmp_path: Path, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket, local = f"s3://{s3_bucket}", f"file://{tmp_path}"
    photos = open_object_store(bucket)
    rng = np.random.default_rng(0)
    truth = {}
    for i in range(12):
        content = CONTENT_CLASSES[i % len(CONTENT_CLASSES)]
        photos.put(f"photos/{i:03d}.jpg", encode_jpeg(render_photo(rng, content, 0.5)))
        truth[f"photos/{i:03d}.jpg"] = content
    images = [thumbnail(photos.get(k)) for k in truth]
    classifier, report = train_classifier(images, list(truth.values()), CONTENT_CLASSES, "tiny-v1",
                                     TrainConfig(steps=10, val_share=0.0))  # fmt: skip
    registry.train_or_reuse(open_object_store(f"{local}/registry"), "tiny-v1", None,
                            lambda: (classifier, report))  # fmt: skip
    write_table(f"{local}/tables/votes.parquet",
                pl.DataFrame({"id": [1, 2, 3, 4], "lf_a": [0, 1, 0, -1], "lf_b": [0, 1, -1, 1],
                              "lf_c": [0, 0, 0, 1]}))  # fmt: skip
    t0 = datetime(2026, 1, 2, 12, tzinfo=UTC)  # point_in_time_join wants instants
    write_table(f"{local}/tables/labels.parquet",
                pl.DataFrame({"user_id": [1, 2], "ts": [t0, t0], "liked": [1, 0]}))  # fmt: skip
    write_table(f"{local}/tables/features.parquet",
                pl.DataFrame({"user_id": [1, 1, 2], "as_of": [t0 - timedelta(days=1), t0 + timedelta(hours=1),
                              t0 - timedelta(days=30)], "views": [5, 99, 7]}))  # fmt: skip
    export = [{"id": 1, "data": {"photo_id": 0, "image": "x"},
               "annotations": [{"id": 7, "completed_by": {"id": 3, "email": "a@b.c"},
                                "result": [{"type": "choices", "value": {"choices": ["food"]}}]}]}]  # fmt: skip
    open_object_store(f"{local}/objects").put(
        "labels/import/export.json", json.dumps(export).encode()
    )

    project = _project(tmp_path, {
        "photos_snapshot": f"type: fsdl_data.components.ObjectSnapshot\nattributes:\n  asset: photos_snapshot\n"
            f"  objects: {bucket}\n  prefix: photos/\n  store: {local}/snapshots\n  name: photos\n",
        "photo_classes": f"type: fsdl_data.components.ImageInference\nattributes:\n  asset: photo_classes\n"
            f"  images: {bucket}\n  prefix: photos/\n  registry_root: {local}/registry\n"
            f"  output: {local}/tables/photo_classes.parquet\n  deps: [photos_snapshot]\n",
        "new_photos": f"type: fsdl_data.components.NewObjectsSensor\nattributes:\n  name: new_photos\n"
            f"  objects: {bucket}\n  prefix: photos/\n  assets: [photos_snapshot, photo_classes]\n",
        "label_tasks": f"type: fsdl_data.components.LabelStudioTasks\nattributes:\n  asset: label_tasks\n"
            f"  predictions: {local}/tables/photo_classes.parquet\n  classes: {list(CONTENT_CLASSES)}\n"
            f"  objects: {local}/objects\n  images: {bucket}\n  deps: [photo_classes]\n",
        "annotations": f"type: fsdl_data.components.LabelStudioAnnotations\nattributes:\n  asset: annotations\n"
            f"  objects: {local}/objects\n  classes: {list(CONTENT_CLASSES)}\n"
            f"  output: {local}/tables/annotations.parquet\n",
        "weak": f"type: fsdl_data.components.WeakLabels\nattributes:\n  asset: weak\n"
            f"  votes: {local}/tables/votes.parquet\n  classes: [negative, positive]\n  output: {local}/tables/weak.parquet\n",
        "training_rows": f"type: fsdl_data.components.PointInTimeFeatures\nattributes:\n  asset: training_rows\n"
            f"  labels: {local}/tables/labels.parquet\n  features: {local}/tables/features.parquet\n"
            f"  entity: user_id\n  label_time: ts\n  feature_time: as_of\n  ttl_days: 7\n"
            f"  output: {local}/tables/training_rows.parquet\n",
    })  # fmt: skip
    monkeypatch.syspath_prepend(str(project))
    defs = dg.load_from_defs_folder(project_root=project)
    assets = list(defs.assets or [])
    result = dg.materialize(assets)
    assert result.success

    snapshot = SnapshotStore(open_object_store(local))  # store: .../snapshots is the root local
    _, manifest = snapshot.latest("photos")
    assert len(manifest.files) == 12
    classes = read_table(f"{local}/tables/photo_classes.parquet")
    assert sorted(classes["key"].to_list()) == sorted(truth)
    assert set(classes["predicted_class"].to_list()) <= set(CONTENT_CLASSES)
    spec = next(a for a in assets if dg.AssetKey("photo_classes") in a.keys)
    assert spec.op.tags["fsdl/gpu"] == "true" and spec.op.pool == "gpu"  # GPU-tagged
    objects = open_object_store(f"{local}/objects")
    (tasks_key,) = [o.key for o in objects.list("labels/queue/") if o.key.endswith("tasks.json")]
    assert re.fullmatch(
        r"labels/queue/date=\d{4}-\d{2}-\d{2}/tasks\.json", tasks_key
    )  # as labeling_queue
    tasks = json.loads(objects.get(tasks_key))
    assert len(tasks) == 12 and tasks[0]["predictions"][0]["model_version"] == "tiny-v1"
    assert tasks[0]["data"]["image"].startswith("http") and "Expires=" in tasks[0]["data"]["image"]
    weak = read_table(f"{local}/tables/weak.parquet")
    assert weak.filter(pl.col("id") == 1)["weak_label"].item() == "negative"
    rows = read_table(f"{local}/tables/training_rows.parquet").sort("user_id")
    assert rows["views"].to_list() == [5, None]  # not the later row; user 2's too old (TTL)
    annotations = read_table(f"{local}/tables/annotations.parquet")
    assert annotations["annotator"].to_list() == ["3"] and "a@b.c" not in annotations.write_csv()

    sensor = defs.get_sensor_def("new_photos")
    first = sensor.evaluate_tick(dg.build_sensor_context(cursor=None))
    assert len(first.run_requests) == 1
    again = sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor))
    assert again.run_requests == []
    photos.put("photos/new.jpg", encode_jpeg(render_photo(rng, "food", 0.5)))
    after = sensor.evaluate_tick(dg.build_sensor_context(cursor=first.cursor))
    assert len(after.run_requests) == 1
