"""The popularity model's registry in the lake, importable without torch (lineage reads its
cards, and the snapshot store must not need torch).

Layout (one place):
    models/popularity_model/<version>.pt    weights
    models/popularity_model/<version>.json  the card: what it was trained on, how it scored
    models/popularity_model/promoted.json   the version serving should use
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fsdl_data.core.storage.objects import ObjectStore

if TYPE_CHECKING:
    from fsdl_data.core.modeling.popularity import PopularityModel

PREFIX = "models/popularity_model"
PROMOTED_KEY = f"{PREFIX}/promoted.json"


def model_key(version: str) -> str:
    return f"{PREFIX}/{version}.pt"


def card_key(version: str) -> str:
    return f"{PREFIX}/{version}.json"


def save_model(store: ObjectStore, model: PopularityModel, card: dict) -> str:
    """Weights, then the card (what it was trained on, how it scored: lineage starts here),
    then, if it beat the baseline, the promotion pointer. Returns the weights' key."""
    version = card["version"]
    store.put(model_key(version), model.to_bytes())
    store.put(card_key(version), json.dumps(card, sort_keys=True, indent=1).encode())
    if card["promoted"]:
        store.put(
            PROMOTED_KEY, json.dumps({"version": version, "snapshot": card["snapshot"]}).encode()
        )
    return model_key(version)
