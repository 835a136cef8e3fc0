"""Whether the nightly schedule should run a day: the one decision, for every tick."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

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


def _is_day(text: str) -> bool:
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def outside_calendar_advice(days: list[str], calendar: list[str]) -> str:
    """What a sensor tick says about day folders it cannot request (not day partitions): the
    calendar is read when the definitions load, so say how to get a new day in."""
    if not calendar:
        return f"day folders {days} ignored: the calendar is empty; set FSDL_START_DATE"
    first, last = calendar[0], calendar[-1]
    dated = [d for d in days if _is_day(d)]
    early, late = [d for d in dated if d < first], [d for d in dated if d > last]
    other = sorted(set(days) - set(early) - set(late))
    advice = []
    if late:
        advice.append(
            f"day folders after the calendar's last day {last}: {late}; the calendar is read "
            "when the definitions load: reload the code location (UI: Deployment > Reload, or "
            "restart `make dev`; `fsdl-data world append` reloads the UI at FSDL_DAGSTER_URL "
            "itself), or set FSDL_END_DATE; they are requested on the tick after"
        )
    if early:
        advice.append(
            f"day folders before the calendar's first day {first}: {early}; set "
            "FSDL_START_DATE to include them and reload the code location"
        )
    if other:
        advice.append(f"folders that name no day (date=YYYY-MM-DD): {other}; rename them")
    return "; ".join(advice)
