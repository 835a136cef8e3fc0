"""Every lake table's contract (column names and types), in one mapping.

The tables' schemas live beside the code that makes them; this module gathers them so the IO
manager can give an empty window the right columns, and checks and docs can find any of them.
"""

from __future__ import annotations

import polars as pl

from fsdl_data.core.features.definitions import PHOTO_FEATURE_TABLE, USER_FEATURE_TABLE
from fsdl_data.core.features.online import ONLINE_ROWS
from fsdl_data.core.features.served import SERVED_SCHEMA
from fsdl_data.core.labels.active import LABELING_QUEUE
from fsdl_data.core.labels.analysis import LF_ANALYSIS
from fsdl_data.core.labels.consensus import ANNOTATORS, CONSENSUS
from fsdl_data.core.labels.functions import LABELING_FUNCTIONS
from fsdl_data.core.labels.human import HUMAN_LABELS
from fsdl_data.core.labels.issues import LABEL_ISSUES
from fsdl_data.core.labels.labeled_set import LABELED_SET
from fsdl_data.core.tables import schemas

LABEL_MATRIX: dict[str, pl.DataType] = {
    "photo_id": pl.Int64,
    **{lf.name: pl.Int8 for lf in LABELING_FUNCTIONS},
    "classifier_version": pl.String,
}

TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    **schemas.TABLE_SCHEMAS,
    "user_features": USER_FEATURE_TABLE,
    "photo_features": PHOTO_FEATURE_TABLE,
    "online_features": ONLINE_ROWS,
    "served_features": SERVED_SCHEMA,
    "human_labels": HUMAN_LABELS,
    "human_consensus": CONSENSUS,
    "annotator_quality": ANNOTATORS,
    "label_matrix": LABEL_MATRIX,
    "lf_analysis": LF_ANALYSIS,
    "labeled_set": LABELED_SET,
    "labeling_queue": LABELING_QUEUE,
    "label_issues": LABEL_ISSUES,
}
