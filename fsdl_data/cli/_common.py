"""What every verb needs: the settings this invocation started with, the definitions built
from them, and stores, opened lazily."""

from __future__ import annotations

from typing import Any

_chosen: dict[str, Any] = {}


def settings() -> Any:
    """The Settings of this invocation: read from the environment on first use (the CLI's
    start), unless a verb chose its own (`use_settings`)."""
    from fsdl_data.config import Settings

    if "settings" not in _chosen:
        _chosen["settings"] = Settings.from_env()
    return _chosen["settings"]


def use_settings(chosen: Any) -> None:
    """Make `chosen` this invocation's settings (a verb's flags, e.g. `check --home`)."""
    _chosen.clear()
    _chosen["settings"] = chosen


def definitions() -> Any:
    """The Dagster definitions for this invocation's settings (the code location's own `defs`
    when they are the environment's, so they are built once)."""
    from fsdl_data import definitions as location

    if settings() == location.SETTINGS:
        return location.defs
    if "definitions" not in _chosen:
        _chosen["definitions"] = location.build_definitions(settings())
    return _chosen["definitions"]


def open_store(url: str, s: Any = None) -> Any:
    """The object store at `url`, an S3 one with the settings' endpoint, timeouts and retries."""
    from fsdl_data.core.storage.objects import open_object_store

    s = s or settings()
    s3 = {
        "endpoint_url": s.s3_endpoint_url,
        "region_name": s.s3_region,
        "connect_timeout": s.s3_connect_timeout_s,
        "read_timeout": s.s3_read_timeout_s,
        "max_attempts": s.s3_max_attempts,
    }
    return open_object_store(url, {"s3": s3})


def object_store(s: Any = None) -> Any:
    return open_store((s or settings()).object_store_url, s)


def lake(s: Any = None) -> Any:
    from fsdl_data.core.storage.lake import Lake

    return Lake(open_store((s or settings()).lake_url, s))


def app_db(s: Any = None) -> Any:
    from fsdl_data.core.storage.appdb import AppDatabase

    return AppDatabase((s or settings()).app_db_url)


def at_least_one(text: str) -> int:
    """An argparse type for counts that cannot be zero (--days, --users): `--days 0` would
    otherwise seed, append or check nothing and still exit 0."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"give a whole number of at least 1, not {text!r}")
    return value
