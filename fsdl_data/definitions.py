"""The code location: every asset, check, job, schedule and sensor, with resources for this
environment, built from one `Settings` (`build_definitions`). `defs` is what `dagster dev` and
workspace.yaml load: the environment is read once, here, when the definitions load."""

import dagster as dg

from fsdl_data import _quiet  # noqa: F401  (first: before the modules that use beta APIs)
from fsdl_data.assets import (
    datasets,
    features,
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
from fsdl_data.executors import executor_for
from fsdl_data.jobs import (
    features_job,
    import_labels_job,
    ingest_events_job,
    ingest_job,
    ingest_photos_job,
    nightly_job,
)
from fsdl_data.partitions import bind_calendar, daily_partitions
from fsdl_data.resources import build_resources
from fsdl_data.schedules import nightly_schedule
from fsdl_data.sensors import object_sensors
from fsdl_data.versions import with_code_versions

# every asset links to the code that defines it (shown on its page in the UI); the calendar
# (`partitions.daily`) is bound per Settings in build_definitions
ASSETS = dg.with_source_code_references(
    with_code_versions(
        [
            *dg.load_assets_from_modules([sources, tables, features, vision, datasets, models]),
            *dg.load_assets_from_package_module(labels),  # a package: one module per kind of label
        ]
    )
)
# every check defined in the check modules, found rather than listed by hand
CHECKS = dg.load_asset_checks_from_modules(
    [source_checks, table_checks, feature_checks, label_checks, vision_checks, dataset_checks]
)


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything, for the deployment `settings` describe: its calendar of days, stores,
    executor and sensor interval."""
    calendar = daily_partitions(settings)
    return dg.Definitions(
        assets=bind_calendar(ASSETS, calendar),
        asset_checks=bind_calendar(CHECKS, calendar),
        jobs=[
            ingest_job,
            ingest_photos_job,
            ingest_events_job,
            import_labels_job,
            features_job,
            nightly_job,
        ],
        schedules=[nightly_schedule(calendar)],
        sensors=object_sensors(calendar, settings.sensor_interval_s),
        executor=executor_for(settings),
        resources=build_resources(settings),
    )


SETTINGS = Settings.from_env()
defs = build_definitions(SETTINGS)
# The assets and checks of `defs` (this environment's calendar), for tests and benchmarks that
# materialize a selection of them with their own resources.
all_assets = list(defs.assets or [])
all_checks = list(defs.asset_checks or [])
