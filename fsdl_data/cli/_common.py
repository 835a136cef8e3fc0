"""What every verb needs: settings and stores, opened lazily."""

from __future__ import annotations

from typing import Any


def settings() -> Any:
    from fsdl_data.config import Settings

    return Settings.from_env()


def object_store(s: Any = None) -> Any:
    from fsdl_data.core.storage.objects import open_object_store

    return open_object_store((s or settings()).object_store_url)


def lake(s: Any = None) -> Any:
    from fsdl_data.core.storage.lake import Lake
    from fsdl_data.core.storage.objects import open_object_store

    return Lake(open_object_store((s or settings()).lake_url))


def app_db(s: Any = None) -> Any:
    from fsdl_data.core.storage.appdb import AppDatabase

    return AppDatabase((s or settings()).app_db_url)
