"""Each asset's Dagster `code_version`: the code version (fsdl_data.core.versions) of the core
modules it runs, so changing a feature definition or the classifier's training shows that asset,
and everything downstream of it, as out of date in the UI until rematerialized."""

from __future__ import annotations

from fsdl_data.core.versions import code_version

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


def with_code_versions(assets: list) -> list:
    """The assets with each one's code version set from the component that makes it."""

    def stamp(spec):  # an AssetSpec
        component = ASSET_COMPONENTS.get(spec.key.to_user_string())
        return spec.replace_attributes(code_version=code_version(component)) if component else spec

    return [a.map_asset_specs(stamp) for a in assets]
