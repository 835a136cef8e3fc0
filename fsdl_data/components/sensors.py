"""A sensor that starts a run when the objects under a prefix change."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import dagster as dg
from pydantic import ConfigDict

from fsdl_data.core.storage.objects import open_object_store


def listing_digest(objects_url: str, prefix: str) -> tuple[str, int]:
    """(a digest of every key and its fingerprint under the prefix, how many objects)."""
    digest, count = hashlib.sha256(), 0
    for info in open_object_store(objects_url).stat(prefix):
        digest.update(f"{info.key}\0{info.fingerprint}\n".encode())
        count += 1
    return digest.hexdigest(), count


def new_objects_sensor(
    name: str, objects_url: str, prefix: str, assets: Sequence[str], interval_s: int = 30
) -> dg.SensorDefinition:
    """Requests `assets` once for each new state of the objects under `prefix` (added, changed
    or deleted objects): the run key is the listing's digest, so a state never runs twice.
    For day-partitioned folders with a cursor that lists only what is new, see
    fsdl_data.sensors (new_photo_objects, new_log_objects)."""

    @dg.sensor(
        name=name,
        target=list(assets),
        minimum_interval_seconds=interval_s,
        description=f"Runs {', '.join(assets)} when the objects under {objects_url}/{prefix} change.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        digest, count = listing_digest(objects_url, prefix)
        if count == 0 or digest == context.cursor:
            return dg.SensorResult(run_requests=[], cursor=context.cursor)
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"{name}-{digest[:16]}")], cursor=digest
        )

    return _sensor


class NewObjectsSensor(dg.Component, dg.Model, dg.Resolvable):
    """`new_objects_sensor` from YAML."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """The sensor's name."""
    objects: str
    """Where the objects are: an S3 or file URL."""
    prefix: str = ""
    """Watch only the objects under this key prefix."""
    assets: list[str]
    """The assets a run materializes when the objects change."""
    interval_s: int = 30
    """Seconds between ticks."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return dg.Definitions(
            sensors=[
                new_objects_sensor(
                    self.name, self.objects, self.prefix, self.assets, self.interval_s
                )
            ]
        )
