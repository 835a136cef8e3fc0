"""core.world.annotations: the world's human labels in Label Studio's format: the seed set has
one annotation per chosen annotator, the gold set is the expert's on a part of the seed set,
and both are the same for the same world."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from fsdl_data.core.world import annotations
from fsdl_data.core.world.population import photos_posted_on
from fsdl_data.core.world.spec import CONTENT_CLASSES
from fsdl_data_tests.core.world.specs import random_spec


def _label(annotation: dict) -> str:
    (region,) = annotation["result"]
    (label,) = region["value"]["choices"]
    return label


@pytest.mark.parametrize("seed", range(4))
def test_seed_and_gold_tasks_are_label_studio_tasks_of_the_days_photos(seed: int) -> None:
    spec = replace(random_spec(seed), photos_per_day=200)
    uri = "s3://objects/{}".format
    seeded = annotations.seed_label_tasks(spec, 1, uri)
    assert seeded == annotations.seed_label_tasks(spec, 1, uri)  # the same world, the same labels
    photos = dict(zip(photos_posted_on(spec, 1).photo_id.tolist(),
                      photos_posted_on(spec, 1).content.tolist(), strict=True))  # fmt: skip
    for task in seeded:
        assert task["data"]["image"] == uri(annotations.photo_key(spec, 1, task["id"]))
        assert task["id"] in photos and task["data"]["photo_id"] == task["id"]
        who = [a["completed_by"] for a in task["annotations"]]
        assert len(who) == len(set(who)) == spec.annotators_per_task
        assert set(who) <= set(annotations.ANNOTATORS)
        assert {_label(a) for a in task["annotations"]} <= set(CONTENT_CLASSES)
        assert not any(a.get("ground_truth") for a in task["annotations"])
    gold = annotations.gold_label_tasks(spec, 1, uri)
    assert gold and {t["id"] for t in gold} <= {t["id"] for t in seeded}
    for task in gold:
        (expert,) = task["annotations"]
        assert expert["ground_truth"] is True and expert["completed_by"] == annotations.EXPERT


def test_annotators_are_as_accurate_as_the_world_says() -> None:
    spec = replace(random_spec(7), photos_per_day=3000)
    truth = dict(zip(photos_posted_on(spec, 0).photo_id.tolist(),
                     photos_posted_on(spec, 0).content.tolist(), strict=True))  # fmt: skip
    right, seen = Counter(), Counter()
    for task in annotations.seed_label_tasks(spec, 0, str):
        for a in task["annotations"]:
            seen[a["completed_by"]] += 1
            right[a["completed_by"]] += _label(a) == truth[task["id"]]
    for who, accuracy in annotations.ANNOTATORS.items():
        assert abs(right[who] / seen[who] - accuracy) < 0.08, who
