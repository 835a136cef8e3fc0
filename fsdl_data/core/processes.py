"""Is a run's process still there? Runs record the process executing them (host and pid); one
whose process is gone can never finish, so it is failed rather than left STARTED for good (with
one run per partition at a time, a run left STARTED blocks its day forever)."""

from __future__ import annotations

import os
import socket
from pathlib import Path


def this_worker() -> str:
    """`host:pid` of this process, what a run executing here records."""
    return f"{socket.gethostname()}:{os.getpid()}"


def local_pid(worker: str | None) -> int | None:
    """The pid of a `host:pid` on this host; None when it is elsewhere or malformed (a process
    on another machine cannot be looked at from here, so it is never judged gone)."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid)


def process_gone(pid: int) -> bool:
    """Whether no live process has `pid` (a zombie, killed but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux): alive as far as we can tell
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")
