"""Realistic defects, injected on request: what real sources do to a pipeline.

Each injection is recorded in the hidden truth so tests can prove it was caught.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fsdl_data.core.world.activity import DAY_MS


@dataclass
class DefectLog:
    """What was injected, by kind, with the ids or keys it touched."""

    items: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, ref: str) -> None:
        self.items.setdefault(kind, []).append(ref)

    def to_json(self) -> str:
        return json.dumps(self.items, indent=1, sort_keys=True)


def _pick(rng: np.random.Generator, n: int, share: float, at_least: int = 1) -> np.ndarray:
    k = min(n, max(at_least, round(n * share)))
    return rng.choice(n, size=k, replace=False) if n else np.array([], dtype=int)


def corrupt_images(rng: np.random.Generator, blobs: dict[str, bytes], log: DefectLog) -> None:
    """Truncate some JPEGs and empty others."""
    keys = sorted(blobs)
    chosen = _pick(rng, len(keys), 0.02, at_least=2)
    for j, i in enumerate(chosen):
        key = keys[i]
        if j % 2 == 0:
            blobs[key] = blobs[key][: len(blobs[key]) // 3]
            log.add("corrupt_image", key)
        else:
            blobs[key] = b""
            log.add("zero_byte_image", key)


def corrupt_log_lines(
    rng: np.random.Generator, lines: list[bytes], day_start_ms: int, log: DefectLog
) -> list[bytes]:
    """Malformed JSON, wrong types, missing fields, replays, bad bytes, far-late and future events."""
    out = list(lines)
    n = len(out)
    picks = _pick(rng, n, 0.008, at_least=8)
    kinds = (
        "malformed_json",
        "wrong_type",
        "missing_field",
        "duplicate_event",
        "non_utf8",
        "too_late",
        "future_event",
        "conflicting_duplicate",
    )
    extra: list[bytes] = []
    for j, i in enumerate(picks):
        kind = kinds[j % len(kinds)]
        rec = json.loads(out[i])
        ref = rec["event_id"]
        if kind == "malformed_json":
            out[i] = out[i][: len(out[i]) // 2]
        elif kind == "wrong_type":
            rec["user_id"] = "user-" + str(rec["user_id"])
            out[i] = json.dumps(rec).encode()
        elif kind == "missing_field":
            del rec["event_type"]
            out[i] = json.dumps(rec).encode()
        elif kind == "duplicate_event":
            extra.append(out[i])
        elif kind == "non_utf8":
            out[i] = out[i].replace(b'"client":"', b'"client":"\xff\xfe', 1)
        elif kind == "too_late":
            rec["ts"] = day_start_ms - 10 * DAY_MS
            out[i] = json.dumps(rec).encode()
        elif kind == "future_event":
            rec["ts"] = day_start_ms + 3 * DAY_MS
            out[i] = json.dumps(rec).encode()
        elif kind == "conflicting_duplicate":
            rec["event_type"] = "like" if rec.get("event_type") != "like" else "view"
            extra.append(json.dumps(rec).encode())
        log.add(kind, ref)
    return out + extra


def corrupt_labels(
    rng: np.random.Generator,
    seed_tasks: list[dict[str, Any]],
    gold_tasks: list[dict[str, Any]],
    classes: tuple[str, ...],
    share: float,
    log: DefectLog,
) -> None:
    """Label errors: in `share` of the seed set's photos every annotator gives the same wrong
    class (a misleading photo, a misread guideline: consensus cannot undo it), and in `share` of
    the gold photos the expert's label is wrong. The wrong class is drawn uniformly from the
    others. Edits the Label Studio tasks in place; logs each photo id as `label_error` (gold)
    or `label_error_human`."""
    for tasks, kind in ((seed_tasks, "label_error_human"), (gold_tasks, "label_error")):
        for task in tasks:
            if rng.uniform() >= share:
                continue
            annotations = task["annotations"]
            right = annotations[0]["result"][0]["value"]["choices"][0]
            wrong = str(rng.choice([c for c in classes if c != right]))
            for annotation in annotations:
                annotation["result"][0]["value"]["choices"] = [wrong]
            log.add(kind, str(task["data"]["photo_id"]))
