"""Dagster wiring, one module per asset group: each asset loads inputs, calls the core, records metadata."""
