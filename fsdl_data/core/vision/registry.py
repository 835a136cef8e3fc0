"""The photo classifier's registry in the lake: every version ever trained, with its card.

Layout (one place):
    models/photo_classifier/<version>.pt     weights (torch, loaded with weights_only)
    models/photo_classifier/<version>.json   the card: what it was trained on, how it scored

Write order is weights first, card last, so a card means both exist and a crash in between
leaves nothing a reader would use. A version is a hash of the labels, code and config, so
training the same version twice is never needed: `train_or_reuse` returns the stored one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from fsdl_data.core.storage.objects import ObjectNotFound, ObjectStore
from fsdl_data.core.vision.model import Classifier
from fsdl_data.core.vision.train import TrainReport

PREFIX = "models/photo_classifier"


def weights_key(version: str) -> str:
    return f"{PREFIX}/{version}.pt"


def card_key(version: str) -> str:
    return f"{PREFIX}/{version}.json"


@dataclass(frozen=True)
class ClassifierCard:
    version: str
    labels_through: str | None  # the newest day of labels it was trained on
    trained_at: str  # ISO time the weights were written
    report: TrainReport
    details: dict[str, Any] = field(default_factory=dict)  # config, label sources, ...

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ClassifierCard:
        d = json.loads(data)
        return cls(
            version=d["version"],
            labels_through=d.get("labels_through"),
            trained_at=d["trained_at"],
            report=TrainReport(**d["report"]),
            details=d.get("details", {}),
        )


def read_card(store: ObjectStore, version: str) -> ClassifierCard | None:
    try:
        return ClassifierCard.from_json(store.get(card_key(version)))
    except ObjectNotFound:
        return None


def train_or_reuse(
    store: ObjectStore,
    version: str,
    labels_through: str | None,
    train: Callable[[], tuple[Classifier, TrainReport]],
    details: dict[str, Any] | None = None,
) -> tuple[ClassifierCard, bool]:
    """The card of `version`, training and storing it first if it is not in the registry.
    Returns (card, reused)."""
    card = read_card(store, version)
    if card is not None and store.head(weights_key(version)) is not None:
        return card, True
    classifier, report = train()
    store.put(weights_key(version), classifier.to_bytes())
    card = ClassifierCard(
        version=version,
        labels_through=labels_through,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        report=report,
        details=details or {},
    )
    store.put(card_key(version), card.to_json())  # last: a card means both exist
    return card, False


def load_classifier(store: ObjectStore, version: str, device: str = "cpu") -> Classifier:
    try:
        return Classifier.from_bytes(store.get(weights_key(version)), device)
    except ObjectNotFound:
        raise LookupError(
            f"classifier {version} is not in the registry at {store.url}: materialize photo_classifier"
        ) from None


def cards(store: ObjectStore) -> list[ClassifierCard]:
    found = []
    for key in (o.key for o in store.list(f"{PREFIX}/")):
        if key.endswith(".json"):
            found.append(ClassifierCard.from_json(store.get(key)))
    return found


def newest(store: ObjectStore) -> ClassifierCard:
    """The classifier trained last; a LookupError that says what to do when there is none."""
    found = cards(store)
    if not found:
        raise LookupError(f"no classifier in the registry at {store.url}: train one first")
    return max(found, key=lambda card: (card.trained_at, card.version))


def classifier_as_of(store: ObjectStore, day: str) -> ClassifierCard | None:
    """The classifier as known before `day`: the newest trained on labels up to the day before.

    Point-in-time for models: rebuilding a day's outputs later uses the same classifier, not one
    trained since on that very day's labels.
    """
    known = [c for c in cards(store) if c.labels_through is not None and c.labels_through < day]
    return max(known, key=lambda c: (c.labels_through, c.trained_at), default=None)


def warm_depth(card: ClassifierCard) -> int:
    """How many warm starts lead back to a classifier trained from scratch (0: it was)."""
    return int(card.details.get("warm_depth") or 0)


def warm_start_parent(
    store: ObjectStore, labels_through: str | None, full_retrain_every: int
) -> ClassifierCard | None:
    """The classifier a new one trained on labels through `labels_through` starts from: the
    newest trained on earlier labels, unless there is none, warm starts are off
    (`full_retrain_every` < 1) or this would be the `full_retrain_every`-th model in a chain
    of warm starts (then it is trained from scratch)."""
    if labels_through is None or full_retrain_every < 1:
        return None
    parent = classifier_as_of(store, labels_through)
    if parent is None or warm_depth(parent) + 1 >= full_retrain_every:
        return None
    return parent
