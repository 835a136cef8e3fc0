"""A Postgres cluster of the test's own (Debian's initdb/pg_ctl, a temp folder, its own port),
so a test can restart the server mid-run without touching the shared one. Root cannot run
initdb, so as root (CI) the cluster runs as the `postgres` user."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from fsdl_data_tests.processes import free_port


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    def __init__(self) -> None:
        # its own folder under /tmp: pytest's tmp_path (root-only) is closed to the postgres user
        root = Path(tempfile.mkdtemp(prefix="fsdl-pg-"))
        self.root = root
        binaries = postgres_bin()
        if binaries is None:
            raise FileNotFoundError("no initdb under /usr/lib/postgresql/*/bin")
        self.bin, self.data, self.port = binaries, root / "pgdata", free_port()
        self.sockets = root / "sockets"
        self.sockets.mkdir(parents=True)
        self.as_user = os.geteuid() == 0  # initdb refuses root
        if self.as_user:
            shutil.chown(root, "postgres")
            shutil.chown(self.sockets, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", *extra, action)

    def start(self) -> None:
        self._ctl("start", "-l", str(self.data / "server.log"))

    def stop(self) -> None:
        """Stopped and its folder removed."""
        try:
            self._ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        """As a crash and a supervisor would: every connection cut, then up again."""
        self._ctl("restart", "-m", "immediate", "-l", str(self.data / "server.log"))
