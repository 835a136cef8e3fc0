"""Human labels of the world, exported in Label Studio's JSON format.

- the seed set: a few percent of photos, each labeled by several annotators who sometimes
  disagree (each has an accuracy of their own, and errors go mostly to a look-alike class);
- the gold set: about 1% of photos, labeled by an expert who is almost never wrong, marked
  `"ground_truth": true` as Label Studio marks ground-truth annotations. Gold photos are drawn
  from the seed set, as gold tasks are mixed into annotators' queues, so every annotator's
  accuracy on gold can be measured.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fsdl_data.core.calendar import day_folder
from fsdl_data.core.world.population import photos_posted_on, rng_for
from fsdl_data.core.world.spec import CONTENT_CLASSES, WorldSpec

# Simulated annotators: id -> accuracy. Errors mostly go to a look-alike class.
ANNOTATORS = {"ann-amy": 0.96, "ann-bo": 0.9, "ann-cai": 0.85, "ann-dev": 0.78, "ann-eli": 0.65}
CONFUSABLE = {
    "landscape": "city",
    "city": "landscape",
    "food": "pattern",
    "pattern": "food",
    "portrait": "landscape",
}


EXPERT = "expert"
EXPERT_ACCURACY = 0.995


def _seed_choice(spec: WorldSpec, day_index: int) -> tuple[np.random.Generator, np.ndarray]:
    """The labels stream and the indices of the day's photos in the seed set (its first draw)."""
    rng = rng_for(spec, day_index, "labels")
    n = max(1, round(spec.photos_per_day * spec.seed_label_fraction))
    return rng, np.sort(rng.choice(spec.photos_per_day, size=n, replace=False))


def _choice_result(label: str) -> list[dict[str, Any]]:
    return [
        {
            "from_name": "content",
            "to_name": "image",
            "type": "choices",
            "value": {"choices": [label]},
        }
    ]


def seed_label_tasks(spec: WorldSpec, day_index: int, uri_for_key: Any) -> list[dict[str, Any]]:
    """Label Studio tasks (one per sampled photo) with one annotation per annotator."""
    rng, chosen = _seed_choice(spec, day_index)
    photos = photos_posted_on(spec, day_index)
    names = list(ANNOTATORS)
    tasks = []
    for i in chosen:
        pid, truth = int(photos.photo_id[i]), str(photos.content[i])
        annotations = []
        for j, who in enumerate(rng.choice(names, size=spec.annotators_per_task, replace=False)):
            if rng.uniform() < ANNOTATORS[who]:
                label = truth
            elif rng.uniform() < 0.6:
                label = CONFUSABLE[truth]
            else:
                label = str(rng.choice([c for c in CONTENT_CLASSES if c != truth]))
            annotations.append(
                {
                    "id": pid * 10 + j,
                    "completed_by": str(who),
                    "created_at": f"{spec.day(day_index).isoformat()}T23:{10 + j:02d}:00Z",
                    "result": _choice_result(label),
                }
            )
        key = photo_key(spec, day_index, pid)
        tasks.append(
            {
                "id": pid,
                "data": {"image": uri_for_key(key), "photo_id": pid},
                "annotations": annotations,
            }
        )
    return tasks


def gold_label_tasks(spec: WorldSpec, day_index: int, uri_for_key: Any) -> list[dict[str, Any]]:
    """The expert's ground-truth annotations of a share of the seed set's photos."""
    _, seeded = _seed_choice(spec, day_index)
    rng = rng_for(spec, day_index, "gold")
    photos = photos_posted_on(spec, day_index)
    n = min(len(seeded), max(1, round(spec.photos_per_day * spec.gold_fraction)))
    tasks = []
    for i in np.sort(rng.choice(seeded, size=n, replace=False)):
        pid, truth = int(photos.photo_id[i]), str(photos.content[i])
        label = truth if rng.uniform() < EXPERT_ACCURACY else CONFUSABLE[truth]
        tasks.append(
            {
                "id": pid,
                "data": {"image": uri_for_key(photo_key(spec, day_index, pid)), "photo_id": pid},
                "annotations": [
                    {
                        "id": pid * 10 + 9,
                        "completed_by": EXPERT,
                        "ground_truth": True,
                        "created_at": f"{spec.day(day_index).isoformat()}T23:50:00Z",
                        "result": _choice_result(label),
                    }
                ],
            }
        )
    return tasks


def photo_key(spec: WorldSpec, day_index: int, photo_id: int) -> str:
    return f"{day_folder('photos', spec.day(day_index))}{photo_id}.jpg"
