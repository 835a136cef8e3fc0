"""fsdl_data: a data platform for deep learning, built as a Dagster asset graph."""

__version__ = "0.1.0"
