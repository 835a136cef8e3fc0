"""fsdl_data's building blocks as Dagster Components, for any Dagster project, in YAML:

    type: fsdl_data.components.ObjectSnapshot
    attributes: {asset: photos_snapshot, objects: "s3://bucket", prefix: photos/, ...}

Each also has one plain-Python call beside it (docs/use-the-pieces.md). Only ImageInference
needs torch (`fsdl_data[vision]`), and imports it when it runs. Tables are Parquet files named by URL, so a component needs no IO manager.
"""

from fsdl_data.components.features import PointInTimeFeatures
from fsdl_data.components.inference import ImageInference, classify_images, image_inference_asset
from fsdl_data.components.labels import (
    LabelStudioAnnotations,
    LabelStudioTasks,
    WeakLabels,
    label_studio_tasks,
    read_label_studio_exports,
    weak_labels,
)
from fsdl_data.components.sensors import NewObjectsSensor, new_objects_sensor
from fsdl_data.components.snapshot import ObjectSnapshot, open_snapshot_store, snapshot_objects

__all__ = [
    "ImageInference",
    "LabelStudioAnnotations",
    "LabelStudioTasks",
    "NewObjectsSensor",
    "ObjectSnapshot",
    "PointInTimeFeatures",
    "WeakLabels",
    "classify_images",
    "image_inference_asset",
    "label_studio_tasks",
    "new_objects_sensor",
    "open_snapshot_store",
    "read_label_studio_exports",
    "snapshot_objects",
    "weak_labels",
]
