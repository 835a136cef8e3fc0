"""Versions: the one function that makes every version and fingerprint, and the code versions.

`version_of(*parts)` is the short hash every version in the project is made with (a model's,
a label model's, a data version, a code version, a listed object's cursor token), so there is
one formula and one length to know. A version made from code is a hash of the source of the
modules that run it (`source_hash`): editing the classifier's training changes the classifier's
code version, hence its model version, so the registry never hands back weights trained by the
old code; Dagster shows the asset (and everything downstream) as out of date until it reruns.
A table snapshot's manifest records the code version of the asset that made its table
(`produced_by`), never the repository's commit: a commit that leaves that code alone must not
make a rebuild differ.

Standard library only, imported lazily where it costs: the CLI must start fast.
"""

from __future__ import annotations

import hashlib
from functools import cache

VERSION_LENGTH = 12  # hex characters: 48 bits, ample for the versions of one project


def version_of(*parts: object) -> str:
    """The version of whatever `parts` describe: a short SHA-256 of their text, joined by '|'.
    Equal parts give equal versions; any part that changes changes it."""
    text = "|".join(map(str, parts))
    return hashlib.sha256(text.encode()).hexdigest()[:VERSION_LENGTH]


@cache
def _module_source(module: str) -> str:
    import importlib
    import inspect

    return inspect.getsource(importlib.import_module(module))


def source_hash(*modules: str) -> str:
    """The version of the named modules' source code."""
    return version_of(*(_module_source(module) for module in modules))


# Which modules' code makes what: a component's code version is the hash of their source.
CODE = {
    "sources": ("fsdl_data.core.tables.sources", "fsdl_data.core.vision.pixels"),
    "tables": ("fsdl_data.core.tables.events",),
    "features": ("fsdl_data.core.features.definitions",),
    "online": ("fsdl_data.core.features.online",),
    "labels": ("fsdl_data.core.labels.human", "fsdl_data.core.labels.consensus"),
    "weak_labels": (
        "fsdl_data.core.labels.functions",
        "fsdl_data.core.labels.label_model",
        "fsdl_data.core.labels.calibration",
        "fsdl_data.core.labels.labeled_set",
    ),
    "popularity_labels": ("fsdl_data.core.labels.popularity",),
    "labeling_queue": ("fsdl_data.core.labels.active", "fsdl_data.core.labels.studio"),
    "classifier": (
        "fsdl_data.core.vision.model",
        "fsdl_data.core.vision.train",
        "fsdl_data.core.vision.nightly",
        "fsdl_data.core.vision.augment",
        "fsdl_data.core.vision.data",
        "fsdl_data.core.vision.style",
    ),
    "inference": ("fsdl_data.core.vision.infer", "fsdl_data.core.vision.model"),
    "training_set": ("fsdl_data.core.features.training_set", "fsdl_data.core.features.pit"),
    "snapshots": ("fsdl_data.core.versioning.snapshots", "fsdl_data.core.versioning.store"),
    "model": ("fsdl_data.core.modeling.popularity",),
}


# Which component's code makes each asset (its code version is that component's).
ASSET_COMPONENTS = {
    "raw_photos": "sources", "photo_pixels": "sources", "photo_metadata": "sources",
    "photo_metadata_quarantine": "sources",
    "users": "sources", "raw_events": "sources",
    "events": "tables", "events_quarantine": "tables",
    "user_features": "features", "photo_features": "features", "online_features": "online",
    "human_labels": "labels", "human_consensus": "labels", "annotator_quality": "labels",
    "label_matrix": "weak_labels", "lf_analysis": "weak_labels", "labeled_set": "weak_labels",
    "popularity_labels": "popularity_labels", "labeling_queue": "labeling_queue",
    "photo_classifier": "classifier", "photo_classifications": "inference",
    "training_set": "training_set",
    "training_snapshot": "snapshots", "labeled_set_snapshot": "snapshots",
    "raw_photos_snapshot": "snapshots",
    "popularity_model": "model",
}  # fmt: skip


def code_version(component: str) -> str:
    """The version of the code that makes `component` (a key of CODE)."""
    return source_hash(*CODE[component])


def produced_by(asset: str) -> dict[str, str]:
    """The code that made `asset`'s data: {its component: that component's source hash}
    (empty for an asset no component makes). What its upstream's code did is already in the
    upstream data versions, so it is not repeated here."""
    component = ASSET_COMPONENTS.get(asset)
    return {component: code_version(component)} if component else {}
