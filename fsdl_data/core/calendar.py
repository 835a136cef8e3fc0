"""Days: the one place that turns a partition key ("2026-01-02") into a day, moments in UTC and
folders (`<root>/date=2026-01-02/`), and back.

Every daily asset, check, table and label rule uses these, so a day means the same thing
everywhere: [00:00 UTC, next 00:00 UTC), written in folders named `date=YYYY-MM-DD`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

DAY = timedelta(days=1)
PUBLISH_DELAY = timedelta(hours=2)  # the nightly job runs at 02:00 UTC for the day that ended
DAY_FOLDER = "date="  # a day partition's folder: date=2026-01-02
_DAY_FOLDER_NAME = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


def parse_day(day: str | date) -> date:
    """The day a partition key names; a ValueError that says the format otherwise."""
    if isinstance(day, datetime):
        raise ValueError(f"{day!r} is a moment, not a day: give a day as YYYY-MM-DD")
    if isinstance(day, date):
        return day
    try:
        return date.fromisoformat(day) if len(day) == 10 else _not_a_day(day)
    except ValueError:
        return _not_a_day(day)


def _not_a_day(text: str) -> date:
    raise ValueError(f"{text!r} is not a day: give a day as YYYY-MM-DD")


def day_key(day: str | date) -> str:
    """The partition key of `day`: YYYY-MM-DD."""
    return parse_day(day).isoformat()


def day_start(day: str | date) -> datetime:
    """Midnight UTC at the start of `day`."""
    found = parse_day(day)
    return datetime(found.year, found.month, found.day, tzinfo=UTC)


def day_bounds(day: str | date) -> tuple[datetime, datetime]:
    """[start, end) of `day`, in UTC."""
    start = day_start(day)
    return start, start + DAY


def day_of(moment: datetime) -> date:
    """The UTC day a moment falls in (a naive moment is taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date()


def days_from(first: str | date, last: str | date) -> list[str]:
    """The partition keys from `first` to `last`, both included (empty when last < first)."""
    start, end = parse_day(first), parse_day(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def shifted(day: str | date, days: int) -> str:
    """The partition key `days` after `day` (before, when negative)."""
    return (parse_day(day) + timedelta(days=days)).isoformat()


def nightly_publish_time(day: str | date) -> datetime:
    """When the nightly job publishes what was computed for `day`: 02:00 UTC the day after."""
    return day_start(day) + DAY + PUBLISH_DELAY


def day_folder(root: str, day: str | date) -> str:
    """The folder of one day's objects under `root`: `photos/date=2026-01-01/`."""
    return f"{root}/{DAY_FOLDER}{day_key(day)}/" if root else f"{DAY_FOLDER}{day_key(day)}/"


def folder_day(name: str) -> str | None:
    """The day a folder name (`date=2026-01-01`) holds, or None for any other name."""
    found = _DAY_FOLDER_NAME.match(name.rstrip("/"))
    if found is None:
        return None
    try:
        return day_key(found.group(1))
    except ValueError:
        return None
