"""The calendar of day partitions: the user's dates, else the generated world's, else a default."""

from datetime import date
from pathlib import Path

from fsdl_data.config import Settings, write_calendar


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
