"""Counts that cannot be zero are refused by the parser in one line (`--days 0` used to seed,
append or check nothing and exit 0; `--users 0` failed inside numpy)."""

from __future__ import annotations

import random

import pytest

from fsdl_data.cli import build_parser

COUNTS = [
    ["world", "seed", "--days"],
    ["world", "seed", "--users"],
    ["world", "append", "--days"],
    ["demo", "--days"],
    ["demo", "--users"],
    ["check", "--days"],
]


@pytest.mark.parametrize("seed", range(4))
def test_a_count_below_one_is_a_one_line_usage_error(seed: int, capsys) -> None:
    chance = random.Random(seed)
    for words in COUNTS:
        bad = chance.choice(["0", str(-chance.randrange(1, 1000)), "three", "1.5"])
        with pytest.raises(SystemExit) as refused:
            build_parser().parse_args([*words, bad])
        assert refused.value.code == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"{words[-1]}: give a whole number of at least 1, not {bad!r}" in error, error
        good = chance.randrange(1, 50)
        parsed = build_parser().parse_args([*words, str(good)])
        assert getattr(parsed, words[-1].lstrip("-")) == good
