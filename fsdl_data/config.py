"""Settings: every environment variable the project reads, read here, once, and passed down.

The definitions (`fsdl_data.definitions.build_definitions`) and the CLI build one `Settings`
when they start and hand its fields to what needs them: the core takes them as arguments and
never reads the environment. Everything that says *where* data lives is a URL, so the same code
runs on a laptop (`file://`, `sqlite://`) and in production (`s3://`, `postgresql://`).
`Settings.variables()` lists every variable with its default and what it means
(docs/configuration.md is generated from it: `python -m fsdl_data.config`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

DEFAULT_HOME = ".fsdl"
DEFAULT_START_DATE = "2026-01-01"
CALENDAR_FILE = "calendar.json"  # in FSDL_HOME: the generated world's first and last day
EXECUTORS = ("multiprocess", "celery", "k8s")
# Secrets: Settings records only whether they are set; Dagster reads them as EnvVar, so it
# never stores or shows their values.
AWS_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass(frozen=True)
class Variable:
    """One environment variable: the Settings field it fills, its default, what it means."""

    name: str
    field: str
    default: str
    description: str


def _about(env: str, description: str, shown: str | None = None) -> dict[str, Any]:
    """A Settings field's metadata: read from `env` (`shown`: its default as the docs say it)."""
    return {"env": env, "description": description, "shown": shown}


def _whole(name: str, text: str, minimum: int = 0) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"{name}={text!r}: give a whole number, at least {minimum}")
    return value


