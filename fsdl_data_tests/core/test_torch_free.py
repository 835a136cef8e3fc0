"""The label model and the snapshot store work without torch (a labeling or data-versioning
user need not install it): importing every module of core.labels and core.versioning, and the
popularity model's registry that lineage reads, leaves torch unimported."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import importlib, pkgutil, sys
for name in {packages!r}:
    package = importlib.import_module(name)
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
        importlib.import_module(info.name)
        if "torch" in sys.modules:
            raise SystemExit(f"{{info.name}} imports torch")
    if "torch" in sys.modules:
        raise SystemExit(f"{{name}} imports torch")
"""


@pytest.mark.parametrize(
    "packages",
    [("fsdl_data.core.labels",), ("fsdl_data.core.versioning", "fsdl_data.core.modeling.registry")],
)
def test_importing_leaves_torch_out(packages: tuple[str, ...]) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(packages=packages)], capture_output=True, text=True
    )
    assert probe.returncode == 0, probe.stderr or probe.stdout


def test_the_probe_sees_torch_when_it_is_imported() -> None:
    """The check can fail: a module that does import torch is caught."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(packages=("fsdl_data.core.modeling.popularity",))],
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0 and "imports torch" in probe.stderr
