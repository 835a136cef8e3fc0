"""Feature definitions as data: the same definitions compute features for training and serving.

Each feature names its entity, the asset it is computed from, how (an aggregation), over which
window, how long a value stays usable (TTL), its owner, what it means and how the popularity
model reads it. Everything else is derived from these definitions: the tables `user_features`
and `photo_features` and their contracts, the column docs (core/columns.py), the version keys,
the online store's rows and as-of reads (TTL per feature), the parity gate, the training set
(TTL per feature) and the model's inputs (core/modeling/popularity.py). Adding a feature is one
definition here plus a test (fsdl_data_tests/core/test_pit_and_features.py proves a feature
added in a test flows to all of them).

Every value carries two times: its event time (the moment it describes: `as_of` for a user, the
end of the day whose events it counts; `posted_at` for a photo) and its known-at time (when the
pipeline published it, stamped on materialization; a recompute is a new version with a later
known-at time, and the old version stays readable). A user feature for day D uses only events
with ts < as_of = D+1 00:00 UTC; retrieval (pit.py) picks, for a moment t, the newest value with
as_of <= t and known_at <= t, or null when older than its TTL.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import polars as pl

from fsdl_data.core.calendar import DAY, day_start

OWNER = "team:ml-features"
USER_TTL = timedelta(days=2)  # a day's user features, and a day's grace when a night is missed


@dataclass(frozen=True)
class CountEvents:
    """How many events of one type the entity caused in the window before the event time."""

    event_type: str


@dataclass(frozen=True, eq=False)
class FromRow:
    """A value computed from the entity's own row of the source table."""

    expression: Callable[[], pl.Expr]


@dataclass(frozen=True)
class LogCount:
    """A model input: log(1 + count), a missing count as 0."""

    def columns(self, name: str) -> dict[str, pl.Expr]:
        return {name: pl.col(name).fill_null(0).cast(pl.Float64).log1p()}


@dataclass(frozen=True)
class Cyclic:
    """A model input: a value on a circle of `period` (an hour, a weekday) as its sine and cosine."""

    period: int

    def columns(self, name: str) -> dict[str, pl.Expr]:
        angle = pl.col(name).cast(pl.Float64) * (2 * math.pi / self.period)
        return {f"{name}_sin": angle.sin(), f"{name}_cos": angle.cos()}


@dataclass(frozen=True)
class Scaled:
    """A model input: the value divided by a typical size."""

    by: float

    def columns(self, name: str) -> dict[str, pl.Expr]:
        return {name: pl.col(name).cast(pl.Float64) / self.by}


ModelInput = LogCount | Cyclic | Scaled


@dataclass(frozen=True, eq=False)
class FeatureDefinition:
    name: str
    entity: str  # "user" or "photo"
    source: str  # the asset it is computed from
    aggregation: CountEvents | FromRow
    window: timedelta | None  # how far back the aggregation looks; None: the row itself
    ttl: timedelta | None  # how long a value stays usable after its event time; None: forever
    owner: str
    description: str
    dtype: pl.DataType
    model_input: ModelInput | None = None  # how the popularity model reads it; None: it does not


FEATURES: tuple[FeatureDefinition, ...] = (
    FeatureDefinition(
        "logins_1d", "user", "events", CountEvents("login"), DAY, USER_TTL, OWNER,
        "Logins in the day before as_of.", pl.Int64(), LogCount(),
    ),
    FeatureDefinition(
        "views_7d", "user", "events", CountEvents("view"), 7 * DAY, USER_TTL, OWNER,
        "Photos the user viewed in the 7 days before as_of.", pl.Int64(), LogCount(),
    ),
    FeatureDefinition(
        "likes_7d", "user", "events", CountEvents("like"), 7 * DAY, USER_TTL, OWNER,
        "Likes the user gave in the 7 days before as_of.", pl.Int64(), LogCount(),
    ),
    FeatureDefinition(
        "posts_1d", "user", "events", CountEvents("post"), DAY, USER_TTL, OWNER,
        "Photos the user posted in the day before as_of.", pl.Int64(), LogCount(),
    ),
    FeatureDefinition(
        "post_hour", "photo", "photo_metadata",
        FromRow(lambda: pl.col("posted_at").dt.hour().cast(pl.Int32)), None, None, OWNER,
        "Hour of posting, UTC (0-23).", pl.Int32(), Cyclic(24),
    ),
    FeatureDefinition(
        "post_weekday", "photo", "photo_metadata",
        FromRow(lambda: pl.col("posted_at").dt.weekday().cast(pl.Int32)), None, None, OWNER,
        "Weekday of posting, UTC (1 = Monday).", pl.Int32(),
    ),
    FeatureDefinition(
        "title_length", "photo", "photo_metadata",
        FromRow(lambda: pl.col("title").str.len_chars().cast(pl.Int32)), None, None, OWNER,
        "Characters in the title, hashtags included.", pl.Int32(), Scaled(40),
    ),
    FeatureDefinition(
        "location", "photo", "photo_metadata", FromRow(lambda: pl.col("location")), None, None,
        OWNER, "Where the photo says it was taken.", pl.String(),
    ),
)  # fmt: skip

