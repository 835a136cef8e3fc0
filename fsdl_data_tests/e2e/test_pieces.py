"""fsdl_data as a library: what its pieces import, what it declares, and the component fields a
newcomer meets first (docs/use-the-pieces.md)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fsdl_data import components
from fsdl_data.components.inference import newest_classifier
from fsdl_data.components.snapshot import snapshot_objects

REPO = Path(__file__).resolve().parents[2]

LIGHT = (
    "fsdl_data.core.versioning.store",
    "fsdl_data.core.versioning.snapshots",
    "fsdl_data.core.labels.label_model",
    "fsdl_data.core.labels.labeled_set",
    "fsdl_data.core.features.pit",
    "fsdl_data.core.labels.studio",
    "fsdl_data.core.labels.human",
    "fsdl_data.core.labels.studio_client",
    "fsdl_data.components",
)


def test_the_pieces_without_a_classifier_import_no_torch() -> None:
    """`pip install fsdl_data` (no [vision]) has no torch: these must import without it."""
    code = "import sys\n" + "".join(f"import {m}\n" for m in LIGHT)
    code += "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_dependencies_are_ranges_and_torch_is_an_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    base = project["dependencies"]
    assert "dagster>=1.13.27,<1.14" in base
    assert not [d for d in base if "==" in d], "exact pins belong in the dev extra only"
    assert not [d for d in base if d.startswith("torch")]
    extras = project["optional-dependencies"]
    assert extras["vision"] == ["torch>=2.13,<2.14"]  # the local CPU wheel 2.13.0 satisfies it
    assert {"labelstudio", "scale", "dev"} <= set(extras)
    for library in ("dagster-aws", "dagster-postgres"):
        assert f"{library}>=0.29.27,<0.30" in base
    assert (REPO / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert project["license"] == "Apache-2.0"


def test_every_component_field_is_documented() -> None:
    """`dg utils inspect-component` and the YAML schema show each field's description."""
    for name in components.__all__:
        kind = getattr(components, name)
        if not isinstance(kind, type):
            continue
        fields = kind.model_json_schema()["properties"]
        undocumented = [f for f, schema in fields.items() if not schema.get("description")]
        assert not undocumented, f"{name}: {undocumented}"


def test_a_wrong_registry_says_what_to_pass(tmp_path: Path) -> None:
    root = f"file://{tmp_path}"
    with pytest.raises(LookupError, match=f"try {root}$|try {root}[ ,]"):
        newest_classifier(f"{root}/models/photo_classifier")
    with pytest.raises(LookupError, match="holds models/photo_classifier/"):
        newest_classifier(root)


def test_a_store_ending_in_snapshots_is_the_same_store(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        (photos / f"{i}.jpg").write_bytes(bytes([i]) * 100)
    first = snapshot_objects(f"file://{photos}", "", f"file://{tmp_path}/lake", "photos")
    again = snapshot_objects(f"file://{photos}", "", f"file://{tmp_path}/lake/snapshots/", "photos")
    assert first is not None and again is not None
    assert again.snapshot_id == first.snapshot_id and again.read == 0  # found its own cache
    assert not (tmp_path / "lake" / "snapshots" / "snapshots").exists()


def test_the_code_location_loads_without_the_beta_warning_flood(tmp_path: Path) -> None:
    """`make dev` loads fsdl_data.definitions in each process: no Beta/Preview lines, while any
    other warning still shows."""
    code = (
        "import warnings\nimport fsdl_data.definitions\n"
        "warnings.warn('a warning a user should see', UserWarning)\n"
    )
    env = {k: v for k, v in os_environ().items() if not k.startswith(("FSDL_", "DAGSTER_"))}
    env["FSDL_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, env=env,
        check=True, cwd=tmp_path,
    )  # fmt: skip
    assert "BetaWarning" not in done.stderr and "PreviewWarning" not in done.stderr, done.stderr
    assert "a warning a user should see" in done.stderr


def os_environ() -> dict[str, str]:
    import os

    return dict(os.environ)
