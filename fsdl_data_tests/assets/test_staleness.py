"""Staleness follows versions: a new feature code version or a new classifier shows everything
downstream as out of date, through Dagster's own staleness resolver (what the UI shows)."""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
import pytest
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from fsdl_data.config import Settings
from fsdl_data.definitions import all_assets, all_checks
from fsdl_data.resources import build_resources
from fsdl_data_tests.helpers import SMALL, materialize_day, seed

DAYS = ["2026-01-01", "2026-01-02"]
FAST = {"ops": {"photo_classifier": {"config": {"steps": 10}}}}
DOWNSTREAM_OF_FEATURES = ["online_features", "training_set"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("staleness")
    for var in ("FSDL_OBJECT_STORE_URL", "FSDL_LAKE_URL", "FSDL_APP_DB_URL"):
        mp.delenv(var, raising=False)
    mp.setenv("FSDL_HOME", str(home / "fsdl"))
    settings = Settings.from_env()
    seed(settings, replace(SMALL, photos_per_day=40, events_per_day=1500), days=len(DAYS))
    instance = dg.DagsterInstance.ephemeral()
    selection = dg.AssetSelection.all() - dg.AssetSelection.assets("popularity_model")
    for day in DAYS:
        assert materialize_day(settings, day, instance, selection, FAST).success
    yield settings, instance
    mp.undo()


def statuses(
    instance: dg.DagsterInstance, assets: list, keys: list[str], day: str
) -> dict[str, StaleStatus]:
    graph = dg.Definitions(assets=assets).resolve_asset_graph()
    resolver = CachingStaleStatusResolver(instance, graph, LoadingContextForTest(instance))
    return {
        k: resolver.get_status(
            dg.AssetKey(k), day if graph.get(dg.AssetKey(k)).partitions_def else None
        )
        for k in keys
    }


def with_code_version(key: str, version: str) -> list:
    return [
        a.map_asset_specs(
            lambda s: (
                s.replace_attributes(code_version=version) if s.key.to_user_string() == key else s
            )
        )
        for a in all_assets
    ]


def test_changing_feature_code_marks_everything_downstream_stale(world) -> None:
    settings, instance = world
    day = DAYS[-1]
    now = statuses(instance, all_assets, ["user_features", *DOWNSTREAM_OF_FEATURES], day)
    assert set(now.values()) == {StaleStatus.FRESH}
    changed = statuses(instance, with_code_version("user_features", "new-definitions"),
                       ["user_features", *DOWNSTREAM_OF_FEATURES, "photo_features"], day)  # fmt: skip
    assert changed["user_features"] == StaleStatus.STALE
    assert all(changed[k] == StaleStatus.STALE for k in DOWNSTREAM_OF_FEATURES), changed
    assert changed["photo_features"] == StaleStatus.FRESH  # not downstream: untouched


def test_a_new_classifier_marks_its_outputs_stale_until_rematerialized(world) -> None:
    settings, instance = world
    day = DAYS[-1]
    keys = ["photo_classifications", "training_set"]
    assert set(statuses(instance, all_assets, keys, day).values()) == {StaleStatus.FRESH}
    # retrain with another config: a new classifier version, its data version
    dg.materialize([*all_assets, *all_checks], instance=instance, resources=build_resources(settings),
                   selection=dg.AssetSelection.assets("photo_classifier"),
                   run_config={"ops": {"photo_classifier": {"config": {"steps": 11}}}})  # fmt: skip
    stale = statuses(instance, all_assets, keys, day)
    assert stale["photo_classifications"] == StaleStatus.STALE
    assert materialize_day(
        settings, day, instance, dg.AssetSelection.assets("photo_classifications")
    ).success
    assert (
        statuses(instance, all_assets, ["photo_classifications"], day)["photo_classifications"]
        == StaleStatus.FRESH
    )
