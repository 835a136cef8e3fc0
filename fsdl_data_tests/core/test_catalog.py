"""The catalog of lake tables: every schema it lists is the one the code that makes the table
produces, so an empty window read through it has the real columns and types."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from fsdl_data.core.catalog import LABEL_MATRIX, TABLE_SCHEMAS
from fsdl_data.core.labels import functions
from fsdl_data.core.labels.consensus import CONSENSUS
from fsdl_data.core.labels.labeled_set import LABELED_SET, label_day
from fsdl_data.core.tables import schemas


def test_every_table_has_a_schema_of_polars_types() -> None:
    assert set(schemas.TABLE_SCHEMAS) <= set(TABLE_SCHEMAS)  # the source tables are in it
    for name, schema in TABLE_SCHEMAS.items():
        assert schema, name
        frame = pl.DataFrame(schema=schema)  # an empty window with these columns
        assert frame.columns == list(schema) and frame.is_empty()


@pytest.mark.parametrize("seed", [0, 1])
def test_the_label_tables_are_what_the_core_makes(seed: int) -> None:
    """The label matrix and the labeled set, made by the core from random inputs, have exactly
    the catalog's columns and types (a labeling function added is a column of both)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 10))
    metadata = pl.DataFrame({"photo_id": np.arange(1, n + 1), "title": ["Today"] * n,
                             "location": ["Berlin"] * n})  # fmt: skip
    pixels = pl.DataFrame({"photo_id": []}, schema={"photo_id": pl.Int64})
    matrix = functions.label_matrix(metadata, pixels, None, None)
    assert matrix.schema == pl.Schema(LABEL_MATRIX)
    assert TABLE_SCHEMAS["label_matrix"] == LABEL_MATRIX
    names = [lf.name for lf in functions.LABELING_FUNCTIONS]
    day = date(2026, 1, 1)
    result = label_day(matrix.with_columns(pl.lit(day).alias("day")), pl.DataFrame(schema=CONSENSUS),
                       day, names, ("landscape", "food"), "lf", seed)  # fmt: skip
    assert result.table.schema == pl.Schema(LABELED_SET) == pl.Schema(TABLE_SCHEMAS["labeled_set"])
