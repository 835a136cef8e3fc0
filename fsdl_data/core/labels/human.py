"""Human labels from Label Studio exports: parse, validate, resolve disagreements."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import polars as pl

from fsdl_data.core.storage.objects import ObjectStore

HUMAN_LABELS = {
    "task_id": pl.Int64,
    "annotation_id": pl.Int64,
    "photo_id": pl.Int64,
    "annotator": pl.String,
    "label": pl.String,
    "ground_truth": pl.Boolean,
    "created_at": pl.String,
    "rejected_reason": pl.String,
}


EXPORT_PREFIXES = ("labels/seed", "labels/gold")  # + f"/date={day}/"


def label_studio_keys(store: ObjectStore, day: str) -> list[str]:
    """The day's Label Studio exports: the seed set's and the expert's gold set's."""
    return [
        key
        for prefix in EXPORT_PREFIXES
        for key in store.keys(f"{prefix}/date={day}/")
        if key.endswith(".json")
    ]


def read_label_studio(
    store: ObjectStore, keys: list[str], known_photo_ids: set[int], classes: tuple[str, ...]
) -> pl.DataFrame:
    frames = [parse_label_studio(store.get(k), known_photo_ids, classes) for k in keys]
    return pl.concat(frames) if frames else pl.DataFrame(schema=HUMAN_LABELS)


def parse_label_studio(
    export: bytes, known_photo_ids: set[int], classes: tuple[str, ...]
) -> pl.DataFrame:
    """One row per annotation. Rows that cannot be used keep a `rejected_reason` (never dropped)."""
    try:
        tasks = json.loads(export)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"Label Studio export is not valid JSON: {e}") from e
    if not isinstance(tasks, list):
        raise ValueError("Label Studio export must be a JSON list of tasks")
    rows: list[dict[str, Any]] = []
    for task in tasks:
        pid = (task.get("data") or {}).get("photo_id")
        for ann in task.get("annotations") or []:
            choices = [
                c
                for r in ann.get("result") or []
                if r.get("type") == "choices"
                for c in r["value"].get("choices", [])
            ]
            label = choices[0] if len(choices) == 1 else None
            if not isinstance(pid, int) or pid not in known_photo_ids:
                reason = "unknown_photo_id"
            elif label is None:
                reason = "not_exactly_one_choice"
            elif label not in classes:
                reason = "unknown_class"
            else:
                reason = None
            rows.append(
                {
                    "task_id": task.get("id"),
                    "annotation_id": ann.get("id"),
                    "photo_id": pid if isinstance(pid, int) else None,
                    "annotator": str(ann.get("completed_by")),
                    "label": label if label is None else str(label),
                    "ground_truth": bool(ann.get("ground_truth", False)),
                    "created_at": ann.get("created_at"),
                    "rejected_reason": reason,
                }
            )
    return pl.DataFrame(rows, schema=HUMAN_LABELS)


def majority_labels(labels: pl.DataFrame) -> pl.DataFrame:
    """photo_id -> label by majority of accepted annotations; ties go to the alphabetically first
    label (deterministic). `agreement` is the winning share."""
    ok = labels.filter(pl.col("rejected_reason").is_null())
    out = []
    for pid, group in ok.group_by("photo_id"):
        counts = Counter(group["label"].to_list())
        top = max(counts.values())
        label = min(c for c, n in counts.items() if n == top)
        out.append(
            {"photo_id": pid[0], "label": label, "votes": len(group), "agreement": top / len(group)}
        )
    return pl.DataFrame(
        out,
        schema={
            "photo_id": pl.Int64,
            "label": pl.String,
            "votes": pl.Int64,
            "agreement": pl.Float64,
        },
    ).sort("photo_id")
