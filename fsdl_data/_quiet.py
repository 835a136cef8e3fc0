"""Imported first by the code location (fsdl_data.definitions): Dagster flags each beta/preview
API we use deliberately (partition mappings, check specs, code references) once per use, about
55 lines in each process `make dev` starts, that no user can act on. Only those two categories
are filtered; every other warning and every error still shows."""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