def _seconds(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{name}={text!r}: give a number of seconds above 0")
    return value


def _day(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: give a day as YYYY-MM-DD") from None


def _flag(name: str, text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise ValueError(f"{name}={text!r}: give 1 or 0")


def _choice(name: str, text: str) -> str:
    if text not in EXECUTORS:
        raise ValueError(f"{name}={text!r}: choose one of {', '.join(EXECUTORS)}")
    return text


def _file_url(path: Path) -> str:
    return f"file://{path.resolve()}"


@dataclass(frozen=True)
class Settings:
    """Where objects, the lake and the app database live; the calendar of day partitions; how
    steps run (executor, torch threads, sensor interval); how S3 calls wait and retry.

    The calendar is FSDL_START_DATE (the first day of your data) and, optionally,
    FSDL_END_DATE (its last day; open-ended without it, as in production). Without either,
    the calendar that `fsdl-data world seed|append` wrote for the generated world
    ($FSDL_HOME/calendar.json), so the UI shows its days and nothing else; else from 2026-01-01.
    """

    home: Path = field(
        default=Path(DEFAULT_HOME),
        metadata=_about(
            "FSDL_HOME",
            "the folder of the embedded default (objects, lake, app "
            "database, Dagster logs, the world's calendar)",
            shown=DEFAULT_HOME,
        ),
    )
    object_store_url: str = field(
        default="",
        metadata=_about(
            "FSDL_OBJECT_STORE_URL",
            "where raw objects (photos, event logs, label exports) "
            "land: file://<dir> or s3://<bucket>/<prefix>",
            shown="file://$FSDL_HOME/objects",
        ),
    )
    lake_url: str = field(
        default="",
        metadata=_about(
            "FSDL_LAKE_URL",
            "where the lake's Parquet tables, snapshots and models live: "
            "file://<dir> or s3://<bucket>/<prefix>",
            shown="file://$FSDL_HOME/lake",
        ),
    )
    app_db_url: str = field(
        default="",
        metadata=_about(
            "FSDL_APP_DB_URL",
            "the photo app's database: sqlite:///<file> or "
            "postgresql://... (passed to Dagster as a secret)",
            shown="sqlite:///$FSDL_HOME/app.db",
        ),
    )
    start_date: date = field(
        default=date.fromisoformat(DEFAULT_START_DATE),
        metadata=_about(
            "FSDL_START_DATE",
            "the first day partition",
            shown=f"the world's first day ($FSDL_HOME/{CALENDAR_FILE}), else {DEFAULT_START_DATE}",
        ),
    )
    end_date: date | None = field(
        default=None,
        metadata=_about(
            "FSDL_END_DATE",
            "the last day partition, inclusive",
            shown="the world's last day with no FSDL_START_DATE, else open-ended",
        ),
    )
    executor: str = field(
        default="multiprocess",
        metadata=_about("FSDL_EXECUTOR", f"how steps run: {', '.join(EXECUTORS)}"),
    )
    celery_broker: str = field(
        default="pyamqp://guest:guest@127.0.0.1:5672//",
        metadata=_about("FSDL_CELERY_BROKER", "the Celery broker, with FSDL_EXECUTOR=celery"),
    )
    sensor_interval_s: int = field(
        default=30,
        metadata=_about(
            "FSDL_SENSOR_INTERVAL_S", "seconds between ticks of the object and export sensors"
        ),
    )
    torch_threads: int | None = field(
        default=None,
        metadata=_about(
            "FSDL_TORCH_THREADS",
            "torch threads per step (an explicit count wins)",
            shown="the cores that what runs beside the step leaves",
        ),
    )
    parallel_steps: int | None = field(
        default=None,
        metadata=_about(
            "FSDL_PARALLEL_STEPS",
            "steps sharing this machine's cores, to divide them evenly",
            shown="measured: the run's executing steps and the cores other work keeps busy",
        ),
    )
    s3_endpoint_url: str | None = field(
        default=None,
        metadata=_about(
            "AWS_ENDPOINT_URL", "an S3-compatible endpoint (MinIO, moto)", shown="AWS's"
        ),
    )
    s3_region: str | None = field(
        default=None,
        metadata=_about(
            "AWS_REGION",
            "the S3 region (AWS_DEFAULT_REGION is read when this is unset)",
            shown="boto3's",
        ),
    )
    s3_connect_timeout_s: float = field(
        default=5.0,
        metadata=_about("FSDL_S3_CONNECT_TIMEOUT_S", "seconds an S3 call waits to connect"),
    )
    s3_read_timeout_s: float = field(
        default=30.0,
        metadata=_about(
            "FSDL_S3_READ_TIMEOUT_S", "seconds an S3 call waits for data (then it is retried)"
        ),
    )
    s3_max_attempts: int = field(
        default=5,
        metadata=_about(
            "FSDL_S3_MAX_ATTEMPTS",
            "attempts per S3 call (botocore's standard retries, exponential backoff with jitter)",
        ),
    )
    dagster_home: Path | None = field(
        default=None,
        metadata=_about(
            "DAGSTER_HOME",
            "the Dagster instance the CLI runs on",
            shown="./dagster.yaml's folder if there is one, else an ephemeral instance",
        ),
    )
    world_clock: bool = field(
        default=False,
        metadata=_about(
            "FSDL_WORLD_CLOCK",
            "1: runs publish at a generated world's simulated nightly times instead of the wall "
            "clock (fsdl_data/publishing.py); for replaying a generated world only",
        ),
    )
    online_store_url: str | None = field(
        default=None,
        metadata=_about(
            "FSDL_ONLINE_STORE_URL",
            "where features are served from: redis://host:port/db, or an app-database URL",
            shown="the app database itself",
        ),
    )
    parity_min_entities: int = field(
        default=10,
        metadata=_about(
            "FSDL_PARITY_MIN_ENTITIES",
            "the online_features_parity gate fails when it compares fewer entities",
        ),
    )
    dagster_url: str = field(
        default="http://127.0.0.1:3000",
        metadata=_about(
            "FSDL_DAGSTER_URL",
            "the running Dagster UI (`make dev`) that `fsdl-data world append` asks to reload its "
            "code, so the sensors see the new day on their next tick; `off`: never ask",
        ),
    )
    aws_credentials: tuple[str, ...] = field(default=(), metadata={"secret": True})
    """The AWS_* credential variables that are set (names only: Dagster reads them as EnvVar)."""
    app_db_url_is_secret: bool = field(default=False, metadata={"secret": True})
    """FSDL_APP_DB_URL came from the environment: Dagster reads it as EnvVar (it may hold a
    password)."""

    def __post_init__(self) -> None:
        home = Path(self.home)
        object.__setattr__(self, "home", home)
        defaults = {
            "object_store_url": _file_url(home / "objects"),
            "lake_url": _file_url(home / "lake"),
            "app_db_url": f"sqlite:///{(home / 'app.db').resolve()}",
        }
        for name, default in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, default)

    @property
    def truth_dir(self) -> Path:
        """The world's hidden truth: for tests and benchmarks only, never read by an asset."""
        return self.home / "truth"

    @classmethod
    def variables(cls) -> list[Variable]:
        """Every environment variable Settings reads, in field order."""
        out = []
        for spec in dataclasses.fields(cls):
            if "env" not in spec.metadata:
                continue
            shown = spec.metadata["shown"]
            default = shown if shown is not None else str(spec.default)
            out.append(
                Variable(spec.metadata["env"], spec.name, default, spec.metadata["description"])
            )
        return out

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `env` (default: this process's environment); `overrides` (a CLI's
        flags) win. A malformed value is a ValueError naming the variable and what to give."""
        env = dict(os.environ if env is None else env)
        parsers: dict[str, Callable[[str, str], Any]] = {
            "home": lambda _, text: Path(text),
            "start_date": _day,
            "end_date": _day,
            "executor": _choice,
            "sensor_interval_s": lambda name, text: _whole(name, text, 1),
            "torch_threads": lambda name, text: _whole(name, text, 1),
            "parallel_steps": lambda name, text: _whole(name, text, 1),
            "s3_connect_timeout_s": _seconds,
            "s3_read_timeout_s": _seconds,
            "s3_max_attempts": lambda name, text: _whole(name, text, 1),
            "dagster_home": lambda _, text: Path(text),
            "world_clock": _flag,
            "parity_min_entities": lambda name, text: _whole(name, text, 0),
        }
        values: dict[str, Any] = {}
        for variable in cls.variables():
            text = env.get(variable.name)
            if variable.field == "s3_region":
                text = text or env.get("AWS_DEFAULT_REGION")
            if text:
                parse = parsers.get(variable.field, lambda _, text: text)
                values[variable.field] = parse(variable.name, text)
        values.update(overrides)
        if "start_date" not in values and "end_date" not in values:
            first, last = read_calendar(Path(values.get("home", DEFAULT_HOME)))
            if first and last:
                values["start_date"] = _day(CALENDAR_FILE, first)
                values["end_date"] = _day(CALENDAR_FILE, last)
        values["aws_credentials"] = tuple(name for name in AWS_CREDENTIALS if env.get(name))
        values["app_db_url_is_secret"] = bool(env.get("FSDL_APP_DB_URL")) and (
            "app_db_url" not in overrides
        )
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """These settings with some fields changed (the URLs derive from a new home unless
        given)."""
        if "home" in changes:
            for name in ("object_store_url", "lake_url", "app_db_url"):
                changes.setdefault(name, "")
            changes.setdefault("app_db_url_is_secret", False)
        return dataclasses.replace(self, **changes)


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


def configuration_markdown() -> str:
    """docs/configuration.md: every variable, its default and what it means."""
    lines = [
        "# Configuration",
        "",
        "Every setting is an environment variable, read once when the definitions load (or the",
        "CLI starts) into `fsdl_data.config.Settings` and passed down; nothing else reads the",
        "environment. The defaults are the embedded, zero-service setup under `FSDL_HOME`.",
        "Generated from `Settings.variables()`: `python -m fsdl_data.config > "
        "docs/configuration.md`.",
        "",
        "| variable | default | what it sets |",
        "|---|---|---|",
    ]
    for variable in Settings.variables():
        lines.append(f"| `{variable.name}` | {variable.default} | {variable.description} |")
    lines += [
        "",
        "AWS credentials (`" + "`, `".join(AWS_CREDENTIALS) + "`) are read by boto3 and passed to",
        "Dagster as `EnvVar`, so it never stores or shows them; `FSDL_APP_DB_URL` likewise.",
        "",
    ]
    return "\n".join(lines)


def env_example() -> str:
    """.env.example: every variable, commented out, with its default and meaning, for a `.env`
    that `make dev` (dagster dev reads `.env`) or `set -a; . ./.env` picks up."""
    lines = [
        "# fsdl_data configuration: copy to .env and uncomment what you change. Every variable is",
        "# optional; unset, everything lives under ./.fsdl (local folders and SQLite, no services).",
        "# Generated from Settings.variables(): python -m fsdl_data.config --env > .env.example",
    ]
    for variable in Settings.variables():
        lines += ["", f"# {variable.description} (default: {variable.default})"]
        lines.append(f"# {variable.name}=")
    lines += ["", "# AWS credentials, read by boto3 and passed to Dagster as EnvVar (never stored)"]
    lines += [f"# {name}=" for name in AWS_CREDENTIALS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    print(env_example() if sys.argv[1:] == ["--env"] else configuration_markdown(), end="")
