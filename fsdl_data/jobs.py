"""Jobs: named selections of the graph, run from the UI, schedules and the CLI."""

import dagster as dg

INGESTED = dg.AssetSelection.groups("sources", "tables")  # what a day's ingest builds

ingest_job = dg.define_asset_job(
    "ingest",
    selection=INGESTED,
    description="Source the day's photos, app-database rows and event logs; clean them into tables.",
)

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Everything for one finished day: ingest, features, classifier and its outputs, the labels "
    "that became known that day, the training set, a new snapshot and a retrained, gated model.",
)

features_job = dg.define_asset_job(
    "features",
    selection=dg.AssetSelection.groups("features"),
    description="The day's user and photo features and their online copy, with their checks: a "
    "backfill after a fix (`fsdl-data materialize --day D --job features`) publishes a new "
    "version known from now on.",
)

ingest_photos_job = dg.define_asset_job(
    "ingest_photos",
    selection=dg.AssetSelection.assets("raw_photos", "photo_pixels"),
    description="Source the day's photo objects (run by the new_photo_objects sensor).",
)

ingest_events_job = dg.define_asset_job(
    "ingest_events",
    # `users` too: the blocking check events_users_exist reads the day's users, which a job of
    # the logs alone would never build (every sensor run would fail on a missing partition)
    selection=(dg.AssetSelection.assets("raw_events").downstream(depth=1) & INGESTED)
    | dg.AssetSelection.assets("users"),
    description="Source the day's event logs and the users they name, and clean the events (run "
    "by the new_log_objects sensor).",
)

import_labels_job = dg.define_asset_job(
    "import_labels",
    selection=dg.AssetSelection.assets("human_labels").downstream()
    & dg.AssetSelection.groups("labels"),
    description="Read the Label Studio exports for a day's photos again, and everything in the "
    "labels group that follows (consensus, annotator quality, labeled set, labeling queue); "
    "run by the new_label_exports sensor.",
)
