"""Group `features`: point-in-time-correct features from core.features.definitions, versioned by
when they were published, and their online copy in the app database."""

import dagster as dg
import polars as pl

from fsdl_data.assets._outputs import picture, plots_at, table
from fsdl_data.assets.sources import refuse_without_data
from fsdl_data.core import plots
from fsdl_data.core.features import definitions as f
from fsdl_data.core.features import online, served
from fsdl_data.core.features.versions import as_known_at, stamp
from fsdl_data.core.tables.preview import markdown_preview
from fsdl_data.partitions import DAILY_FRESHNESS, daily, days_window
from fsdl_data.publishing import PublicationClock, published_at
from fsdl_data.resources import VERSIONED, FeatureStoreResource, ObjectStoreResource

OWNERS = ["team:ml-features"]
DAILY_FEATURES = {"partitions_def": daily, "group_name": "features", "owners": OWNERS}
TRAILING_WEEK = days_window(-(f.USER_FEATURE_WINDOW_DAYS - 1), 0)


def _definitions_markdown(entity: str) -> dg.MarkdownMetadataValue:
    lines = [
        "| feature | aggregation | window | TTL | owner | description |",
        "|---|---|---|---|---|---|",
    ]
    for d in f.features_of(entity):
        how = (
            f"count of `{d.aggregation.event_type}` events"
            if isinstance(d.aggregation, f.CountEvents)
            else "from the row"
        )
        lines.append(
            f"| {d.name} | {how} | {d.window or '-'} | {d.ttl or '-'} | {d.owner} | {d.description} |"
        )
    return dg.MetadataValue.md("\n".join(lines))


@dg.asset(
    **DAILY_FEATURES,
    kinds={"polars", "parquet"},
    freshness_policy=DAILY_FRESHNESS,
    ins={"events": dg.AssetIn(partition_mapping=TRAILING_WEEK), "users": dg.AssetIn()},
    metadata={VERSIONED: f.VERSION_KEYS["user_features"]},
    description="Per user, as known at the end of the day (`as_of`): the user features of "
    "core/features/definitions.py, from the events that arrived in the trailing 7 days. Every "
    "value carries `known_at`, when it was published; a recompute that changes a value adds a "
    "version, the old one stays.",
)
def user_features(
    context: dg.AssetExecutionContext,
    clock: PublicationClock,
    events: pl.DataFrame,
    users: pl.DataFrame,
) -> dg.Output:
    df = stamp(f.user_features(events, users, context.partition_key), published_at(context, clock))
    return table(
        df,
        active_users=int((df["views_7d"] + df["logins_1d"] > 0).sum()),
        known_at=df["known_at"][0].isoformat() if len(df) else "",
        definitions=_definitions_markdown("user"),
    )


@dg.asset(
    **DAILY_FEATURES,
    kinds={"polars", "parquet"},
    freshness_policy=DAILY_FRESHNESS,
    metadata={VERSIONED: f.VERSION_KEYS["photo_features"]},
    description="Per photo posted that day: the photo features of core/features/definitions.py "
    "(posting hour and weekday, title length, location), versioned by `known_at` like "
    "user_features.",
)
def photo_features(
    context: dg.AssetExecutionContext, clock: PublicationClock, photo_metadata: pl.DataFrame
) -> dg.Output:
    df = stamp(f.photo_features(photo_metadata), published_at(context, clock))
    return table(df, definitions=_definitions_markdown("photo"))


@dg.asset(
    **DAILY_FEATURES,
    kinds={"sqlite", "postgres", "redis", "parquet"},
    description="The online store: the day's newest feature versions upserted into the online "
    "store (the app database's `online_features` table, or Redis; one record per entity and "
    "feature), where a record is replaced only by a newer one; as-of rules and TTL are applied "
    "when read (`fsdl-data features get user:123`, `fsdl-data features serve`). The lake "
    "partition keeps what was pushed.",
)
def online_features(
    feature_store: FeatureStoreResource,
    user_features: pl.DataFrame,
    photo_features: pl.DataFrame,
) -> dg.Output:
    rows = pl.concat(
        [
            online.online_rows(as_known_at(user_features, key=["user_id", "as_of"], known_at=f.KNOWN_AT), "user"),
            online.online_rows(as_known_at(photo_features, key=["photo_id"], known_at=f.KNOWN_AT), "photo"),
        ]
    )  # fmt: skip
    with feature_store.connect() as store:
        online.upsert(store, rows)
        served = online.served_sample(store, rows)
    return table(
        rows,
        served=dg.MetadataValue.md(served),
        users=int((rows["entity"] == "user").sum() // max(len(f.USER_FEATURES), 1)),
        photos=int((rows["entity"] == "photo").sum() // max(len(f.PHOTO_FEATURES), 1)),
        database=feature_store.display_url,
    )


@dg.asset(
    **DAILY_FEATURES,
    kinds={"polars", "parquet"},
    description="What the feature server (`fsdl-data features serve`) served on the day (UTC, "
    "by request time): every value with its status, event time and known-at, from the served "
    "log (served_log/date=D/ in the lake). Metadata: per-feature freshness at serve time "
    "(request time minus event time, and minus known-at) as a table and a plot, and how "
    "many requests the server dropped from its log under overload. Its check replays a sample through point-in-time retrieval at the logged request time."
    + plots_at("freshness", "freshness_plot"),
)
def served_features(
    context: dg.AssetExecutionContext, lake: ObjectStoreResource, objects: ObjectStoreResource
) -> dg.Output:
    df = served.read_served(lake.open(), context.partition_key)
    if df.is_empty():  # nothing served and no data that day: publish nothing, say why
        refuse_without_data(context, objects.open())
    fresh = served.freshness(df)
    metadata: dict = {
        "requests": df.select("request_time", "entity", "entity_id").n_unique(),
        # requests the server answered but could not log (its log buffer was full)
        "dropped_requests": served.read_dropped(lake.open(), context.partition_key),
    }
    if not fresh.is_empty():
        metadata["freshness"] = dg.MetadataValue.md(markdown_preview(fresh.with_columns(
            pl.col(pl.Float64).round(2)), rows=len(fresh)))  # fmt: skip
        metadata["freshness_plot"] = picture(plots.serving_freshness(fresh))
        for row in fresh.iter_rows(named=True):
            metadata[f"median_age_h/{row['feature']}"] = float(row["median_age_h"])
    return table(df, **metadata)
