"""Unit tests of core/labels/studio.py: the labeling config, image URLs and tasks, and that the
importer reads back what the tasks and config ask for."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET

import polars as pl

from fsdl_data.core.labels.human import parse_label_studio
from fsdl_data.core.labels.studio import (
    FROM_NAME,
    TO_NAME,
    choice_result,
    image_urls,
    labeling_config,
    local_files_url,
    queue_tasks,
)


def test_the_config_is_one_required_single_choice_over_the_classes() -> None:
    classes = ("city", 'say "cheese" & smile')
    root = ET.fromstring(labeling_config(classes))
    choices = root.find("Choices")
    assert choices is not None
    assert choices.get("name") == FROM_NAME and choices.get("toName") == TO_NAME
    assert choices.get("choice") == "single" and choices.get("required") == "true"
    assert [c.get("value") for c in choices.findall("Choice")] == list(classes)
    assert root.find("Image").get("name") == TO_NAME  # type: ignore[union-attr]


def test_image_urls_presign_when_the_store_can_and_serve_local_files_otherwise() -> None:
    class Presigning:
        def presigned_url(self, key: str, expires_s: int) -> str:
            return f"https://bucket/{key}?expires={expires_s}"

    assert (
        image_urls(Presigning(), 600)("photos/1.jpg") == "https://bucket/photos/1.jpg?expires=600"
    )
    assert image_urls(object(), 600)("photos/a b.jpg") == local_files_url("photos/a b.jpg")
    assert (
        local_files_url("date=2026-01-02/a b.jpg")
        == "/data/local-files/?d=date=2026-01-02/a%20b.jpg"
    )


def test_tasks_carry_the_photo_the_day_and_the_prediction_and_come_back() -> None:
    queue = pl.DataFrame(
        {
            "photo_id": [11, 12],
            "photo_day": [dt.date(2026, 1, 2)] * 2,
            "key": ["photos/11.jpg", "photos/12.jpg"],
            "predicted_class": ["food", None],
            "score": [0.7123456789, None],
            "classifier_version": ["v3", None],
        }
    )
    tasks = queue_tasks(queue, local_files_url)
    assert tasks == queue_tasks(queue, local_files_url)  # the same queue, the same tasks
    first, second = tasks
    assert first["id"] == 11 and first["data"] == {
        TO_NAME: "/data/local-files/?d=photos/11.jpg",
        "photo_id": 11,
        "day": "2026-01-02",
    }
    assert first["predictions"][0]["model_version"] == "v3"
    assert first["predictions"][0]["score"] == 0.712346
    assert first["predictions"][0]["result"] == choice_result("food", "prediction-11")
    assert "predictions" not in second
    # an annotator answers in the same shape as the prediction: the importer reads it back
    first["annotations"] = [{"id": 1, "completed_by": 4, "result": choice_result("city", "r1")}]
    rows = parse_label_studio(json.dumps([first]).encode(), {11}, ("city", "food"), "x.json")
    assert rows.select("photo_id", "label", "annotator", "rejected_reason").rows() == [
        (11, "city", "4", None)
    ]
