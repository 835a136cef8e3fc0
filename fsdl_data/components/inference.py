"""Batched image classification as a GPU-tagged asset: a function, a factory for Python, a
component for YAML. torch is imported when a classifier runs, so importing the components (the
snapshot store, the label model, Label Studio) needs no torch (`pip install 'fsdl_data[vision]'`
for this one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import ConfigDict

from fsdl_data.components._tables import written
from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.executors import GPU_OP_TAGS, GPU_POOL

if TYPE_CHECKING:
    import polars as pl

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def newest_classifier(registry_root: str) -> str:
    """The newest classifier version in the registry under `registry_root`; a LookupError that
    says what to pass when there is none (the usual mistake: naming the models folder itself)."""
    from fsdl_data.core.vision import registry

    try:
        return registry.newest(open_object_store(registry_root)).version
    except LookupError:
        pass
    root = registry_root.rstrip("/")
    hint = "pass the folder or prefix that holds models/photo_classifier/ (fsdl_data's lake root)"
    for tail in (f"/{registry.PREFIX}", "/models"):
        if root.endswith(tail):
            hint = f"registry_root is the folder above models/: try {root[: -len(tail)]}"
    raise LookupError(
        f"no classifier under {root}/{registry.PREFIX}/: {hint}, or train one first "
        "(`fsdl-data materialize` trains photo_classifier into $FSDL_HOME/lake)"
    )


def classify_images(
    images: str,
    prefix: str,
    registry_root: str,
    version: str = "newest",
    batch_size: int = 64,
) -> tuple[pl.DataFrame, str, str]:
    """Classify every image under `prefix` of `images` (an S3 or file URL) with a classifier of
    the registry under `registry_root`. Returns (one row per image: photo_id, key, class
    probabilities p_<class>, predicted_class, style score, classifier_version; the version
    used; the device)."""
    from fsdl_data.core.vision import registry
    from fsdl_data.core.vision.infer import classify
    from fsdl_data.core.vision.model import pick_device

    device = pick_device()
    chosen = newest_classifier(registry_root) if version == "newest" else version
    classifier = registry.load_classifier(open_object_store(registry_root), chosen, device)
    store = open_object_store(images)
    keys = [o.key for o in store.list(prefix) if o.key.lower().endswith(IMAGE_SUFFIXES)]
    df = classify(classifier, list(range(len(keys))), keys, store.get, batch_size, 0, device)
    return df, chosen, device


def image_inference_asset(
    name: str,
    images: str,
    prefix: str,
    registry_root: str,
    output: str,
    version: str = "newest",
    deps: Sequence[str] = (),
    batch_size: int = 64,
    group: str | None = None,
    torch_threads: int | None = None,
) -> dg.AssetsDefinition:
    """An asset that runs `classify_images` and writes its rows to the Parquet file `output`.
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
        f"image, written to {output} (Metadata: rows, uri, preview).",
    )
    # `context` unannotated: this module postpones annotations, which dagster cannot read
    def _inference(context) -> dg.MaterializeResult:
        from fsdl_data.resources import TorchResource

        threads = TorchResource(threads=torch_threads).use_threads(context)
        df, chosen, device = classify_images(images, prefix, registry_root, version, batch_size)
        return written(output, df, classifier_version=chosen, device=device, **threads.metadata())

    return _inference


class ImageInference(dg.Component, dg.Model, dg.Resolvable):
    """`image_inference_asset` from YAML: classify the images under a prefix on a GPU worker
    (needs `pip install 'fsdl_data[vision]'`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    asset: str
    """The asset's name."""
    images: str
    """Where the images are: an S3 or file URL (s3://bucket, file:///home/me/photos)."""
    prefix: str = ""
    """Only the images under this key prefix (e.g. photos/); .jpg, .jpeg, .png, .webp."""
    registry_root: str
    """The folder or prefix that holds models/photo_classifier/: fsdl_data's lake root
    (FSDL_LAKE_URL, file://$FSDL_HOME/lake by default), not the models folder itself."""
    output: str
    """The Parquet file written, as a URL (file:///home/me/tables/classes.parquet)."""
    version: str = "newest"
    """A classifier version from the registry, or `newest`."""
    deps: list[str] = []
    """Assets to run before this one (e.g. the snapshot of the same images)."""
    batch_size: int = 64
    """Images per forward pass."""
    group: str | None = None
    """The asset group in the UI."""
    torch_threads: int | None = None
    """CPU threads torch may use (default: FSDL_TORCH_THREADS's rule, one per core)."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return dg.Definitions(
            assets=[
                image_inference_asset(
                    self.asset,
                    self.images,
                    self.prefix,
                    self.registry_root,
                    self.output,
                    self.version,
                    self.deps,
                    self.batch_size,
                    self.group,
                    self.torch_threads,
                )
            ]
        )
