"""fsdl_data's building blocks as Dagster Components, for any Dagster project, in YAML:

    type: fsdl_data.components.ObjectSnapshot
    attributes: {asset: photos_snapshot, objects: "s3://bucket", prefix: photos/, ...}

Each also has a plain-Python factory or function beside it (see README, "Use the pieces in
your project"). Tables are Parquet files named by URL, so a component needs no IO manager.
"""

from fsdl_data.components.features import PointInTimeFeatures
from fsdl_data.components.inference import ImageInference, image_inference_asset
from fsdl_data.components.labels import (
    LabelStudioAnnotations,
    LabelStudioTasks,
    WeakLabels,
    weak_labels,
)
from fsdl_data.components.sensors import NewObjectsSensor, new_objects_sensor
from fsdl_data.components.snapshot import ObjectSnapshot, snapshot_objects

__all__ = [
    "ImageInference",
    "LabelStudioAnnotations",
    "LabelStudioTasks",
    "NewObjectsSensor",
    "ObjectSnapshot",
    "PointInTimeFeatures",
    "WeakLabels",
    "image_inference_asset",
    "new_objects_sensor",
    "snapshot_objects",
    "weak_labels",
]
