"""The code location: every asset, check, job, schedule and sensor, with resources for this environment."""

import dagster as dg

from fsdl_data.assets import sources, tables
from fsdl_data.checks.sources import source_checks
from fsdl_data.checks.tables import table_checks
from fsdl_data.config import Settings
from fsdl_data.jobs import ingest_job
from fsdl_data.resources import build_resources

all_assets = dg.load_assets_from_modules([sources, tables])
all_checks = [*source_checks, *table_checks]

defs = dg.Definitions(
    assets=all_assets,
    asset_checks=all_checks,
    jobs=[ingest_job],
    resources=build_resources(Settings.from_env()),
)
