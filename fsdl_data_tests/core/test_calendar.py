"""The calendar of day partitions: the user's dates, else the generated world's, else a default;
and the day arithmetic every daily asset shares (fsdl_data.core.calendar), against a naive
reference: a day is the 86,400 seconds from its UTC midnight."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fsdl_data.config import Settings, write_calendar
from fsdl_data.core import calendar


def test_the_worlds_calendar_is_used_unless_the_environment_names_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert Settings.from_env({"FSDL_HOME": str(home)}).start_date == date(2026, 1, 1)
    assert Settings.from_env({"FSDL_HOME": str(home)}).end_date is None  # open, as in production
    write_calendar(home, "2026-03-01", "2026-03-03")
    world = Settings.from_env({"FSDL_HOME": str(home)})
    assert (world.start_date, world.end_date) == (date(2026, 3, 1), date(2026, 3, 3))
    mine = Settings.from_env({"FSDL_HOME": str(home), "FSDL_START_DATE": "2025-06-01"})
    assert (mine.start_date, mine.end_date) == (date(2025, 6, 1), None)
    (home / "calendar.json").write_text("{broken")
    assert Settings.from_env({"FSDL_HOME": str(home)}).start_date == date(2026, 1, 1)


DAYS = st.dates(min_value=date(1971, 1, 1), max_value=date(2999, 12, 30))


@given(DAYS)
def test_a_day_is_its_utc_midnight_to_the_next(day: date) -> None:
    start, end = calendar.day_bounds(day.isoformat())
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    assert (start, end) == (midnight, midnight + timedelta(seconds=86_400))
    assert calendar.day_bounds(day) == (start, end)  # a date or its key: the same day
    assert calendar.day_of(start) == day and calendar.day_of(end - timedelta(microseconds=1)) == day
    assert calendar.day_of(end) == day + timedelta(days=1)
    assert calendar.nightly_publish_time(day) == end + timedelta(hours=2)


@given(DAYS)
def test_a_day_folder_and_its_name_round_trip(day: date) -> None:
    key = day.isoformat()
    assert calendar.day_folder("photos", key) == f"photos/date={key}/"
    assert calendar.day_folder("", day) == f"date={key}/"
    assert calendar.folder_day(f"date={key}") == key == calendar.folder_day(f"date={key}/")
    assert calendar.parse_day(key) == day and calendar.day_key(day) == key


@given(DAYS, st.integers(min_value=-400, max_value=400))
def test_days_from_and_shifted_agree_with_counting(day: date, offset: int) -> None:
    other = calendar.shifted(day, offset)
    assert other == (day + timedelta(days=offset)).isoformat()
    span = calendar.days_from(day, other)
    assert len(span) == max(0, offset + 1)
    assert span == sorted(span) and (not span or (span[0], span[-1]) == (day.isoformat(), other))


def test_a_moment_in_another_zone_falls_in_its_utc_day() -> None:
    late = datetime(2026, 1, 1, 23, 30, tzinfo=UTC) + timedelta(hours=1)  # 00:30 UTC on Jan 2
    assert calendar.day_of(late.astimezone(datetime.now().astimezone().tzinfo)) == date(2026, 1, 2)
    assert calendar.day_of(datetime(2026, 1, 2, 0, 0)) == date(2026, 1, 2)  # naive: UTC


@pytest.mark.parametrize(
    "text", ["2026-1-2", "2026-02-30", "20260102", "2026-01-02T00:00", "yesterday", ""]
)
def test_what_is_not_a_day_is_a_one_line_error(text: str) -> None:
    with pytest.raises(ValueError, match="give a day as YYYY-MM-DD"):
        calendar.parse_day(text)
    assert calendar.folder_day(f"date={text}") is None


def test_only_day_folders_name_a_day() -> None:
    for name in ("date=2026-02-30", "day=2026-01-01", "date=2026-01-01x", "_SUCCESS", ""):
        assert calendar.folder_day(name) is None
    with pytest.raises(ValueError, match="a moment, not a day"):
        calendar.parse_day(datetime(2026, 1, 1, tzinfo=UTC))