ENTITY_KEY = {"user": "user_id", "photo": "photo_id"}
EVENT_TIME = {"user": "as_of", "photo": "posted_at"}
KNOWN_AT = "known_at"


def features_of(entity: str) -> tuple[FeatureDefinition, ...]:
    """The entity's features, read from FEATURES at call time (a test may add one)."""
    return tuple(f for f in FEATURES if f.entity == entity)


def model_input_columns() -> dict[str, pl.Expr]:
    """The popularity model's inputs from the features: each definition's model input, encoded
    as it says, in definition order."""
    columns: dict[str, pl.Expr] = {}
    for feature in FEATURES:
        if feature.model_input is not None:
            columns.update(feature.model_input.columns(feature.name))
    return columns


def definition(name: str) -> FeatureDefinition:
    for feature in FEATURES:
        if feature.name == name:
            return feature
    raise LookupError(f"no feature named {name!r}: see fsdl_data/core/features/definitions.py")


USER_FEATURES = tuple(f.name for f in features_of("user"))
PHOTO_FEATURES = tuple(f.name for f in features_of("photo"))
UTC_TS = pl.Datetime("us", "UTC")

# The tables' contracts, built from the definitions.
USER_FEATURE_TABLE: dict[str, pl.DataType] = {
    "user_id": pl.Int64(),
    "feature_date": pl.Date(),
    "as_of": UTC_TS,
    **{f.name: f.dtype for f in features_of("user")},
    "max_event_ts": UTC_TS,
    KNOWN_AT: UTC_TS,
}
PHOTO_FEATURE_TABLE: dict[str, pl.DataType] = {
    "photo_id": pl.Int64(),
    "user_id": pl.Int64(),
    "posted_at": UTC_TS,
    **{f.name: f.dtype for f in features_of("photo")},
    KNOWN_AT: UTC_TS,
}
# How each table's versions are told apart: the key (entity and event time) and known_at.
VERSION_KEYS = {"user_features": ["user_id", "as_of"], "photo_features": ["photo_id"]}
USER_FEATURE_WINDOW_DAYS = max(f.window for f in features_of("user")).days  # type: ignore[type-var]


def longest_ttl(entity: str) -> timedelta | None:
    """The longest TTL of an entity's features (None: some never expire): how far back a
    point-in-time read must look."""
    ttls = [f.ttl for f in features_of(entity)]
    return None if None in ttls else max(ttls)  # type: ignore[type-var]


def _days(ttl: timedelta | None) -> int:
    if ttl is None:
        raise ValueError("every user feature needs a ttl: training reads that many days back")
    return -(-ttl // DAY)


USER_TTL_DAYS = _days(longest_ttl("user"))  # day partitions a user feature stays usable over


def _count(feature: FeatureDefinition, as_of: datetime) -> pl.Expr:
    assert isinstance(feature.aggregation, CountEvents) and feature.window is not None
    in_window = pl.col("ts") >= as_of - feature.window
    return (
        ((pl.col("event_type") == feature.aggregation.event_type) & in_window)
        .sum()
        .alias(feature.name)
    )


def user_features(events: pl.DataFrame, users: pl.DataFrame, day: str) -> pl.DataFrame:
    """Per user known by the end of `day`: every user feature, as of D+1 00:00 UTC.

    `events` may span any arrival partitions; only events with ts in each feature's window
    count. `max_event_ts` is the newest event that fed the row, kept so leakage can be proven
    absent.
    """
    as_of = day_start(day) + DAY
    names = [f.name for f in features_of("user")]
    widest = as_of - max(f.window for f in features_of("user"))  # type: ignore[type-var]
    recent = events.filter((pl.col("ts") >= widest) & (pl.col("ts") < as_of))
    counts = recent.group_by("user_id").agg(
        *[_count(f, as_of) for f in features_of("user")],
        pl.col("ts").max().alias("max_event_ts"),
    )
    return (
        users.select("user_id")
        .unique()
        .join(counts, on="user_id", how="left")
        .with_columns(
            *[pl.col(f.name).fill_null(0).cast(f.dtype) for f in features_of("user")],
            pl.lit(date.fromisoformat(day)).alias("feature_date"),
            pl.lit(as_of).cast(pl.Datetime("us", "UTC")).alias("as_of"),
        )
        .select("user_id", "feature_date", "as_of", *names, "max_event_ts")
        .sort("user_id")
    )


def photo_features(photo_metadata: pl.DataFrame) -> pl.DataFrame:
    """Per photo: every photo feature, its event time the moment it was posted."""
    rows = []
    for feature in features_of("photo"):
        assert isinstance(feature.aggregation, FromRow)
        rows.append(feature.aggregation.expression().cast(feature.dtype).alias(feature.name))
    return photo_metadata.select("photo_id", "user_id", "posted_at", *rows).sort("photo_id")
