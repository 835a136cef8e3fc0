"""The lecture's worked example end to end on the embedded default: four nights of the graph."""

from __future__ import annotations

from datetime import date

import dagster as dg
import numpy as np
import polars as pl
import pytest

from fsdl_data.checks.datasets import training_set_no_leakage
from fsdl_data.config import Settings
from fsdl_data.core.features.definitions import user_features
from fsdl_data.core.modeling.metrics import spearman
from fsdl_data.core.modeling.popularity import PopularityModel
from fsdl_data.core.versioning.snapshots import load_table
from fsdl_data.core.versioning.store import SnapshotStore
from fsdl_data.core.versions import code_version
from fsdl_data.core.world.spec import WorldSpec
from fsdl_data.definitions import all_assets, all_checks
from fsdl_data.resources import build_resources
from fsdl_data_tests.helpers import (
    check_results,
    materialize_day,
    materialized,
    seed,
    step_failures,
    stores,
)

WORLD = WorldSpec(seed=3, start_date=date(2026, 1, 1), photos_per_day=250, users=150, events_per_day=8000,
                  seed_label_fraction=0.1)  # fmt: skip
DAYS = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("worked")
    for var in ("FSDL_OBJECT_STORE_URL", "FSDL_LAKE_URL", "FSDL_APP_DB_URL"):
        mp.delenv(var, raising=False)
    mp.setenv("FSDL_HOME", str(home / "fsdl"))
    settings = Settings.from_env()
    seed(settings, WORLD, days=len(DAYS))
    instance = dg.DagsterInstance.ephemeral()
    results = {
        day: materialize_day(settings, day, instance=instance, selection=None) for day in DAYS
    }
    yield settings, instance, results
    mp.undo()


def test_every_night_succeeds_and_every_check_passes(nights) -> None:
    _, _, results = nights
    for day, r in results.items():
        assert r.success, (day, step_failures(r))
        failed = {n: e.description for n, e in check_results(r).items() if not e.passed}
        assert failed == {}, (day, failed)
    first, last = results[DAYS[0]], results[DAYS[-1]]
    assert "popularity_model" not in materialized(first)  # no labeled day yet: skipped, not failed
    assert {
        "training_snapshot",
        "popularity_model",
        "photo_classifications",
        "training_set",
    } <= materialized(last)
    assert check_results(last)["training_set_no_leakage"].passed
    assert check_results(last)["popularity_model_beats_baseline"].passed


def test_labels_mature_a_day_later(nights) -> None:
    settings, _, _ = nights
    _, _, lake = stores(settings)
    labels = lake.read("popularity_labels", "2026-01-03")
    assert labels["posted_at"].dt.date().unique().to_list() == [date(2026, 1, 2)]
    assert labels["likes_24h"].null_count() == 0
    assert lake.read("popularity_labels", "2026-01-01").is_empty()
    truth = pl.read_parquet(settings.truth_dir / "photos" / "2026-01-02.parquet")
    j = labels.join(truth, on="photo_id")
    # the logs give the truth, less the few likes delivered after the label was computed
    assert (j["likes_24h"] <= j["likes_24h_right"]).all()
    assert j["likes_24h"].sum() / j["likes_24h_right"].sum() > 0.95


def test_classifications_carry_the_classifier_version(nights) -> None:
    settings, _, _ = nights
    _, _, lake = stores(settings)
    version = lake.read("photo_classifier")["version"][0]
    cls = lake.read("photo_classifications", DAYS[-1])
    assert set(cls["classifier_version"]) == {version}
    truth = pl.read_parquet(settings.truth_dir / "photos" / f"{DAYS[-1]}.parquet")
    acc = float(
        (
            cls.join(truth, on="photo_id")
            .select(pl.col("predicted_class") == pl.col("content"))
            .mean()
        ).item()
    )
    assert acc > 0.6


