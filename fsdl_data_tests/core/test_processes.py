"""Whether a run's recorded process is still there: this host's pids are judged, a live
process is not gone, an exited (even unreaped) one is, and another host's never is."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from fsdl_data.core.processes import local_pid, process_gone, this_worker


def test_this_worker_names_this_host_and_process() -> None:
    assert this_worker() == f"{socket.gethostname()}:{os.getpid()}"
    assert local_pid(this_worker()) == os.getpid()


def test_only_a_well_formed_worker_on_this_host_has_a_local_pid() -> None:
    host = socket.gethostname()
    assert local_pid(f"{host}:123") == 123
    assert local_pid(f"not-{host}:123") is None  # elsewhere: never judged from here
    for malformed in (None, "", host, f"{host}:", f"{host}:12a", f"{host}:-5"):
        assert local_pid(malformed) is None


def test_a_live_process_is_not_gone_and_an_exited_one_is() -> None:
    assert not process_gone(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not process_gone(child.pid)
        child.send_signal(signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, left unreaped
        assert process_gone(child.pid)  # a zombie counts as gone
    finally:
        child.kill()
        child.wait()
    assert process_gone(child.pid)  # reaped: no such pid
