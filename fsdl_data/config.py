"""Settings read from the environment, in this one place.

Everything that says *where* data lives is a URL, so the same code runs on a laptop
(`file://`, `sqlite://`) and in production (`s3://`, `postgresql://`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_HOME = ".fsdl"
DEFAULT_START_DATE = "2026-01-01"


def _file_url(path: Path) -> str:
    return f"file://{path.resolve()}"


@dataclass(frozen=True)
class Settings:
    """Where objects, the lake and the app database live; when the world's calendar starts."""

    home: Path
    object_store_url: str
    lake_url: str
    app_db_url: str
    start_date: date

    @property
    def truth_dir(self) -> Path:
        """The world's hidden truth: for tests and benchmarks only, never read by an asset."""
        return self.home / "truth"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("FSDL_HOME", DEFAULT_HOME))
        return cls(
            home=home,
            object_store_url=env.get("FSDL_OBJECT_STORE_URL") or _file_url(home / "objects"),
            lake_url=env.get("FSDL_LAKE_URL") or _file_url(home / "lake"),
            app_db_url=env.get("FSDL_APP_DB_URL") or f"sqlite:///{(home / 'app.db').resolve()}",
            start_date=date.fromisoformat(env.get("FSDL_START_DATE", DEFAULT_START_DATE)),
        )
