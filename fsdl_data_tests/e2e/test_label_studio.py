"""The labeling loop through a real Label Studio (installed from PyPI in its own virtualenv,
SQLite, loopback): our queue in with its pre-annotations and its images served (a Local
Storage connection on the object store's photos), the world's annotators answering through the
API with a legacy token and the export taken with a personal access token, the export dropped
under labels/import/, and the annotations back in the graph intact and attributed. Marker `labelstudio` (make test-heavy): about a minute once Label Studio
is installed, plus about a minute and a half the first time to install it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from fsdl_data.config import Settings
from fsdl_data.core.labels.studio_client import LabelStudio, LabelStudioError, open_project
from fsdl_data.core.world.annotations import ANNOTATORS, CONFUSABLE, photo_key
from fsdl_data.core.world.spec import WorldSpec
from fsdl_data.jobs import import_labels_job
from fsdl_data.resources import build_resources
from fsdl_data.sensors import sensor_for
from fsdl_data_tests.helpers import check_results, materialize_day, materialized, seed, stores
from fsdl_data_tests.label_studio_server import label_studio

pytestmark = pytest.mark.labelstudio

WORLD = WorldSpec(seed=11, start_date=date(2026, 1, 1), photos_per_day=150, users=80,
                  events_per_day=2000, seed_label_fraction=0.1)  # fmt: skip
DAY = "2026-01-01"
LABELS_IN = import_labels_job.selection  # what new_label_exports runs


def test_label_studio_round_trip(embedded_settings: Settings, tmp_path: Path) -> None:
    settings = embedded_settings
    seed(settings, WORLD, days=1)
    night = materialize_day(settings, DAY, selection=None)
    assert night.success and "labeling_queue" in materialized(night)
    objects, _, lake = stores(settings)
    tasks = json.loads(objects.get(f"labels/queue/date={DAY}/tasks.json"))
    config = objects.get(f"labels/queue/date={DAY}/labeling_config.xml").decode()
    truth = dict(
        pl.read_parquet(settings.truth_dir / "photos" / f"{DAY}.parquet")
        .select("photo_id", "content")
        .iter_rows()
    )

    (tmp_path / "ls").mkdir()
    posted: dict[int, dict] = {}  # Label Studio annotation id -> what we sent
    with label_studio(tmp_path / "ls", files_root=settings.home / "objects") as studio:
        image = tasks[0]["data"]["image"]
        with pytest.raises(LabelStudioError, match="HTTP 404"):
            studio.fetch(image)  # no storage connection yet: Label Studio serves nothing
        project = open_project(studio, "photo content", config, tasks, settings.home / "objects")
        imported = studio.tasks(project)
        assert len(imported) == len(tasks)
        # one task's image, through Label Studio's API as its browser gets it: the JPEG itself
        shown = next(t for t in imported if t["data"]["photo_id"] == tasks[0]["data"]["photo_id"])
        served = studio.fetch(shown["data"]["image"])
        assert served[:3] == b"\xff\xd8\xff"
        assert served == objects.get(photo_key(WORLD, 0, tasks[0]["data"]["photo_id"]))
        assert all(t["total_predictions"] == 1 for t in imported)  # pre-annotations arrived
        users = {name: studio.create_user(f"{name}@annotators.test", name) for name in ANNOTATORS}
        expert = studio.create_user("expert@annotators.test", "expert")
        rng = np.random.default_rng(0)
        for n, task in enumerate(sorted(imported, key=lambda t: t["data"]["photo_id"])):
            photo = task["data"]["photo_id"]
            for j, name in enumerate(rng.choice(list(ANNOTATORS), size=2, replace=False)):
                right = rng.uniform() < ANNOTATORS[name]
                cancelled = n == 0 and j == 0  # the first annotator skips the first task
                label = None if cancelled else truth[photo] if right else CONFUSABLE[truth[photo]]
                lead = round(float(rng.uniform(2, 30)), 3)
                aid = studio.annotate(task["id"], label, users[name], lead_time=lead,
                                      cancelled=cancelled)  # fmt: skip
                posted[aid] = {"photo": photo, "label": label, "user": users[name],
                               "lead_time": lead, "cancelled": cancelled}  # fmt: skip
            if n < 3:  # the expert labels a few as gold
                aid = studio.annotate(task["id"], truth[photo], expert, lead_time=5.0)
                studio.mark_ground_truth(aid)
                posted[aid] = {"photo": photo, "label": truth[photo], "user": expert,
                               "lead_time": 5.0, "cancelled": False, "gold": True}  # fmt: skip
        # a personal access token (a JWT, refreshed for an access token) works as the legacy one
        personal = LabelStudio(studio.url, studio.personal_access_token())
        assert personal.uses_personal_token and not studio.uses_personal_token
        assert personal.fetch(image) == served
        export = personal.export(project)

    objects.put("labels/import/project-1-at-2026-01-02-10-00.json", export)
    objects.put("labels/import/the same export again.json", export)
    resources = {"objects": build_resources(settings)["objects"]}
    with dg.build_sensor_context(
        resources=resources, instance=dg.DagsterInstance.ephemeral()
    ) as tick:
        requested = sensor_for(settings, "new_label_exports")(
            tick
        ).run_requests  # the loop closes itself
    assert [r.partition_key for r in requested] == [DAY]
    result = materialize_day(settings, DAY, selection=LABELS_IN)
    assert result.success
    assert check_results(result)["labeled_set_agreement"].passed

    labels = lake.read("human_labels", DAY)
    mine = labels.filter(pl.col("source_file").str.starts_with("labels/import/"))
    counted = mine.filter(
        pl.col("rejected_reason").is_null() | (pl.col("rejected_reason") == "cancelled")
    )
    assert sorted(counted["annotation_id"].to_list()) == sorted(posted)  # each once, none lost
    assert mine.filter(pl.col("rejected_reason") == "duplicate").height == len(posted)
    for row in counted.iter_rows(named=True):
        sent = posted[row["annotation_id"]]
        assert row["photo_id"] == sent["photo"]
        assert row["annotator"] == str(sent["user"])  # attributed, by id only
        assert row["lead_time"] == pytest.approx(sent["lead_time"])
        assert (row["rejected_reason"] == "cancelled") == sent["cancelled"]
        assert row["ground_truth"] == sent.get("gold", False)
        if not sent["cancelled"]:
            assert row["label"] == sent["label"]
    assert "@" not in labels.write_csv()  # no e-mail reaches a table

    labeled = lake.read("labeled_set", DAY)
    queued = {t["data"]["photo_id"] for t in tasks}
    by_humans = labeled.filter(pl.col("photo_id").is_in(list(queued)))
    assert set(by_humans["source"].to_list()) <= {"human", "gold"}
    assert by_humans.height == len(queued)
    annotators = {a for names in by_humans["annotators"].to_list() for a in names}
    assert annotators & {str(u) for u in users.values()}
