"""Instance plug-ins named in dagster.yaml: compute logs under FSDL_HOME, like everything else.

A relative `base_dir` in dagster.yaml resolves against each process's working directory (the
webserver's, the daemon's, every run worker's), which scatters logs; this one resolves FSDL_HOME
once, the way `fsdl_data.config` does for the lake and the object store.
"""

from __future__ import annotations

from typing import Any

from dagster import Field, StringSource
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager

from fsdl_data.config import Settings


class HomeComputeLogManager(LocalComputeLogManager):
    """Step stdout/stderr under $FSDL_HOME/dagster/logs (or `base_dir`, when given)."""

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: dict[str, Any]) -> Any:
        default = Settings.from_env().home.resolve() / "dagster" / "logs"
        return cls(base_dir=str(config_value.get("base_dir") or default), inst_data=inst_data)
