"""core.modeling.registry: weights, then the card, then (only for a promoted model) the
pointer serving reads; the layout is one place."""

from __future__ import annotations

import json
from pathlib import Path

from fsdl_data.core.modeling import registry
from fsdl_data.core.storage.backends.local import LocalObjectStore


class Weights:
    def to_bytes(self) -> bytes:
        return b"weights"


def test_a_promoted_model_moves_the_pointer_and_an_unpromoted_one_does_not(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    card = {"version": "m1", "promoted": True, "snapshot": "s1"}
    assert registry.save_model(store, Weights(), card) == registry.model_key("m1")  # type: ignore[arg-type]
    assert store.get(registry.model_key("m1")) == b"weights"
    assert json.loads(store.get(registry.card_key("m1"))) == card
    assert json.loads(store.get(registry.PROMOTED_KEY)) == {"version": "m1", "snapshot": "s1"}
    registry.save_model(store, Weights(), {**card, "version": "m2", "promoted": False})  # type: ignore[arg-type]
    assert json.loads(store.get(registry.card_key("m2")))["promoted"] is False
    assert json.loads(store.get(registry.PROMOTED_KEY))["version"] == "m1"
    assert {o.key for o in store.list(registry.PREFIX)} == {
        registry.model_key("m1"), registry.card_key("m1"), registry.model_key("m2"),
        registry.card_key("m2"), registry.PROMOTED_KEY}  # fmt: skip
