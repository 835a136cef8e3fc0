"""Lineage without the orchestrator: the chain's steps, and what a model's card and snapshot say.

The walk through the asset graph's materializations lives with the CLI (`cli/_lineage.py`, it
needs the Dagster instance); what it starts from (the newest model, its card, its training
snapshot's manifest) and what it prints are plain data, here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fsdl_data.core.modeling.registry import card_key
from fsdl_data.core.storage.lake import Lake, TableNotFound
from fsdl_data.core.storage.objects import ObjectNotFound
from fsdl_data.core.versioning.store import Manifest, SnapshotStore


@dataclass
class Step:
    """One asset in the chain: the partitions used, their data versions, facts, its parents."""

    asset: str
    partitions: list[str | None]
    data_versions: list[str | None]
    facts: dict[str, Any] = field(default_factory=dict)
    parents: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The chain as plain data (`fsdl-data lineage --json`)."""
        return {
            "asset": self.asset,
            "partitions": self.partitions,
            "data_versions": self.data_versions,
            "facts": {
                k: v if isinstance(v, int | float | str | bool) or v is None else str(v)
                for k, v in self.facts.items()
            },
            "parents": [p.as_dict() for p in self.parents],
        }

    def lines(self, depth: int = 0) -> list[str]:
        parts = [p for p in self.partitions if p]
        where = ""
        if len(parts) == 1:
            where = f"[{parts[0]}]"
        elif parts:
            where = f"[{min(parts)} .. {max(parts)}: {len(parts)} partitions]"
        versions = sorted({v for v in self.data_versions if v})
        shown = (
            versions[0] if len(versions) == 1 else f"{len(versions)} versions" if versions else "-"
        )
        facts = "".join(f", {k} {v}" for k, v in self.facts.items())
        out = [f"{'  ' * depth}{self.asset}{where}  data version {shown}{facts}"]
        for parent in self.parents:
            out += parent.lines(depth + 1)
        return out


def latest_model_version(lake: Lake) -> str:
    """The newest popularity_model version in the lake."""
    try:
        models = lake.read("popularity_model")
    except TableNotFound:
        models = None
    if models is None or models.is_empty():
        raise LookupError("no popularity_model yet: run `fsdl-data materialize` first")
    return models["version"][-1]


def model_training_snapshot(lake: Lake, model_version: str) -> tuple[dict[str, Any], Manifest]:
    """(the model's card, the manifest of the training snapshot it names); a LookupError that
    says where to look when there is no such model."""
    try:
        card = json.loads(lake.store.get(card_key(model_version)))
    except ObjectNotFound:
        raise LookupError(
            f'no popularity model {model_version!r} in {lake.url}: `fsdl-data sql "SELECT version FROM '
            'popularity_model"` shows the newest'
        ) from None
    return card, SnapshotStore(lake.store).read(card["snapshot"], "training_set")
