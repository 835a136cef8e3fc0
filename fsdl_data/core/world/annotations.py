"""The human-labeled seed set: a few percent of photos, each labeled by several annotators
who sometimes disagree, exported in Label Studio's JSON format."""

from __future__ import annotations

from typing import Any

import numpy as np

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


def seed_label_tasks(spec: WorldSpec, day_index: int, uri_for_key: Any) -> list[dict[str, Any]]:
    """Label Studio tasks (one per sampled photo) with one annotation per annotator."""
    rng = rng_for(spec, day_index, "labels")
    photos = photos_posted_on(spec, day_index)
    n = max(1, round(len(photos) * spec.seed_label_fraction))
    chosen = np.sort(rng.choice(len(photos), size=n, replace=False))
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
                    "result": [
                        {
                            "from_name": "content",
                            "to_name": "image",
                            "type": "choices",
                            "value": {"choices": [label]},
                        }
                    ],
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


def photo_key(spec: WorldSpec, day_index: int, photo_id: int) -> str:
    return f"photos/date={spec.day(day_index).isoformat()}/{photo_id}.jpg"
