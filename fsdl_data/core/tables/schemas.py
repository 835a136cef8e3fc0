"""The contract of every lake table: column names and Polars types.

Asset checks compare materialized tables against these; cleaning code casts to them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

EVENT_TYPES: tuple[str, ...] = ("login", "post", "view", "like")
PHOTO_EVENT_TYPES = frozenset({"post", "view", "like"})
UTC_TS = pl.Datetime("us", "UTC")

RAW_PHOTOS = {
    "key": pl.String,
    "photo_id": pl.Int64,
    "etag": pl.String,
    "version_id": pl.String,
    "size": pl.Int64,
    "sha256": pl.String,
    "width": pl.Int32,
    "height": pl.Int32,
    "decode_error": pl.String,
}
PHOTO_PIXELS = {
    "photo_id": pl.Int64,
    "key": pl.String,
    "thumbnail": pl.Binary,  # IMAGE_SIZE x IMAGE_SIZE x 3 uint8, row-major RGB
    "brightness": pl.Float64,
    "dark_share": pl.Float64,
    "top_blue": pl.Float64,
    "center_skin": pl.Float64,
    "center_white": pl.Float64,
    "colors": pl.Int64,
}
PHOTO_METADATA = {
    "photo_id": pl.Int64,
    "user_id": pl.Int64,
    "title": pl.String,
    "location": pl.String,
    "posted_at": UTC_TS,
    "object_key": pl.String,
    "updated_at": UTC_TS,
}
USERS = {
    "user_id": pl.Int64,
    "username": pl.String,
    "country": pl.String,
    "signup_at": UTC_TS,
    "updated_at": UTC_TS,
}
PHOTO_METADATA_QUARANTINE = {
    "photo_id": pl.Int64,  # null when the row's own id is missing or not an integer
    "reason": pl.String,
    "detail": pl.String,
    "raw": pl.String,  # the row as read, for a person to look at
}
RAW_EVENTS = {"source_key": pl.String, "line_no": pl.Int64, "raw": pl.Binary}
EVENTS = {
    "event_id": pl.String,
    "event_type": pl.String,
    "user_id": pl.Int64,
    "photo_id": pl.Int64,
    "ts": UTC_TS,
    "client": pl.String,
    "source_key": pl.String,
    "line_no": pl.Int64,
}
QUARANTINE = {
    "source_key": pl.String,
    "line_no": pl.Int64,
    "reason": pl.String,
    "detail": pl.String,
    "raw": pl.String,
}


def empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def conform(rows: list[dict], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows as a DataFrame with exactly the schema's columns, in its order and types."""
    if not rows:
        return empty(schema)
    df = pl.DataFrame(rows, infer_schema_length=None)
    return df.select(
        [
            (pl.col(c) if c in df.columns else pl.lit(None)).cast(t).alias(c)
            for c, t in schema.items()
        ]
    )


def from_columns(columns: dict[str, Sequence], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A DataFrame built column by column (no row dicts), in the schema's order and types; a
    column `columns` lacks is all NULL."""
    height = len(next(iter(columns.values()), ()))
    return pl.DataFrame(
        [
            pl.Series(name, columns[name], dtype=dtype)
            if name in columns
            else pl.Series(name, [None] * height, dtype=dtype)
            for name, dtype in schema.items()
        ]
    )


# --- features, vision, labels, datasets -------------------------------------------------------
CONTENT_CLASSES: tuple[str, ...] = (
    "landscape",
    "food",
    "portrait",
    "city",
    "pattern",
)  # the label taxonomy
PHOTO_CLASSIFICATIONS = {
    "photo_id": pl.Int64,
    "key": pl.String,
    **{f"p_{c}": pl.Float32 for c in CONTENT_CLASSES},
    "predicted_class": pl.String,
    "style_score": pl.Float32,
    "classifier_version": pl.String,
}
POPULARITY_LABELS = {"photo_id": pl.Int64, "posted_at": UTC_TS, "likes_24h": pl.Int64}

# Tables whose empty partitions must still carry their columns (inputs mapped to no partition).
TABLE_SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "raw_photos": RAW_PHOTOS,
    "photo_pixels": PHOTO_PIXELS,
    "photo_metadata": PHOTO_METADATA,
    "photo_metadata_quarantine": PHOTO_METADATA_QUARANTINE,
    "users": USERS,
    "raw_events": RAW_EVENTS,
    "events": EVENTS,
    "events_quarantine": QUARANTINE,
    "photo_classifications": PHOTO_CLASSIFICATIONS,
    "popularity_labels": POPULARITY_LABELS,
}
