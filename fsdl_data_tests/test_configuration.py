"""Every environment variable is a Settings field, read in config.py alone, and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import fsdl_data
from fsdl_data.config import Settings, configuration_markdown, env_example

PACKAGE = Path(fsdl_data.__file__).parent
DOCS = PACKAGE.parent / "docs" / "configuration.md"
OURS = re.compile(r"\b(?:FSDL|DAGSTER)_[A-Z0-9_]*[A-Z0-9]\b")


def _sources() -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}


def test_docs_configuration_is_generated_from_settings_and_lists_every_variable() -> None:
    text = DOCS.read_text()
    assert text == configuration_markdown(), (
        "run: python -m fsdl_data.config > docs/configuration.md"
    )
    for variable in Settings.variables():
        assert f"| `{variable.name}` |" in text
        assert variable.description and variable.default


def test_env_example_is_generated_from_settings_and_names_every_variable() -> None:
    """.env.example named 5 of the variables and set FSDL_START_DATE outright (a copy to .env
    would override a generated world's calendar): it is generated now, every line commented."""
    text = (PACKAGE.parent / ".env.example").read_text()
    assert text == env_example(), "run: python -m fsdl_data.config --env > .env.example"
    settings_lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert settings_lines == []
    for variable in Settings.variables():
        assert f"# {variable.name}=\n" in text


def test_every_fsdl_or_dagster_variable_named_in_the_package_is_a_settings_field() -> None:
    fields = {variable.name for variable in Settings.variables()}
    named = {name: path for path, text in _sources().items() for name in OURS.findall(text)}
    assert named, "the pattern finds the variables"
    unknown = {name: str(path.relative_to(PACKAGE)) for name, path in named.items()
               if name not in fields}  # fmt: skip
    assert not unknown, f"read outside Settings (make them fields): {unknown}"


def test_only_config_reads_the_environment() -> None:
    readers = {str(path.relative_to(PACKAGE)) for path, text in _sources().items()
               if re.search(r"\bos\.environ\b|\bgetenv\(", text)}  # fmt: skip
    assert readers == {"config.py"}


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FSDL_START_DATE", "yesterday", "give a day as YYYY-MM-DD"),
        ("FSDL_EXECUTOR", "slurm", "choose one of multiprocess, celery, k8s"),
        ("FSDL_SENSOR_INTERVAL_S", "0", "give a whole number, at least 1"),
        ("FSDL_S3_READ_TIMEOUT_S", "soon", "give a number of seconds above 0"),
        ("FSDL_S3_MAX_ATTEMPTS", "-2", "give a whole number, at least 1"),
    ],
)
def test_a_malformed_variable_is_one_line_naming_it(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{variable}='{re.escape(value)}': {message}$"):
        Settings.from_env({variable: value})


def test_each_variable_reaches_its_field(tmp_path: Path) -> None:
    env = {
        "FSDL_HOME": str(tmp_path), "FSDL_OBJECT_STORE_URL": "s3://b/raw", "FSDL_LAKE_URL": "s3://b/lake",
        "FSDL_APP_DB_URL": "postgresql://u@h/db", "FSDL_START_DATE": "2026-02-01",
        "FSDL_END_DATE": "2026-02-03", "FSDL_EXECUTOR": "k8s", "FSDL_CELERY_BROKER": "redis://h",
        "FSDL_SENSOR_INTERVAL_S": "9", "FSDL_TORCH_THREADS": "3", "FSDL_PARALLEL_STEPS": "2",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_DEFAULT_REGION": "eu-west-1",
        "FSDL_S3_CONNECT_TIMEOUT_S": "1.5", "FSDL_S3_READ_TIMEOUT_S": "2.5",
        "FSDL_S3_MAX_ATTEMPTS": "2", "DAGSTER_HOME": str(tmp_path / "dagster"),
        "FSDL_WORLD_CLOCK": "True", "FSDL_ONLINE_STORE_URL": "redis://h:6379/1",
        "FSDL_PARITY_MIN_ENTITIES": "4", "AWS_ACCESS_KEY_ID": "id",
        "FSDL_DAGSTER_URL": "http://127.0.0.1:9",
    }  # fmt: skip
    settings = Settings.from_env(env)
    assert {variable.name for variable in Settings.variables()} <= set(env) | {"AWS_REGION"}
    for variable in Settings.variables():
        value = getattr(settings, variable.field)
        given = env.get(variable.name) or env["AWS_DEFAULT_REGION"]
        assert str(value) == given, variable.name
    assert settings.aws_credentials == ("AWS_ACCESS_KEY_ID",)
    assert settings.app_db_url_is_secret
    defaults = Settings.from_env({"FSDL_HOME": str(tmp_path / "empty")})
    assert defaults.lake_url == f"file://{(tmp_path / 'empty' / 'lake').resolve()}"
    assert (defaults.executor, defaults.sensor_interval_s, defaults.s3_max_attempts) == (
        "multiprocess",
        30,
        5,
    )
    mine = Settings.from_env(env, home=tmp_path / "other", lake_url="")  # a CLI's flags win
    assert mine.home == tmp_path / "other" and mine.lake_url.endswith("/other/lake")
    assert mine.object_store_url == "s3://b/raw"
