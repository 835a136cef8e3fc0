"""The code location: every asset, check, job, schedule and sensor, with resources for this environment."""

import dagster as dg

from fsdl_data.assets import (
    datasets,
    features,
    labeling,
    labels,
    models,
    sources,
    tables,
    vision,
)
from fsdl_data.checks import datasets as dataset_checks
from fsdl_data.checks import features as feature_checks
from fsdl_data.checks import labels as label_checks
from fsdl_data.checks import sources as source_checks
from fsdl_data.checks import tables as table_checks
from fsdl_data.checks import vision as vision_checks
from fsdl_data.config import Settings
from fsdl_data.executors import executor_from_env
from fsdl_data.jobs import (
    features_job,
    import_labels_job,
    ingest_events_job,
    ingest_job,
    ingest_photos_job,
    nightly_job,
)
from fsdl_data.resources import build_resources
from fsdl_data.schedules import nightly
from fsdl_data.sensors import object_sensors
from fsdl_data.versions import with_code_versions

# every asset links to the code that defines it (shown on its page in the UI)
all_assets = dg.with_source_code_references(
    with_code_versions(
        dg.load_assets_from_modules(
            [sources, tables, features, labels, labeling, vision, datasets, models]
        )
    )
)
# every check defined in the check modules, found rather than listed by hand
all_checks = dg.load_asset_checks_from_modules(
    [source_checks, table_checks, feature_checks, label_checks, vision_checks, dataset_checks]
)

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[
        ingest_job,
        ingest_photos_job,
        ingest_events_job,
        import_labels_job,
        features_job,
        nightly_job,
    ],
    schedules=[nightly],
    sensors=object_sensors,
    executor=executor_from_env(),
    resources=build_resources(Settings.from_env()),
)
