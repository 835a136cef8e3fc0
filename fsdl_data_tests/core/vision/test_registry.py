"""The classifier registry's protocol, on a local store: key layout, write order, reuse, and
the classifier as known before a day."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import torch

from fsdl_data.core import versions
from fsdl_data.core.labels.labeled_set import label_model_version, labeled_set_version
from fsdl_data.core.modeling import popularity
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.vision import registry
from fsdl_data.core.vision.model import Classifier, PhotoNet
from fsdl_data.core.vision.train import TrainConfig, TrainReport, model_version

CLASSES = ("a", "b")


def trainer(version: str, calls: list[str]):
    def train() -> tuple[Classifier, TrainReport]:
        calls.append(version)
        torch.manual_seed(len(calls))
        return Classifier(PhotoNet(len(CLASSES)), CLASSES, version), TrainReport(8, 2, 0.5, 0.1)

    return train


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "lake")


def test_trains_once_then_reuses(store: LocalObjectStore) -> None:
    calls: list[str] = []
    card, reused = registry.train_or_reuse(
        store, "v1", "2026-01-01", trainer("v1", calls), {"k": 1}
    )
    assert not reused and calls == ["v1"]
    assert store.head("models/photo_classifier/v1.pt") and store.head(
        "models/photo_classifier/v1.json"
    )
    again, reused = registry.train_or_reuse(store, "v1", "2026-01-01", trainer("v1", calls))
    assert reused and calls == ["v1"] and again == card
    assert card.details == {"k": 1} and card.report.n_train == 8
    loaded = registry.load_classifier(store, "v1")
    assert loaded.version == "v1" and loaded.classes == CLASSES


def test_weights_without_a_card_are_retrained(store: LocalObjectStore) -> None:
    """A crash between the weights and the card leaves no card: the version is not used, and the
    next run trains it again (and writes both)."""
    calls: list[str] = []
    store.put(registry.weights_key("v2"), b"half of an interrupted run")
    assert registry.read_card(store, "v2") is None
    _, reused = registry.train_or_reuse(store, "v2", None, trainer("v2", calls))
    assert not reused and calls == ["v2"]
    assert registry.load_classifier(store, "v2").version == "v2"


def test_card_is_written_after_the_weights(store: LocalObjectStore, monkeypatch) -> None:
    order: list[str] = []
    put = store.put

    def recording_put(key: str, data: bytes):
        order.append(key.rsplit(".", 1)[1])
        return put(key, data)

    monkeypatch.setattr(store, "put", recording_put)
    registry.train_or_reuse(store, "v3", None, trainer("v3", []))
    assert order == ["pt", "json"]


def test_classifier_as_of_a_day(store: LocalObjectStore) -> None:
    assert registry.classifier_as_of(store, "2026-01-05") is None
    for version, through in (
        ("early", "2026-01-01"),
        ("mid", "2026-01-03"),
        ("late", "2026-01-05"),
    ):
        registry.train_or_reuse(store, version, through, trainer(version, []))
    registry.train_or_reuse(store, "unknown", None, trainer("unknown", []))
    assert registry.classifier_as_of(store, "2026-01-01") is None  # nothing trained before
    assert registry.classifier_as_of(store, "2026-01-02").version == "early"
    assert registry.classifier_as_of(store, "2026-01-04").version == "mid"
    assert registry.classifier_as_of(store, "2026-01-05").version == "mid"  # not its own day's
    assert registry.classifier_as_of(store, "2026-02-01").version == "late"


def test_missing_version_is_a_clear_error(store: LocalObjectStore) -> None:
    with pytest.raises(LookupError, match="materialize photo_classifier"):
        registry.load_classifier(store, "nope")


def _edit_source(monkeypatch, module: str) -> None:
    """As if `module`'s source had been edited: its source hash changes, nothing else."""
    real = versions.source_hash
    monkeypatch.setattr(
        versions,
        "source_hash",
        lambda *modules: real(*modules) + ("edited" if module in modules else ""),
    )


def test_edited_training_code_is_a_new_version_and_retrains(
    store: LocalObjectStore, monkeypatch
) -> None:
    """Editing the classifier's training code yields a new model version, so the registry trains
    again instead of handing back the weights the old code trained."""
    config = TrainConfig(steps=1)
    before = model_version("labels", config)
    calls: list[str] = []
    registry.train_or_reuse(store, before, None, trainer(before, calls))
    assert model_version("labels", config) == before  # unedited: the same version, reused
    _edit_source(monkeypatch, "fsdl_data.core.vision.train")
    after = model_version("labels", config)
    assert after != before
    _, reused = registry.train_or_reuse(store, after, None, trainer(after, calls))
    assert not reused and calls == [before, after]


def test_other_model_versions_follow_their_code(monkeypatch) -> None:
    """The popularity model's and the label model's versions change with their code too."""
    matrix = pl.DataFrame({"photo_id": [1, 2], "f": [0, 1]})
    popularity_before = popularity.model_version("snapshot", 10, 0)
    label_before = label_model_version(matrix, ["f"], "lf1", 0)
    _edit_source(monkeypatch, "fsdl_data.core.modeling.popularity")
    assert popularity.model_version("snapshot", 10, 0) != popularity_before
    assert label_model_version(matrix, ["f"], "lf1", 0) == label_before
    _edit_source(monkeypatch, "fsdl_data.core.labels.label_model")
    assert label_model_version(matrix, ["f"], "lf1", 0) != label_before


def test_the_labeled_set_version_follows_the_code_that_makes_it(monkeypatch) -> None:
    """Same rows, edited label-model code: a new labeled-set version (rows with no weak label
    carry no label-model version, so the rows alone would not show the edit)."""
    rows = pl.DataFrame({"photo_id": [1, 2], "label": ["food", None]})
    before = labeled_set_version(rows)
    assert labeled_set_version(rows) == before
    assert labeled_set_version(rows.with_columns(label=pl.lit("food"))) != before
    _edit_source(monkeypatch, "fsdl_data.core.modeling.popularity")
    assert labeled_set_version(rows) == before  # other code: the same version
    _edit_source(monkeypatch, "fsdl_data.core.labels.label_model")
    assert labeled_set_version(rows) != before
