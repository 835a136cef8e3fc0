"""A real Label Studio for tests: installed from PyPI into its own virtualenv (cached between
runs; about a minute and a half and 1 GB the first time), served on loopback with SQLite."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fsdl_data.core.labels.studio_client import LabelStudio
from fsdl_data_tests.processes import free_port, stop_group

VERSION = "1.23.2"
VENV = Path(
    os.environ.get(
        "FSDL_LABEL_STUDIO_VENV", Path.home() / ".cache" / "fsdl_data" / f"label-studio-{VERSION}"
    )
)


def ensure_installed() -> Path:
    """The `label-studio` executable, installing it into its own virtualenv if needed (it pins
    Django and friends that must not meet our dependencies). A marker written last says the
    install finished; without it the folder is removed and installed again."""
    executable, done = VENV / "bin" / "label-studio", VENV / ".installed"
    if done.exists() and executable.exists():
        return executable
    subprocess.run(["rm", "-rf", str(VENV)], check=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "-q", f"label-studio=={VERSION}"],
        check=True,
        timeout=900,
    )
    done.write_text(VERSION)
    return executable


@contextmanager
def label_studio(data_dir: Path, files_root: Path | None = None) -> Iterator[LabelStudio]:
    """A fresh Label Studio with an admin whose (legacy) token the client uses."""
    executable = ensure_installed()
    port, token = free_port(), secrets.token_hex(20)
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
    }
    if files_root is not None:
        env |= {"LOCAL_FILES_SERVING_ENABLED": "true", "LOCAL_FILES_DOCUMENT_ROOT": str(files_root)}
    log = (data_dir / "label-studio.log").open("wb")
    process = subprocess.Popen(
        [
            str(executable), "start", "--no-browser", "--host", "127.0.0.1", "--port", str(port),
            "--username", "admin@fsdl.test", "--password", secrets.token_hex(12),
            "--user-token", token, "--enable-legacy-api-token",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        client = LabelStudio(f"http://127.0.0.1:{port}", token)
        client.wait_until_up(timeout_s=300)
        yield client
    finally:
        stop_group(process)
        log.close()
