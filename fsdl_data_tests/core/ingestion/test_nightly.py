"""The nightly schedule's decision: which day a tick is for, and why it would not run it."""

from __future__ import annotations

from datetime import UTC, datetime

from fsdl_data.core.ingestion.nightly import day_that_ended, skip_reason

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
