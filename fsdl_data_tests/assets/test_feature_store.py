"""The feature store through the graph: versions by publication time, a backfill that cannot
change a training set as known then, the online store and its parity gate, `features get`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import dagster as dg
import polars as pl
import pytest
import sqlalchemy as sa

from fsdl_data.config import Settings
from fsdl_data.core.calendar import nightly_publish_time
from fsdl_data.core.features import online
from fsdl_data.core.features.definitions import PHOTO_FEATURES
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.definitions import all_assets, all_checks
from fsdl_data.publishing import world_clock_config
from fsdl_data.resources import build_resources
from fsdl_data_tests.helpers import (
    SMALL,
    check_results,
    materialize_day,
    seed,
    step_failures,
    stores,
)

WORLD = replace(SMALL, photos_per_day=80, users=60, events_per_day=2500)
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03"]
FAST = {"ops": {"photo_classifier": {"config": {"steps": 20}}}}


def run(
    settings: Settings,
    selection: list[str],
    day: str,
    tags: dict | None = None,
    config: dict | None = None,
):
    return dg.materialize(
        [*all_assets, *all_checks], partition_key=day, resources=build_resources(settings),
        selection=selection, tags=tags or {}, run_config=config or {}, raise_on_error=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("features")
    for var in ("FSDL_OBJECT_STORE_URL", "FSDL_LAKE_URL", "FSDL_APP_DB_URL"):
        mp.delenv(var, raising=False)
    mp.setenv("FSDL_HOME", str(home / "fsdl"))
    settings = Settings.from_env()
    seed(settings, WORLD, days=len(DAYS))
    everything_but_the_model = dg.AssetSelection.all() - dg.AssetSelection.assets(
        "popularity_model"
    )
    for day in DAYS:  # a world this small cannot train a model that passes its own gate
        result = materialize_day(settings, day, selection=everything_but_the_model, run_config=FAST)
        assert result.success, (day, step_failures(result))
    yield settings
    mp.undo()


def test_features_are_stamped_with_their_publication(world) -> None:
    _, _, lake = stores(world)
    features = lake.read("user_features", DAYS[0])
    assert set(features["known_at"]) == {nightly_publish_time(DAYS[0])}
    training = lake.read("training_set", DAYS[-1])  # photos of DAYS[1]
    with_features = training.filter(pl.col("features_known_at").is_not_null())
    assert len(with_features) > 0
    assert (with_features["features_known_at"] <= with_features["posted_at"]).all()
    # photos posted before 02:00 could not use the previous night's features yet
    early = training.filter(pl.col("posted_at").dt.hour() < 2)
    assert (
        early["features_as_of"].is_null().all()
        or (early["features_as_of"] < pl.lit(datetime(2026, 1, 2, tzinfo=UTC))).all()
    )


def rebuild(settings: Settings, as_known_at: str | None) -> tuple[pl.DataFrame, str]:
    """The training set of the last day built again, as known at a moment, and its snapshot."""
    _, _, lake = stores(settings)
    config = {"ops": {"training_set": {"config": {"as_known_at": as_known_at}}}}
    result = run(settings, ["training_set", "training_snapshot"], DAYS[-1], config=config)
    assert result.success
    snapshot = result.asset_materializations_for_node("training_snapshot")[0]
    return lake.read("training_set", DAYS[-1]), snapshot.metadata["version"].value


def drop_events(settings: Settings, event_type: str, every: int) -> None:
    """Late events of DAYS[0] turn up: what the lake held lacked every `every`-th of a type."""
    _, _, lake = stores(settings)
    events = lake.read("events", DAYS[0])
    kept = ~((pl.col("event_type") == event_type) & (pl.col("line_no") % every == 0))
    lake.write("events", events.filter(kept), DAYS[0])


def test_a_backfill_adds_a_version_and_changes_only_what_asks_for_it(world) -> None:
    """A backfill through materialize() and one through the CLI, each published when it ran
    (the wall clock, not the world's): the training set as known then is rebuilt identical,
    as known now it has the corrected values, and no join is ever ambiguous."""
    _, _, lake = stores(world)
    built_at = nightly_publish_time(DAYS[-1]).isoformat()
    default_before, snapshot_default_before = rebuild(world, None)
    then_before, snapshot_then_before = rebuild(world, built_at)

    drop_events(world, "view", 5)  # a backfill through materialize(): known from now on
    before_backfill = datetime.now(UTC)
    result = run(world, ["user_features", "online_features"], DAYS[0])
    assert result.success
    assert check_results(result)["online_features_parity"].passed
    versions = lake.read("user_features", DAYS[0])
    assert versions["known_at"].n_unique() == 2 and len(versions) > len(lake.read("users", DAYS[0]))
    assert versions["known_at"].max() >= before_backfill  # when it actually ran
    now_first, snapshot_now_first = rebuild(world, datetime.now(UTC).isoformat())
    assert snapshot_now_first != snapshot_then_before
    assert not now_first["views_7d"].equals(then_before["views_7d"])  # the corrected values

    drop_events(world, "like", 4)  # a second backfill, through the CLI
    r = cli(["materialize", "--day", DAYS[0], "--job", "features", "--wall-clock"], world)
    assert r.returncode == 0, r.stdout + r.stderr
    versions = lake.read("user_features", DAYS[0])
    assert versions["known_at"].n_unique() == 3
    assert versions.select("user_id", "as_of", "known_at").is_duplicated().sum() == 0

    default_after, snapshot_default_after = rebuild(world, None)
    assert default_after.equals(default_before)  # as at posting, a backfill can never leak in
    assert snapshot_default_after == snapshot_default_before
    then_after, snapshot_then_after = rebuild(world, built_at)
    assert then_after.equals(then_before) and snapshot_then_after == snapshot_then_before
    now, snapshot_now = rebuild(world, datetime.now(UTC).isoformat())
    assert snapshot_now not in (snapshot_then_before, snapshot_now_first)
    assert not now["likes_7d"].equals(now_first["likes_7d"])


def test_a_corrected_title_rerun_is_a_new_photo_version(world) -> None:
    """A title corrected in the app database, the day re-run (by hand, then again under the
    world's simulated clock): each changed row is a later version, photo_features_keys passes."""
    _, db, lake = stores(world)
    photo = int(lake.read("photo_features", DAYS[1])["photo_id"][0])
    try:
        for title in ("a corrected title", "corrected again, under the world clock"):
            with db.engine.begin() as conn:
                conn.execute(sa.text("UPDATE photos SET title = :t WHERE photo_id = :p"),
                             {"t": title, "p": photo})  # fmt: skip
            config = world_clock_config() if "world" in title else {}
            result = run(
                world,
                ["photo_metadata", "photo_metadata_quarantine", "photo_features"],
                DAYS[1],
                config=config,
            )
            assert result.success
            assert check_results(result)["photo_features_keys"].passed
    finally:
        db.dispose()
    versions = lake.read("photo_features", DAYS[1]).filter(pl.col("photo_id") == photo)
    assert versions["title_length"].to_list()[-2:] == [len("a corrected title"),
                                                      len("corrected again, under the world clock")]  # fmt: skip
    assert versions["known_at"].is_unique().all() and versions["known_at"].is_sorted()


def test_online_store_serves_the_newest_versions_and_parity_holds(world) -> None:
    _, _, lake = stores(world)
    result = run(world, ["online_features"], DAYS[-1], config=world_clock_config())
    parity = check_results(result)["online_features_parity"]
    assert parity.passed and parity.metadata["compared"].value > 100
    db = AppDatabase(world.app_db_url)
    try:
        pushed = lake.read("online_features", DAYS[-1])
        user = pushed.filter(pl.col("entity") == "user")["entity_id"][0]
        vector = online.read_vector(db, "user", user, nightly_publish_time(DAYS[-1]))
        assert vector and all(v.status == "ok" for v in vector)
        # tamper with one value: the gate fails and names what differs
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(online.online_features)
                .where(
                    online.online_features.c.entity_id == user,
                    online.online_features.c.feature == "views_7d",
                )
                .values(value="12345")
            )
    finally:
        db.dispose()
    result = run(world, ["online_features", "popularity_model"], DAYS[-1],
                 config=world_clock_config())  # fmt: skip
    # pushing the same versions again replaces nothing (only newer rows win): the gate fails
    parity = check_results(result)["online_features_parity"]
    assert not parity.passed and f"user:{user} views_7d: online 12345" in parity.description
    assert "popularity_model" not in {
        e.asset_key.to_user_string() for e in result.get_asset_materialization_events()
    }


def cli(args: list[str], settings: Settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSDL_", "DAGSTER_"))}
    env["FSDL_HOME"] = str(settings.home)
    env["FSDL_START_DATE"] = DAYS[0]
    return subprocess.run([sys.executable, "-m", "fsdl_data.cli", *args], env=env,
                          cwd=settings.home, capture_output=True, text=True, timeout=300)  # fmt: skip


def test_features_get(world) -> None:
    _, _, lake = stores(world)
    photo = lake.read("photo_features", DAYS[-1])["photo_id"][0]
    at = nightly_publish_time(DAYS[-1]).isoformat()
    r = cli(["features", "get", f"photo:{photo}", "--at", at], world)
    assert r.returncode == 0, r.stderr
    assert "post_hour" in r.stdout and "location" in r.stdout and " ok" in r.stdout
    r = cli(["features", "get", f"photo:{photo}", "--at", at, "--json"], world)
    assert r.returncode == 0, r.stderr
    served = json.loads(r.stdout)
    assert [v["feature"] for v in served] == list(PHOTO_FEATURES)
    assert {v["status"] for v in served} == {"ok"} and all(v["value"] is not None for v in served)
    assert all(datetime.fromisoformat(v["known_at"]).utcoffset() is not None for v in served)
    before = (datetime.fromisoformat(served[0]["known_at"]) - timedelta(seconds=1)).isoformat()
    r = cli(["features", "get", f"photo:{photo}", "--at", before, "--json"], world)
    early = json.loads(r.stdout)
    assert {v["status"] for v in early} == {"not_yet_known"} and {v["value"] for v in early} == {
        None
    }
    r = cli(["features", "get", "user:1", "--at", "2026-02-01T00:00:00Z"], world)
    assert r.returncode == 0 and "expired (older than its TTL)" in r.stdout
    r = cli(["features", "get", f"photo:{photo}", "--json"], world)  # a generated world:
    assert {v["status"] for v in json.loads(r.stdout)} == {"ok"}  # as of its latest time
    r = cli(["features", "get", f"photo:{photo}"], world)
    assert f"as served at {nightly_publish_time(DAYS[-1]).isoformat()}" in r.stdout, r.stdout
    r = cli(["features", "get", "user:99999"], world)
    assert (
        r.returncode == 1 and "has no online features" in r.stderr and "Traceback" not in r.stderr
    )
    r = cli(["features", "get", "cat:1"], world)
    assert r.returncode == 1 and "ENTITY:ID" in r.stderr
    r = cli(["features", "get", "user:1", "--at", "yesterday"], world)
    assert r.returncode == 1 and "--at must be an ISO 8601 time" in r.stderr


def test_the_server_and_features_get_serve_as_of_one_clock(world) -> None:
    """Without a moment named, the feature server and `features get` serve as of the same
    moment (online.read_moment): in a generated world its latest time, not the wall clock,
    after which every user feature would be past its TTL (OUTSIDE_MAX_AGE)."""
    from starlette.testclient import TestClient

    from fsdl_data.core.features.definitions import USER_FEATURES
    from fsdl_data.core.features.serving import FEAST_STATUS
    from fsdl_data.core.world.generator import world_days
    from fsdl_data.feature_server import build_app

    objects, _, lake = stores(world)
    pushed = lake.read("online_features", DAYS[-1])
    ids = {
        e: int(pushed.filter(pl.col("entity") == e)["entity_id"].sort()[-1])
        for e in ("user", "photo")
    }
    names = {"user": USER_FEATURES, "photo": PHOTO_FEATURES}
    store = online.open_online_store(world.app_db_url)
    last = world_days(objects)[-1]
    with TestClient(build_app(store, None, lambda: last)) as client:
        assert client.get("/health").status_code == 200
        body = {"features": [f"{e}:{n}" for e in names for n in names[e]],
                "entities": {"user_id": [ids["user"]], "photo_id": [ids["photo"]]}}  # fmt: skip
        results = client.post("/get-online-features", json=body).json()["results"][2:]
    assert last == DAYS[-1]
    served = dict(zip([(e, n) for e in names for n in names[e]], results, strict=True))
    for entity, entity_id in ids.items():
        r = cli(["features", "get", f"{entity}:{entity_id}", "--json"], world)
        assert r.returncode == 0, r.stderr
        for value in json.loads(r.stdout):
            result = served[(entity, value["feature"])]
            assert result["statuses"] == [FEAST_STATUS[value["status"]]], (entity, value)
            assert result["values"] == [value["value"]]
            assert datetime.fromisoformat(result["known_at"][0]) == datetime.fromisoformat(
                value["known_at"]
            )
    assert {r["statuses"][0] for r in results} == {"PRESENT"}


def test_what_was_served_is_what_training_saw(world) -> None:
    """Serve through the feature server, materialize served_features: its check replays the
    logged requests through point-in-time retrieval and passes; tamper with the online store
    behind the server's back, serve again: the check fails naming entity and feature."""
    from starlette.testclient import TestClient

    from fsdl_data.core.features.served import ServedLog
    from fsdl_data.feature_server import build_app

    _, db, lake = stores(world)
    pushed = lake.read("online_features", DAYS[-1])
    users = sorted({int(i) for i in pushed.filter(pl.col("entity") == "user")["entity_id"]})[-5:]
    photos = sorted({int(i) for i in pushed.filter(pl.col("entity") == "photo")["entity_id"]})[-5:]
    first = nightly_publish_time(DAYS[-1]) + timedelta(hours=1)
    body = {"features": ["user:views_7d", "user:logins_1d", "photo:title_length", "photo:location"],
            "entities": {"user_id": users, "photo_id": photos}}  # fmt: skip

    def serve_at(moment: datetime) -> None:
        log = ServedLog(world.lake_url, interval=3600)
        store = online.open_online_store(world.app_db_url)
        with TestClient(build_app(store, log)) as client:
            response = client.post("/get-online-features", json={**body, "at": moment.isoformat()})
            assert response.status_code == 200, response.text
            assert set(response.json()["results"][3]["statuses"]) == {"PRESENT"}

    def check(moment: datetime) -> dg.AssetCheckEvaluation:
        day = moment.date().isoformat()
        result = run(world, ["served_features"], day)
        evaluation = check_results(result)["served_features_match_training"]
        served = result.asset_materializations_for_node("served_features")[0]
        assert served.metadata["requests"].value == len(users) + len(photos)
        assert "freshness_plot" in served.metadata and "median_age_h/views_7d" in served.metadata
        return evaluation

    serve_at(first)
    clean = check(first)
    assert clean.passed, clean.description
    try:
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(online.online_features)
                .where(online.online_features.c.entity_id == str(photos[0]),
                       online.online_features.c.feature == "location")
                .values(value='"Atlantis"')
            )  # fmt: skip
    finally:
        db.dispose()
    later = first + timedelta(days=1)
    serve_at(later)
    tampered = check(later)
    assert not tampered.passed
    assert (
        f"photo:{photos[0]} location" in tampered.description and "Atlantis" in tampered.description
    )
