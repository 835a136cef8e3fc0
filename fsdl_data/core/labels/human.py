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


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _choices(annotation: dict[str, Any]) -> list[Any] | None:
    """The choices an annotation made, or None when its `result` is not Label Studio's shape."""
    result = annotation.get("result") or []
    if not isinstance(result, list):
        return None
    chosen = []
    for region in result:
        if not isinstance(region, dict):
            return None
        if region.get("type") != "choices":
            continue
        value = region.get("value")
        if not isinstance(value, dict) or not isinstance(value.get("choices", []), list):
            return None
        chosen += value.get("choices", [])
    return chosen


def _row(task: Any, annotation: Any, photo_id: Any, label: Any, reason: str | None) -> dict:
    task = task if isinstance(task, dict) else {}
    annotation = annotation if isinstance(annotation, dict) else {}
    created = annotation.get("created_at")
    return {
        "task_id": _int(task.get("id")),
        "annotation_id": _int(annotation.get("id")),
        "photo_id": _int(photo_id),
        "annotator": str(annotation.get("completed_by")),
        "label": label if isinstance(label, str) else None,
        "ground_truth": annotation.get("ground_truth") is True,
        "created_at": created if isinstance(created, str) else None,
        "rejected_reason": reason,
    }


def parse_label_studio(
    export: bytes, known_photo_ids: set[int], classes: tuple[str, ...]
) -> pl.DataFrame:
    """One row per annotation. Rows that cannot be used keep a `rejected_reason` (never dropped):
    a file that is not a JSON list of tasks is one `malformed_export` row, a task or annotation
    not in Label Studio's shape a `malformed_task` / `malformed_annotation` row; the file's
    other tasks are still read."""
    try:
        tasks = json.loads(export)
    except (json.JSONDecodeError, UnicodeDecodeError):
        tasks = None
    if not isinstance(tasks, list):
        return pl.DataFrame([_row(None, None, None, None, "malformed_export")], schema=HUMAN_LABELS)
    rows: list[dict[str, Any]] = []
    for task in tasks:
        data = task.get("data") if isinstance(task, dict) else None
        annotations = task.get("annotations") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(annotations, (list, type(None))):
            rows.append(_row(task, None, None, None, "malformed_task"))
            continue
        pid = data.get("photo_id")
        for ann in annotations or []:
            choices = _choices(ann) if isinstance(ann, dict) else None
            if choices is None:
                rows.append(_row(task, ann, pid, None, "malformed_annotation"))
                continue
            label = choices[0] if len(choices) == 1 else None
            if _int(pid) is None or pid not in known_photo_ids:
                reason = "unknown_photo_id"
            elif not isinstance(label, str):
                reason = "not_exactly_one_choice"
            elif label not in classes:
                reason = "unknown_class"
            else:
                reason = None
            rows.append(_row(task, ann, pid, label, reason))
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
