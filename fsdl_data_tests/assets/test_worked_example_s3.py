"""The whole nightly graph on S3 (over HTTP) + Postgres: the production backends, unchanged code.
Covers DataLoader workers fetching photos from S3 in forked processes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fsdl_data.config import Settings
from fsdl_data_tests.assets.test_worked_example import WORLD
from fsdl_data_tests.helpers import (
    check_results,
    materialize_day,
    materialized,
    seed,
    step_failures,
    stores,
)


@pytest.mark.s3
@pytest.mark.postgres
def test_three_nights_on_s3_and_postgres(production_settings: Settings) -> None:
    world = replace(WORLD, photos_per_day=120, events_per_day=4000, seed_label_fraction=0.15)
    days = [r.day for r in seed(production_settings, world, days=3)]
    for day in days:
        result = materialize_day(production_settings, day, selection=None)
        assert result.success, (day, step_failures(result))
        assert [n for n, e in check_results(result).items() if not e.passed] == [], day
    assert "popularity_model" in materialized(result)
    _, _, lake = stores(production_settings)
    assert lake.url.startswith("s3://")
    cls = lake.read("photo_classifications", days[-1])
    assert len(cls) == 120 and cls["classifier_version"].n_unique() == 1
    snap = lake.read("training_snapshot").row(0, named=True)
    assert snap["parts"] == 2 and lake.store.head(snap["manifest_key"]) is not None
    assert lake.read("labeled_set_snapshot")["parts"][0] == 3  # a day of labels a night
