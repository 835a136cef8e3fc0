"""label_issues and its way back to the annotators: a wrong human label injected into a day's
labeled set is flagged by the asset (scored out of sample, with the true class suggested), its
completeness check passes (and warns when a labeled photo goes unscored), and the next
labeling_queue sends the photo back for review with the reason in its row and in the Label
Studio task."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from dagster_aws.s3 import S3Resource

from fsdl_data.assets.labels.issues import LabelIssuesConfig, label_issues
from fsdl_data.assets.labels.queue import LabelingQueueConfig, labeling_queue
from fsdl_data.checks.labels import label_issues_complete
from fsdl_data.core.labels.active import LABELING_QUEUE
from fsdl_data.core.tables.schemas import CONTENT_CLASSES
from fsdl_data.resources import ObjectStoreResource
from fsdl_data_tests.core.labels.thumbnails import labeled_days, with_wrong_labels


@pytest.mark.parametrize("seed", range(2))
def test_an_injected_wrong_label_is_flagged_and_queued_back_with_its_reason(
    tmp_path: Path, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]
    labeled, pixels, true = labeled_days(rng, CONTENT_CLASSES, days, per_day=60)
    today = labeled.filter(pl.col("day") == days[-1])
    human = today.filter(pl.col("source") == "human")["photo_id"].to_list()
    wrong = int(rng.choice(human))
    noisy = with_wrong_labels(labeled, [wrong], true, CONTENT_CLASSES)
    day = days[-1].isoformat()

    out = label_issues(context=dg.build_asset_context(partition_key=day),
                       config=LabelIssuesConfig(), labeled_set=noisy, photo_pixels=pixels)  # fmt: skip
    issues = out.value
    row = issues.filter(pl.col("photo_id") == wrong).row(0, named=True)
    assert row["issue"] and row["source"] == "human"
    assert row["suggested_label"] == CONTENT_CLASSES[true[wrong - 1]]
    assert out.metadata["issues/human"].value >= 1
    assert str(wrong) in out.metadata["top_issues"].value
    today_labels, today_pixels = noisy.filter(pl.col("day") == days[-1]), pixels
    assert label_issues_complete(issues, today_labels, today_pixels).passed
    dropped = label_issues_complete(
        issues.filter(pl.col("photo_id") != wrong), today_labels, today_pixels
    )
    assert not dropped.passed and "1 labeled photos not scored" in dropped.description

    classifications = today.select("photo_id", "day").with_columns(
        key=pl.format("photos/date={}/{}.jpg", "day", "photo_id"),
        classifier_version=pl.lit("v1"),
        **{f"p_{c}": pl.lit(1 / len(CONTENT_CLASSES)) for c in CONTENT_CLASSES},
    )
    labeled_today = noisy.filter(pl.col("day") == days[-1]).with_columns(
        weak_label=pl.lit(None, pl.String)
    )
    annotations = labeled_today.filter(pl.col("source") == "human").select(
        "photo_id", rejected_reason=pl.lit(None, pl.String)
    )
    objects = ObjectStoreResource(url=f"file://{tmp_path}", s3=S3Resource())
    queue = labeling_queue(
        context=dg.build_asset_context(partition_key=day),
        config=LabelingQueueConfig(budget=3, reviews=len(issues)),
        objects=objects,
        photo_classifications=classifications,
        labeled_set=labeled_today,
        human_labels=annotations,
        labeling_queue=pl.DataFrame(schema=LABELING_QUEUE),
        label_issues=issues,
    )
    rows = queue.value.filter(pl.col("photo_id") == wrong)
    assert len(rows) == 1 and rows["review_reason"][0] == row["review_reason"]
    assert queue.metadata["reviews"].value == int(issues["issue"].sum())
    tasks = json.loads((tmp_path / f"labels/queue/date={day}/tasks.json").read_bytes())
    (task,) = [t for t in tasks if t["id"] == wrong]
    assert task["data"]["review_reason"] == row["review_reason"]
