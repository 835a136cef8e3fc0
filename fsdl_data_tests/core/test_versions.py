"""core.versions: one formula and one length for every version; code versions follow the
source of the modules that run the code."""

from __future__ import annotations

import pytest

from fsdl_data.core import versions


def test_a_version_is_short_stable_and_moves_with_any_part() -> None:
    first = versions.version_of("model", 3, None)
    assert first == versions.version_of("model", 3, None)
    assert len(first) == versions.VERSION_LENGTH and int(first, 16) >= 0
    others = {versions.version_of(*parts) for parts in
              (("model", 4, None), ("model", 3, ""), (3, "model", None), ("model", 3))}  # fmt: skip
    assert first not in others and len(others) == 4


def test_editing_a_modules_source_changes_its_components_code_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = versions.code_version("model")
    real = versions._module_source

    def edited(module: str) -> str:
        return real(module) + (
            "\n# edited" if module == "fsdl_data.core.modeling.popularity" else ""
        )

    monkeypatch.setattr(versions, "_module_source", edited)
    assert versions.code_version("model") != before
    assert versions.produced_by("popularity_model") == {"model": versions.code_version("model")}


def test_every_asset_names_a_known_component_and_others_none() -> None:
    assert set(versions.ASSET_COMPONENTS.values()) <= set(versions.CODE)
    assert versions.produced_by("no_such_asset") == {}
