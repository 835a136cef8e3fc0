"""The domain core: plain Python with no Dagster import, unit-tested alone."""
