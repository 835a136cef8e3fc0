"""Whether the nightly schedule should run a day: the one decision, for every tick."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fsdl_data.core.calendar import DAY, PUBLISH_DELAY


def day_that_ended(scheduled_at: datetime) -> str:
    """The day a nightly tick at `scheduled_at` (02:00 UTC) is for: the one that just ended."""
    return (scheduled_at - PUBLISH_DELAY - DAY).date().isoformat()


def skip_reason(
    day: str,
    calendar: list[str],
    has_data: Callable[[str], bool],
    completed: Callable[[str], bool],
) -> str | None:
    """Why the nightly run for `day` is not requested, or None to request it. Cheapest first:
    a day past the calendar (a finished world), one already complete, one with no data."""
    if day not in set(calendar):
        span = f"{calendar[0]} to {calendar[-1]}" if calendar else "empty"
        return f"{day} is not a day partition (the calendar is {span}): nothing to run"
    if completed(day):
        return f"{day} is already complete: a nightly run for it succeeded"
    if not has_data(day):
        return f"{day} has no data yet (no photos or event logs landed): nothing to run"
    return None