def test_snapshot_is_reproducible_and_content_addressed(nights) -> None:
    settings, instance, _ = nights
    _, _, lake = stores(settings)
    first = lake.read("training_snapshot")["version"][0]
    again = dg.materialize(
        [*all_assets, *all_checks], selection=dg.AssetSelection.assets("training_snapshot"),
        resources=build_resources(settings), instance=instance,
    )  # fmt: skip
    assert lake.read("training_snapshot")["version"][0] == first
    mat = again.get_asset_materialization_events()[0].materialization
    assert mat.tags["dagster/data_version"] == first
    assert mat.metadata["files_read"].value == 0  # nothing changed: nothing read again
    meta = {k: mat.metadata[k].value for k in ("files", "files_read", "files_reused")}
    assert meta["files"] == meta["files_read"] + meta["files_reused"]  # one meaning each
    snapshots = SnapshotStore(lake.store)
    manifest = snapshots.read(first, "training_set")
    assert [f.partition for f in manifest.files] == DAYS[1:]  # the first day has no labels yet
    versions = {d: lake_version(instance, "training_set", d) for d in DAYS[1:]}
    assert {f.partition: f.data_version for f in manifest.files} == versions
    assert manifest.upstream == {f"training_set[{d}]": v for d, v in versions.items()}
    # the code that made the table, not the repository's commit (any commit would change it)
    assert manifest.code == {"training_set": code_version("training_set")}
    rows = load_table(snapshots, manifest)
    assert len(rows) == manifest.row_count > 500
    assert snapshots.verify([first]) == []


def lake_version(instance: dg.DagsterInstance, asset: str, day: str) -> str:
    record = instance.get_latest_data_version_record(dg.AssetKey(asset), partition_key=day)
    return record.asset_materialization.tags["dagster/data_version"]


def test_model_learns_popularity(nights) -> None:
    settings, _, _ = nights
    _, _, lake = stores(settings)
    m = lake.read("popularity_model").row(0, named=True)
    assert m["held_out_day"] == DAYS[-1] and m["auc_above_median"] > 0.6 and m["spearman"] > 0.2
    model = PopularityModel.from_bytes(lake.store.get(m["model_key"]))
    snapshots = SnapshotStore(lake.store)
    rows = load_table(snapshots, snapshots.read(m["snapshot_version"], "training_set"))
    held = rows.filter(pl.col("snapshot_part") == DAYS[-1])
    truth = pl.read_parquet(settings.truth_dir / "photos" / "2026-01-03.parquet")
    j = held.join(truth, on="photo_id")
    against_truth = spearman(model.predict(j), j["log_popularity"].to_numpy())
    assert against_truth > 0.3, against_truth
    assert np.isclose(
        spearman(model.predict(held), held["likes_24h"].to_numpy()), m["spearman"], atol=1e-6
    )


def test_leaky_join_fails_the_leakage_check(nights) -> None:
    settings, _, _ = nights
    _, _, lake = stores(settings)
    good = lake.read("training_set", DAYS[-1])
    assert training_set_no_leakage(training_set=good).passed
    # the bug the check exists for: features of the posting day itself, computed at its end
    same_day = user_features(lake.read("events", DAYS[-2]), lake.read("users", DAYS[-2]), DAYS[-2])
    leaky = good.drop(
        "features_as_of", "features_max_event_ts", "logins_1d", "views_7d", "likes_7d", "posts_1d"
    ).join(
        same_day.rename({"as_of": "features_as_of", "max_event_ts": "features_max_event_ts"}).drop(
            "feature_date"
        ),
        on="user_id",
    )
    result = training_set_no_leakage(training_set=leaky)
    assert not result.passed and "use features from after posting" in result.description


def test_labeled_set_sources_provenance_and_the_classifier_loop(nights) -> None:
    settings, _, results = nights
    _, _, lake = stores(settings)
    truth = pl.concat(
        [pl.read_parquet(p) for p in (settings.truth_dir / "photos").glob("*.parquet")]
    )
    last = lake.read("labeled_set", DAYS[-1])
    assert len(last) == WORLD.photos_per_day  # a row for every photo of the day
    by_source = dict(last.group_by("source").len().iter_rows())
    assert by_source.get("gold", 0) >= 1 and by_source["human"] >= 10 and by_source["weak"] > 100
    every_day = pl.concat([lake.read("labeled_set", d) for d in DAYS])
    right = (
        every_day.join(truth, on="photo_id")
        .group_by("source")
        .agg((pl.col("label") == pl.col("content")).mean().alias("accuracy"))
    )
    accuracy = dict(right.iter_rows())
    assert accuracy["gold"] == 1.0 and accuracy["human"] > 0.85 and accuracy["weak"] > 0.75
    weak = last.filter(pl.col("source") == "weak")
    assert (weak["labeling_functions"].list.len() > 0).all()
    assert (
        weak["label_model_version"].n_unique() == 1
        and weak["labeling_functions_version"].n_unique() == 1
    )
    # the classifier votes as a labeling function from the second day, with the classifier
    # trained the night before (as known before the day), never the one trained on that day
    versions = {d: lake.read("label_matrix", d)["classifier_version"][0] for d in DAYS}
    assert versions[DAYS[0]] is None and versions[DAYS[1]] is not None
    classifier = lake.read("photo_classifier").row(0, named=True)
    assert classifier["labels_through"] == DAYS[-1] and versions[DAYS[-1]] != classifier["version"]
    assert classifier["labeled_photos"] > 500  # gold + human + confident weak labels
    meta = results[DAYS[-1]].asset_materializations_for_node("labeled_set")[0].metadata
    assert meta["label_sources"].value.startswith("![plot](data:image/png;base64,")
    lf_meta = results[DAYS[-1]].asset_materializations_for_node("lf_analysis")[0].metadata
    assert lf_meta["per_function"].value.records and "plot" in lf_meta


