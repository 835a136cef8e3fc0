"""Staleness follows versions: a new feature code version or a new classifier shows everything
downstream as out of date, through Dagster's own staleness resolver (what the UI shows)."""

from __future__ import annotations

from dataclasses import replace

import dagster as dg
import pytest
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from fsdl_data.config import Settings
from fsdl_data.core.features import definitions
from fsdl_data.definitions import all_assets, all_checks
from fsdl_data.resources import build_resources
from fsdl_data_tests.helpers import SMALL, materialize_day, seed

DAYS = ["2026-01-01", "2026-01-02"]
FAST = {"ops": {"photo_classifier": {"config": {"steps": 10}}}}


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
    graph = AssetGraph.from_assets(assets)
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


def test_new_feature_code_is_stale_and_its_new_values_make_downstream_stale(
    world, monkeypatch
) -> None:
    settings, instance = world
    day, next_day = DAYS
    assert set(
        statuses(instance, all_assets, ["user_features", "online_features"], day).values()
    ) == {StaleStatus.FRESH}
    assert (
        statuses(instance, all_assets, ["training_set"], next_day)["training_set"]
        == StaleStatus.FRESH
    )
    # a feature's code changes (a bug fix: views_7d counted the wrong events): a new code version
    changed_code = with_code_version("user_features", "views-fixed")
    assert (
        statuses(instance, changed_code, ["user_features"], day)["user_features"]
        == StaleStatus.STALE
    )
    changed = tuple(
        replace(f, aggregation=definitions.CountEvents("like")) if f.name == "views_7d" else f
        for f in definitions.FEATURES
    )
    monkeypatch.setattr(definitions, "FEATURES", changed)
    result = dg.materialize([*changed_code, *all_checks], partition_key=day, instance=instance,
                            resources=build_resources(settings), selection=["user_features"])  # fmt: skip
    assert result.success
    # its values changed, so its data version did: everything downstream is out of date
    after = statuses(instance, changed_code, ["user_features", "online_features"], day)
    assert after == {"user_features": StaleStatus.FRESH, "online_features": StaleStatus.STALE}
    assert (
        statuses(instance, changed_code, ["training_set"], next_day)["training_set"]
        == StaleStatus.STALE
    )
    assert (
        statuses(instance, changed_code, ["photo_features"], day)["photo_features"]
        == StaleStatus.FRESH
    )


def test_a_new_classifier_marks_its_outputs_stale_until_rematerialized(world) -> None:
    settings, instance = world
    day = DAYS[-1]
    keys = ["photo_classifications"]
    assert set(statuses(instance, all_assets, keys, day).values()) == {StaleStatus.FRESH}
    # retrain with another config: a new classifier version, its data version
    dg.materialize([*all_assets, *all_checks], instance=instance, resources=build_resources(settings),
                   selection=dg.AssetSelection.assets("photo_classifier"),
                   run_config={"ops": {"photo_classifier": {"config": {"steps": 11, "warm_steps": 11}}}})  # fmt: skip
    stale = statuses(instance, all_assets, keys, day)
    assert stale["photo_classifications"] == StaleStatus.STALE
    assert materialize_day(
        settings, day, instance, dg.AssetSelection.assets("photo_classifications")
    ).success
    assert (
        statuses(instance, all_assets, ["photo_classifications"], day)["photo_classifications"]
        == StaleStatus.FRESH
    )
