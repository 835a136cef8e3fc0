"""Label Studio's formats: the labeling config and tasks with pre-annotations.

Tasks follow Label Studio's JSON import format: `data` holds what the annotator sees (the image
URL) and what we need back (photo id and day), `predictions` the classifier's choice as a
pre-annotation with its score and model version, so annotators correct rather than start from
nothing and Label Studio can sort tasks by prediction score. Ids are derived from the photo, so
the same queue exported twice gives the same tasks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import polars as pl

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.storage.objects import Capability, ObjectStore, supports

FROM_NAME = "content"  # the Choices control's name; annotations come back under it
TO_NAME = "image"


REVIEW_FIELD = "review_reason"  # task data: why a labeled photo is back ("" for a new one)


def labeling_config(classes: tuple[str, ...]) -> str:
    """One required, single choice over the content classes, shown beside the image, under a
    header saying why the photo is back when it is a re-review (empty otherwise)."""
    choices = "\n".join(f"    <Choice value={quoteattr(c)}/>" for c in classes)
    return (
        "<View>\n"
        f'  <Header value="${REVIEW_FIELD}" size="5"/>\n'
        f'  <Image name="{TO_NAME}" value="$image" zoom="true"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" required="true" '
        'showInLine="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n"
    )


def local_files_url(key: str) -> str:
    """Label Studio's URL for a file under LOCAL_FILES_DOCUMENT_ROOT (set it to the object
    store's folder, with LOCAL_FILES_SERVING_ENABLED=true)."""
    return f"/data/local-files/?d={quote(key, safe='/=')}"


def image_urls(store: ObjectStore, expires_s: int) -> Callable[[str], str]:
    """How Label Studio opens an image in `store`: a presigned URL that expires after
    `expires_s` where the backend can presign (S3), the local-files URL otherwise."""
    if not supports(store, Capability.PRESIGNED_URLS):
        return local_files_url
    return lambda key: store.presigned_url(key, expires_s)  # type: ignore[attr-defined]


def choice_result(label: str, result_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": result_id,
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "choices",
            "value": {"choices": [label]},
        }
    ]


def queue_tasks(queue: pl.DataFrame, image_url: Callable[[str], str]) -> list[dict[str, Any]]:
    """`queue`: photo_id, photo_day, key, predicted_class, score, classifier_version rows (the
    labeling_queue asset) and, for a re-review, its review_reason. Task id = photo id (a photo
    is queued new at most once, and back for review at most once)."""
    tasks = []
    for row in queue.iter_rows(named=True):
        pid = int(row["photo_id"])
        task: dict[str, Any] = {
            "id": pid,
            "data": {
                TO_NAME: image_url(row["key"]),
                "photo_id": pid,
                "day": str(row["photo_day"]),
                REVIEW_FIELD: row.get(REVIEW_FIELD) or "",
            },
        }
        if row.get("predicted_class") is not None:
            task["predictions"] = [
                {
                    "model_version": row["classifier_version"],
                    "score": round(float(row["score"]), 6),
                    "result": choice_result(row["predicted_class"], f"prediction-{pid}"),
                }
            ]
        tasks.append(task)
    return tasks


QUEUE_PREFIX = "labels/queue"


def queue_key(day: str, name: str = "tasks.json", prefix: str = QUEUE_PREFIX) -> str:
    """Where a day's queue is published: `labels/queue/date=D/tasks.json` and its config."""
    return f"{day_folder(prefix, day)}{name}"


def publish_queue(
    store: ObjectStore,
    queue: pl.DataFrame,
    classes: tuple[str, ...],
    day: str,
    images: ObjectStore | None = None,
    expires_s: int = 7 * 24 * 3600,
    prefix: str = QUEUE_PREFIX,
) -> tuple[str, str]:
    """Publishes a queue (photo_id, key, predicted_class, score, classifier_version, photo_day)
    for Label Studio: its tasks, with images opened from `images` (default: `store`; presigned
    where the backend can), and the labeling config beside them, each in one atomic put; the
    config first, so tasks are never there without it. Returns their keys (tasks, config)."""
    tasks = queue_tasks(queue, image_urls(images or store, expires_s))
    config_key = queue_key(day, "labeling_config.xml", prefix)
    tasks_key = queue_key(day, "tasks.json", prefix)
    store.put(config_key, labeling_config(classes).encode())
    store.put(tasks_key, json.dumps(tasks, indent=1).encode())
    return tasks_key, config_key
