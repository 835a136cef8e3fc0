"""`fsdl-data features serve` on an address it cannot listen on is one line and exit 1, before
it claims to serve (uvicorn printed 'serving features on ...', then its own error, exit 3)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fsdl_data.cli import main


def test_a_port_in_use_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FSDL_HOME", str(tmp_path))
    with socket.create_server(("127.0.0.1", 0)) as taken:  # the OS picks a free port
        port = taken.getsockname()[1]
        assert main(["features", "serve", "--port", str(port), "--no-log"]) == 1
    out, err = capsys.readouterr()
    assert "serving features" not in out, out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"cannot serve on 127.0.0.1:{port}" in lines[0], err
    assert "choose another --port" in lines[0]


@pytest.mark.parametrize("host", ["no-such-host.invalid", "203.0.113.7"])
def test_a_host_that_is_not_this_machine_is_one_line(host: str, tmp_path: Path, monkeypatch,
                                                    capsys) -> None:  # fmt: skip
    monkeypatch.setenv("FSDL_HOME", str(tmp_path))
    assert main(["features", "serve", "--host", host, "--port", "0", "--no-log"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"cannot serve on {host}:0" in err[0], err


def test_serve_help_shows_its_defaults(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["features", "serve", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert "(default: 127.0.0.1)" in out and "(default: 6566)" in out, out
    assert "served_log/" in out and "features get" in out, out
