"""Batched image classification as a GPU-tagged asset: a factory for Python, a component for
YAML."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from fsdl_data.components._tables import written
from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.infer import classify
from fsdl_data.core.vision.model import pick_device
from fsdl_data.core.vision.threads import use_torch_threads
from fsdl_data.executors import GPU_OP_TAGS, GPU_POOL

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def newest_classifier(registry_url: str) -> str:
    return registry.newest(open_object_store(registry_url)).version


def image_inference_asset(
    name: str,
    images: str,
    prefix: str,
    registry_url: str,
    output: str,
    version: str = "newest",
    deps: Sequence[str] = (),
    batch_size: int = 64,
    group: str | None = None,
) -> dg.AssetsDefinition:
    """An asset that classifies every image under `prefix` of `images` with a classifier from
    the registry at `registry_url` and writes one row per image to the Parquet file `output`.
    GPU-tagged like photo_classifications: one GPU step at a time (the `gpu` pool), routed to
    `gpu` Celery workers or GPU pods; CUDA when present, else the CPU."""

    @dg.asset(
        name=name,
        deps=list(deps),
        group_name=group,
        kinds={"pytorch", "parquet"},
        op_tags=GPU_OP_TAGS,
        pool=GPU_POOL,
        description=f"Content classes of the images under {images}/{prefix}, one row per "
        f"image, written to {output}.",
    )
    def _inference() -> dg.MaterializeResult:
        device = pick_device()
        threads = use_torch_threads()
        chosen = newest_classifier(registry_url) if version == "newest" else version
        classifier = registry.load_classifier(open_object_store(registry_url), chosen, device)
        store = open_object_store(images)
        keys = [o.key for o in store.list(prefix) if o.key.lower().endswith(IMAGE_SUFFIXES)]
        df = classify(classifier, list(range(len(keys))), keys, store.get, batch_size, 0, device)
        return written(output, df, classifier_version=chosen, device=device, torch_threads=threads)

    return _inference


class ImageInference(dg.Component, dg.Model, dg.Resolvable):
    """`image_inference_asset` from YAML: classify the images under a prefix on a GPU worker."""

    asset: str
    images: str
    prefix: str = ""
    registry: str
    output: str
    version: str = "newest"
    deps: list[str] = []
    batch_size: int = 64
    group: str | None = None

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return dg.Definitions(
            assets=[
                image_inference_asset(
                    self.asset,
                    self.images,
                    self.prefix,
                    self.registry,
                    self.output,
                    self.version,
                    self.deps,
                    self.batch_size,
                    self.group,
                )
            ]
        )
