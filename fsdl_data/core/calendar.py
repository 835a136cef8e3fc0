"""Days: the one place that turns a partition key ("2026-01-02") into moments in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

DAY = timedelta(days=1)
PUBLISH_DELAY = timedelta(hours=2)  # the nightly job runs at 02:00 UTC for the day that ended


def day_start(day: str | date) -> datetime:
    """Midnight UTC at the start of `day`."""
    text = day.isoformat() if isinstance(day, date) else day
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def day_bounds(day: str | date) -> tuple[datetime, datetime]:
    """[start, end) of `day`, in UTC."""
    start = day_start(day)
    return start, start + DAY


def nightly_publish_time(day: str | date) -> datetime:
    """When the nightly job publishes what was computed for `day`: 02:00 UTC the day after."""
    return day_start(day) + DAY + PUBLISH_DELAY