def test_labeling_queue_is_published_for_label_studio(nights) -> None:
    """Each night queues the most uncertain photos within the budget, never one a human labeled
    or an earlier night queued, as Label Studio tasks with the classifier's pre-annotation; ahead
    of them the day's top label issues go back for review, once each, with their reason."""
    import json
    import xml.etree.ElementTree as ElementTree

    from fsdl_data.core.tables.schemas import CONTENT_CLASSES

    settings, _, results = nights
    objects, _, lake = stores(settings)
    queued: set[int] = set()
    reviewed: set[int] = set()
    for day in DAYS:
        assert "labeling_queue" in materialized(results[day])
        both = lake.read("labeling_queue", day)
        queue = both.filter(pl.col("review_reason").is_null())  # new photos
        assert 0 < len(queue) <= 50
        ids = set(queue["photo_id"].to_list())
        assert not ids & queued, day  # never queued twice
        queued |= ids
        labeled = lake.read("labeled_set", day).filter(pl.col("source").is_in(["gold", "human"]))
        assert not ids & set(labeled["photo_id"].to_list())
        assert queue["uncertainty"].to_list() == sorted(queue["uncertainty"], reverse=True)
        # ahead of them, re-reviews: the day's top label issues, each once, with their reason
        back = both.filter(pl.col("review_reason").is_not_null())
        issues = lake.read("label_issues", day).filter(pl.col("issue")).sort("issue_rank")
        assert back["photo_id"].to_list() == issues["photo_id"].head(10).to_list()
        assert back["review_reason"].to_list() == issues["review_reason"].head(10).to_list()
        assert both["rank"].to_list() == list(range(1, len(both) + 1))
        assert not set(back["photo_id"].to_list()) & reviewed
        reviewed |= set(back["photo_id"].to_list())
        tasks = json.loads(objects.get(f"labels/queue/date={day}/tasks.json"))
        assert [t["id"] for t in tasks] == both["photo_id"].to_list()
        first = tasks[len(back)]
        assert first["data"]["photo_id"] == first["id"]
        assert first["data"]["image"].startswith("/data/local-files/?d=photos/date=")
        prediction = first["predictions"][0]
        assert prediction["model_version"] == queue["classifier_version"][0]
        assert first["data"]["review_reason"] == ""
        assert prediction["result"][0]["value"]["choices"][0] in CONTENT_CLASSES
        assert 0 < prediction["score"] <= 1
    config = ElementTree.fromstring(
        objects.get(f"labels/queue/date={DAYS[-1]}/labeling_config.xml")
    )
    assert [c.get("value") for c in config.iter("Choice")] == list(CONTENT_CLASSES)


def test_gold_qa_and_agreement_are_checked_every_night(nights) -> None:
    settings, _, results = nights
    _, _, lake = stores(settings)
    for day in DAYS:
        checks = check_results(results[day])
        agreement = checks["labeled_set_agreement"]
        assert agreement.passed
        alpha = agreement.metadata["krippendorff_alpha"].value
        assert 0.5 <= alpha < 1.0
        assert checks["annotator_quality_gold"].metadata["annotators_on_gold"].value > 0
    quality = lake.read("annotator_quality", DAYS[-1])
    assert quality["gold_accuracy_low"].drop_nulls().le(quality["gold_accuracy"].drop_nulls()).all()


def test_every_table_column_has_a_description(nights) -> None:
    from fsdl_data.core.columns import column_description

    settings, _, _ = nights
    _, _, lake = stores(settings)
    missing = {
        f"{table}.{column}"
        for table in lake.tables()
        for column in lake.read(
            table, lake.partitions(table)[-1] if lake.partitions(table) else None
        ).columns
        if column_description(column) is None
    }
    assert missing == set()
