"""Outputs whose Dagster data version is the content of the table, so lineage and snapshots are
reproducible: the same rows give the same version, whichever run wrote them."""

import base64
from typing import Any

import dagster as dg
import polars as pl

from fsdl_data.core.versioning.hashing import frame_digest
from fsdl_data.core.versions import version_of


def table(df: pl.DataFrame, *, version: str | None = None, **metadata: Any) -> dg.Output:
    """The data version is `version` if given (e.g. one that includes the code's source), else
    the content, less `known_at` (when it was published is not what it is: a recompute that
    changes no value keeps its version)."""
    if version is None:
        version = version_of(frame_digest(df.drop("known_at", strict=False)))
    return dg.Output(df, data_version=dg.DataVersion(version), metadata=metadata)


def picture(png: bytes) -> dg.MarkdownMetadataValue:
    """A PNG in the asset's metadata (Markdown with a data URI). Dagster's UI shows Markdown
    inline only under 1,000 characters, so a picture opens with "Show Markdown": the asset's
    description says where (`plots_at`)."""
    return dg.MetadataValue.md(f"![plot](data:image/png;base64,{base64.b64encode(png).decode()})")


def plots_at(*names: str, partitioned: bool = True) -> str:
    """The sentence that ends an asset's description: which metadata entries hold its plots."""
    where = "a partition's materialization" if partitioned else "the latest materialization"
    entries = ", ".join(f"`{name}`" for name in names)
    return f" Plots: {where} → Metadata → {entries} (Show Markdown)."
