"""Label Studio's formats (core.labels.studio): the labeling config, image URLs and tasks with
the classifier's choice as a pre-annotation."""

from __future__ import annotations

import urllib.request
import xml.etree.ElementTree as ElementTree
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest

from fsdl_data.core.labels import studio
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.objects import open_object_store


def test_the_config_is_one_required_single_choice_over_exactly_the_classes() -> None:
    classes = ("cat", "dog & puppy", 'say "cheese"', "<food>")
    root = ElementTree.fromstring(studio.labeling_config(classes))
    image, choices = root.find("Image"), root.find("Choices")
    assert image is not None and choices is not None
    assert (image.get("name"), image.get("value")) == (studio.TO_NAME, "$image")
    assert choices.get("name") == studio.FROM_NAME and choices.get("toName") == studio.TO_NAME
    assert (choices.get("choice"), choices.get("required")) == ("single", "true")
    assert tuple(c.get("value") for c in choices.findall("Choice")) == classes  # escaped, intact


def test_a_local_folder_serves_images_through_label_studios_local_files(tmp_path: Path) -> None:
    url = studio.image_urls(LocalObjectStore(tmp_path), expires_s=60)(
        "photos/date=2026-01-02/a b.jpg"
    )
    parts = urlsplit(url)
    assert parts.path == "/data/local-files/"
    assert parse_qs(parts.query)["d"] == ["photos/date=2026-01-02/a b.jpg"]  # quoted, round-trips


@pytest.mark.s3
def test_an_s3_store_gives_a_presigned_url_that_reads_the_image(s3_bucket: str) -> None:
    store = open_object_store(f"s3://{s3_bucket}/raw")
    store.put("photos/date=2026-01-02/1.jpg", b"jpeg bytes")
    url = studio.image_urls(store, expires_s=600)("photos/date=2026-01-02/1.jpg")
    assert "Expires=" in url or "X-Amz-Expires=600" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # no credentials needed
        assert response.read() == b"jpeg bytes"


def test_tasks_carry_the_photo_its_day_and_the_classifiers_choice() -> None:
    queue = pl.DataFrame(
        {
            "photo_id": [5, 9],
            "photo_day": [date(2026, 1, 2), date(2026, 1, 3)],
            "key": ["photos/date=2026-01-02/5.jpg", "photos/date=2026-01-03/9.jpg"],
            "predicted_class": ["dog", None],
            "score": [0.87654321, None],
            "classifier_version": ["abc123", None],
        }
    )
    tasks = studio.queue_tasks(queue, lambda key: f"https://images/{key}")
    assert [task["id"] for task in tasks] == [5, 9]  # the photo id: the same queue, the same tasks
    assert tasks[0]["data"] == {"image": "https://images/photos/date=2026-01-02/5.jpg",
                                "photo_id": 5, "day": "2026-01-02", "review_reason": ""}  # fmt: skip
    (prediction,) = tasks[0]["predictions"]
    assert prediction["model_version"] == "abc123" and prediction["score"] == 0.876543
    (result,) = prediction["result"]
    assert (result["from_name"], result["to_name"], result["type"]) == (
        "content",
        "image",
        "choices",
    )
    assert result["value"] == {"choices": ["dog"]}
    assert "predictions" not in tasks[1]  # no classifier choice: nothing to pre-annotate
    assert studio.queue_tasks(queue, lambda key: key) == studio.queue_tasks(queue, lambda key: key)


def test_a_re_review_shows_the_annotator_why_the_photo_is_back() -> None:
    queue = pl.DataFrame({"photo_id": [5], "photo_day": [date(2026, 1, 2)], "key": ["k.jpg"],
                          "predicted_class": ["dog"], "score": [0.9], "classifier_version": ["v"],
                          "review_reason": ["possible label error: 'cat'"]})  # fmt: skip
    (task,) = studio.queue_tasks(queue, lambda key: key)
    assert task["data"]["review_reason"] == "possible label error: 'cat'"
    header = ElementTree.fromstring(studio.labeling_config(("cat", "dog"))).find("Header")
    assert header is not None and header.get("value") == "$review_reason"  # the task's field


def test_an_answer_in_the_tasks_shape_is_read_back_by_the_importer() -> None:
    """The config's control name, the pre-annotation's shape and the importer agree."""
    import json

    from fsdl_data.core.labels.human import parse_label_studio
    from fsdl_data.core.labels.studio import choice_result, local_files_url, queue_tasks

    queue = pl.DataFrame(
        {
            "photo_id": [11],
            "photo_day": [date(2026, 1, 2)],
            "key": ["photos/11.jpg"],
            "predicted_class": ["food"],
            "score": [0.7],
            "classifier_version": ["v3"],
        }
    )
    (task,) = queue_tasks(queue, local_files_url)
    task["annotations"] = [{"id": 1, "completed_by": 4, "result": choice_result("city", "r1")}]
    rows = parse_label_studio(json.dumps([task]).encode(), {11}, ("city", "food"), "x.json")
    assert rows.select("photo_id", "label", "annotator", "rejected_reason").rows() == [
        (11, "city", "4", None)
    ]
