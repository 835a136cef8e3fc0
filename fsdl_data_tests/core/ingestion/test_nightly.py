"""The nightly schedule's decision: which day a tick is for, and why it would not run it."""

from __future__ import annotations

from datetime import UTC, datetime

from fsdl_data.core.ingestion.nightly import day_that_ended, outside_calendar_advice, skip_reason

CALENDAR = ["2026-01-01", "2026-01-02", "2026-01-03"]


def test_a_tick_is_for_the_day_that_ended() -> None:
    assert day_that_ended(datetime(2026, 1, 5, 2, 0, tzinfo=UTC)) == "2026-01-04"
    assert day_that_ended(datetime(2026, 1, 1, 2, 0, tzinfo=UTC)) == "2025-12-31"


def test_only_a_day_of_the_calendar_with_data_not_yet_complete_is_run() -> None:
    def decide(day: str, data: bool = True, done: bool = False) -> str | None:
        return skip_reason(day, CALENDAR, lambda _: data, lambda _: done)

    assert decide("2026-01-03") is None
    # a finished world: the tick after its last day must not run the last day again
    assert "not a day partition (the calendar is 2026-01-01 to 2026-01-03)" in decide("2026-01-04")
    assert "already complete" in decide("2026-01-02", done=True)
    assert "has no data yet" in decide("2026-01-02", data=False)
    assert "calendar is empty" in skip_reason("2026-01-01", [], lambda _: True, lambda _: False)


def test_days_a_tick_cannot_request_come_with_what_to_do() -> None:
    late = outside_calendar_advice(["2026-01-04"], CALENDAR)
    assert "after the calendar's last day 2026-01-03: ['2026-01-04']" in late
    assert "reload the code location" in late
    early = outside_calendar_advice(["2025-12-31", "2026-01-05"], CALENDAR)
    assert "before the calendar's first day 2026-01-01: ['2025-12-31']" in early
    assert "set FSDL_START_DATE" in early and "['2026-01-05']" in early
    assert "rename them" in outside_calendar_advice(["junk"], CALENDAR)
    assert "set FSDL_START_DATE" in outside_calendar_advice(["2026-01-01"], [])
