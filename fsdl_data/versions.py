"""Code versions: which code made an artifact, for manifests and for Dagster's staleness.

Each asset declares a `code_version` that is a hash of the source of the code it runs (its core
modules), so changing a feature definition or the classifier's training shows that asset, and
everything downstream of it, as out of date in the UI until rematerialized. Manifests record the
same versions and the git commit.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import subprocess
from functools import cache
from pathlib import Path

import fsdl_data

REPOSITORY = Path(fsdl_data.__file__).resolve().parents[1]


def source_version(*modules: str) -> str:
    """A short hash of the named modules' source code."""
    text = "".join(inspect.getsource(importlib.import_module(m)) for m in modules)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@cache
def git_commit() -> str:
    """The checkout's commit, with `+dirty` when files differ from it; `unknown` outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPOSITORY, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPOSITORY, capture_output=True, text=True, timeout=5,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+dirty" if commit and dirty else commit or "unknown"


CODE = {
    "sources": ("fsdl_data.core.tables.sources", "fsdl_data.core.vision.pixels"),
    "tables": ("fsdl_data.core.tables.events",),
    "features": ("fsdl_data.core.features.definitions",),
    "online": ("fsdl_data.core.features.online",),
    "labels": ("fsdl_data.core.labels.human", "fsdl_data.core.labels.consensus"),
    "weak_labels": (
        "fsdl_data.core.labels.functions",
        "fsdl_data.core.labels.label_model",
        "fsdl_data.core.labels.labeled_set",
    ),
    "popularity_labels": ("fsdl_data.core.labels.popularity",),
    "labeling_queue": ("fsdl_data.core.labels.active", "fsdl_data.core.labels.studio"),
    "classifier": (
        "fsdl_data.core.vision.model",
        "fsdl_data.core.vision.train",
        "fsdl_data.core.vision.augment",
    ),
    "inference": ("fsdl_data.core.vision.infer", "fsdl_data.core.vision.model"),
    "training_set": ("fsdl_data.core.features.training_set", "fsdl_data.core.features.pit"),
    "snapshots": ("fsdl_data.core.versioning.snapshots", "fsdl_data.core.versioning.store"),
    "model": ("fsdl_data.core.modeling.popularity",),
}


@cache
def code_version(component: str) -> str:
    return source_version(*CODE[component])


def code_versions() -> dict[str, str]:
    """Every component's code version, the package version and the git commit."""
    return {
        "fsdl_data": fsdl_data.__version__,
        "git_commit": git_commit(),
        **{component: code_version(component) for component in CODE},
    }


# Which component's code makes each asset (its code version is that component's).
ASSET_COMPONENTS = {
    "raw_photos": "sources", "photo_pixels": "sources", "photo_metadata": "sources",
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


def with_code_versions(assets: list) -> list:
    """The assets with each one's code version set from the component that makes it."""

    def stamp(spec):  # an AssetSpec
        component = ASSET_COMPONENTS.get(spec.key.to_user_string())
        return spec.replace_attributes(code_version=code_version(component)) if component else spec

    return [a.map_asset_specs(stamp) for a in assets]
