"""Each asset's Dagster `code_version`: the code version (fsdl_data.core.versions) of the core
modules it runs, so changing a feature definition or the classifier's training shows that asset,
and everything downstream of it, as out of date in the UI until rematerialized."""

from __future__ import annotations

from fsdl_data.core.versions import ASSET_COMPONENTS, code_version


def with_code_versions(assets: list) -> list:
    """The assets with each one's code version set from the component that makes it."""

    def stamp(spec):  # an AssetSpec
        component = ASSET_COMPONENTS.get(spec.key.to_user_string())
        return spec.replace_attributes(code_version=code_version(component)) if component else spec

    return [a.map_asset_specs(stamp) for a in assets]
