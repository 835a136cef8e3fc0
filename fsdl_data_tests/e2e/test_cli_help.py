"""`fsdl-data materialize --help` names every job it can run (it said "nightly or ingest" while
six jobs exist), so a user finds `--job features` without reading the code."""

from __future__ import annotations

import pytest

from fsdl_data import definitions
from fsdl_data.cli import build_parser


def test_materialize_help_names_every_job(capsys) -> None:
    jobs = {j.name for j in definitions.defs.resolve_all_job_defs() if not j.name.startswith("__")}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["materialize", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
    assert len(jobs) > 2 and all(job in shown for job in jobs), (sorted(jobs), shown)
