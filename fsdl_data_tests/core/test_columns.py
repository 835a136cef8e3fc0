"""core.columns: a column's description comes from its feature definition, the glossary, the
class it scores, or its labeling function's docstring, in that order; none is None."""

from __future__ import annotations

from fsdl_data.core.columns import COLUMNS, column_description
from fsdl_data.core.features.definitions import FEATURES
from fsdl_data.core.labels.functions import LABELING_FUNCTIONS


def test_each_kind_of_column_is_described_from_its_one_source() -> None:
    feature = FEATURES[0]
    assert column_description(feature.name) == feature.description
    assert column_description("photo_id") == COLUMNS["photo_id"]
    assert column_description("p_food") == "The classifier's probability that the photo is food."
    function = LABELING_FUNCTIONS[0]
    described = column_description(function.name)
    assert described is not None and described.startswith(
        f"Vote of labeling function {function.name}"
    )
    assert "\n" not in described
    assert column_description("no_such_column") is None


def test_a_feature_definition_wins_over_the_glossary() -> None:
    shadowed = [f for f in FEATURES if f.name in COLUMNS]
    for feature in shadowed:
        assert column_description(feature.name) == feature.description
