"""Settings read from the environment, in this one place.

Everything that says *where* data lives is a URL, so the same code runs on a laptop
(`file://`, `sqlite://`) and in production (`s3://`, `postgresql://`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DEFAULT_HOME = ".fsdl"
DEFAULT_START_DATE = "2026-01-01"
CALENDAR_FILE = "calendar.json"  # in FSDL_HOME: the generated world's first and last day


def _file_url(path: Path) -> str:
    return f"file://{path.resolve()}"


@dataclass(frozen=True)
class Settings:
    """Where objects, the lake and the app database live; the calendar of day partitions.

    The calendar is FSDL_START_DATE (the first day of your data) and, optionally,
    FSDL_END_DATE (its last day; open-ended without it, as in production). Without either,
    the calendar that `fsdl-data world seed|append` wrote for the generated world
    ($FSDL_HOME/calendar.json), so the UI shows its days and nothing else; else from 2026-01-01.
    """

    home: Path
    object_store_url: str
    lake_url: str
    app_db_url: str
    start_date: date
    end_date: date | None = None  # the last day partition, inclusive
    # FSDL_WORLD_CLOCK=1: runs publish at a generated world's simulated nightly times instead of
    # the wall clock (fsdl_data/publishing.py); for replaying a generated world only.
    world_clock: bool = False
    # FSDL_ONLINE_STORE_URL: where features are served from: redis://host:port/db, or an
    # app-database URL; unset: the app database itself.
    online_store_url: str | None = None
    # FSDL_PARITY_MIN_ENTITIES: the online_features_parity gate fails when it compares fewer.
    parity_min_entities: int = 10

    @property
    def truth_dir(self) -> Path:
        """The world's hidden truth: for tests and benchmarks only, never read by an asset."""
        return self.home / "truth"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("FSDL_HOME", DEFAULT_HOME))
        start, end = env.get("FSDL_START_DATE"), env.get("FSDL_END_DATE")
        if start is None and end is None:
            start, end = read_calendar(home)
        return cls(
            home=home,
            object_store_url=env.get("FSDL_OBJECT_STORE_URL") or _file_url(home / "objects"),
            lake_url=env.get("FSDL_LAKE_URL") or _file_url(home / "lake"),
            app_db_url=env.get("FSDL_APP_DB_URL") or f"sqlite:///{(home / 'app.db').resolve()}",
            start_date=date.fromisoformat(start or DEFAULT_START_DATE),
            end_date=date.fromisoformat(end) if end else None,
            world_clock=env.get("FSDL_WORLD_CLOCK", "").lower() in ("1", "true", "yes"),
            online_store_url=env.get("FSDL_ONLINE_STORE_URL") or None,
            parity_min_entities=int(env.get("FSDL_PARITY_MIN_ENTITIES") or 10),
        )


def read_calendar(home: Path) -> tuple[str | None, str | None]:
    """(first day, last day) from $FSDL_HOME/calendar.json, or (None, None)."""
    try:
        found = json.loads((home / CALENDAR_FILE).read_text())
        return found["first_day"], found["last_day"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, None


def write_calendar(home: Path, first_day: str, last_day: str) -> Path:
    """Record a world's days as the calendar (written whole, then renamed into place)."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / CALENDAR_FILE
    partial = path.with_name(f".{CALENDAR_FILE}.partial")
    partial.write_text(json.dumps({"first_day": first_day, "last_day": last_day}) + "\n")
    partial.replace(path)
    return path
