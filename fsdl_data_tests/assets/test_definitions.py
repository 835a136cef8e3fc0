"""The code location loads, and every asset and check we promise is defined."""

import dagster as dg

from fsdl_data.definitions import defs

ASSETS = {"raw_photos", "photo_pixels", "photo_metadata", "photo_metadata_quarantine", "users",
          "raw_events", "events",
          "events_quarantine"}  # fmt: skip
WORKED_EXAMPLE = {
    "user_features", "photo_features", "human_labels", "popularity_labels", "photo_classifier",
    "photo_classifications", "training_set", "training_snapshot", "popularity_model",
    "online_features", "served_features", "labeled_set_snapshot", "raw_photos_snapshot",
}  # fmt: skip
LABELED_SETS = {
    "photo_pixels", "human_consensus", "annotator_quality", "label_matrix", "lf_analysis",
    "labeled_set",
}  # fmt: skip
CHECKS = {
    "raw_photos": {"raw_photos_schema", "raw_photos_keys", "raw_photos_decodable"},
    "photo_pixels": {"photo_pixels_schema", "photo_pixels_keys"},
    "human_consensus": {"human_consensus_schema", "human_consensus_keys"},
    "label_matrix": {"label_matrix_schema", "label_matrix_keys"},
    "lf_analysis": {"lf_analysis_schema", "lf_analysis_keys", "lf_analysis_drift"},
    "labeled_set": {"labeled_set_schema", "labeled_set_keys", "labeled_set_valid"},
    "photo_metadata": {"photo_metadata_schema", "photo_metadata_keys", "photo_metadata_users_exist",
                       "photo_metadata_posted_in_day", "photo_metadata_fresh"},
    "users": {"users_schema", "users_keys"},
    "raw_events": {"raw_events_not_empty"},
    "events": {"events_schema", "events_keys", "events_users_exist", "events_values_valid", "events_fresh"},
    "events_quarantine": {"events_quarantine_schema", "events_quarantine_keys", "events_quarantine_rate"},
    "user_features": {"user_features_schema", "user_features_keys", "user_features_no_future_events"},
    "photo_features": {"photo_features_schema", "photo_features_keys", "photo_features_cover_photos"},
    "human_labels": {"human_labels_rejections"},
    "popularity_labels": {"popularity_labels_schema", "popularity_labels_keys", "popularity_labels_non_negative"},
    "photo_classifications": {"photo_classifications_schema", "photo_classifications_keys",
                              "photo_classifications_valid"},
    "training_set": {"training_set_no_leakage"},
    "served_features": {"served_features_match_training"},
    "online_features": {"online_features_parity", "online_features_schema", "online_features_keys"},
    "popularity_model": {"popularity_model_beats_baseline"},
}  # fmt: skip


def test_defs_load() -> None:
    dg.Definitions.validate_loadable(defs)


def test_every_asset_and_check_is_defined_partitioned_and_described() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= ASSETS | WORKED_EXAMPLE | LABELED_SETS
    by_asset: dict[str, set[str]] = {}
    for ck in graph.asset_check_keys:
        by_asset.setdefault(ck.asset_key.to_user_string(), set()).add(ck.name)
    for asset, names in CHECKS.items():
        assert names <= by_asset.get(asset, set()), asset
    unpartitioned = {
        "photo_classifier", "training_snapshot", "popularity_model", "labeled_set_snapshot",
        "raw_photos_snapshot",
    }  # fmt: skip
    for key in keys:
        node = graph.get(dg.AssetKey(key))
        assert (node.partitions_def is None) == (key in unpartitioned), key
        assert node.description and node.owners and node.kinds, key


def test_ingest_job_and_blocking_checks() -> None:
    assert defs.resolve_job_def("ingest") is not None
    graph = defs.resolve_asset_graph()
    blocking = {ck.name for ck in graph.asset_check_keys if graph.get_check_spec(ck).blocking}
    assert {
        "events_schema",
        "events_keys",
        "photo_metadata_users_exist",
        "events_users_exist",
    } <= blocking
    assert "events_quarantine_rate" not in blocking


def test_definitions_built_twice_in_one_process_keep_their_own_settings(tmp_path) -> None:
    """Settings are read once and passed down: two definitions from different settings, built
    in the same process, each have their own calendar, stores, sensor interval and executor
    (nothing was read from the environment at import)."""
    from fsdl_data.config import Settings
    from fsdl_data.definitions import build_definitions

    january = Settings.from_env({"FSDL_HOME": str(tmp_path / "a"), "FSDL_START_DATE": "2026-01-01",
                                 "FSDL_END_DATE": "2026-01-03"})  # fmt: skip
    march = Settings.from_env({"FSDL_HOME": str(tmp_path / "b"), "FSDL_START_DATE": "2026-03-01",
                               "FSDL_END_DATE": "2026-03-02", "FSDL_SENSOR_INTERVAL_S": "7",
                               "FSDL_LAKE_URL": "s3://bucket/lake",
                               "FSDL_EXECUTOR": "celery"})  # fmt: skip
    first, second = build_definitions(january), build_definitions(march)
    for built, days, lake, interval, executor in (
        (first, ["2026-01-01", "2026-01-02", "2026-01-03"], january.lake_url, 30,
         "gpu_aware_multiprocess"),
        (second, ["2026-03-01", "2026-03-02"], "s3://bucket/lake", 7, "celery"),
    ):  # fmt: skip
        graph = built.resolve_asset_graph()
        calendars = {
            str(graph.get(key).partitions_def.get_partition_keys())
            for key in [*graph.get_all_asset_keys(), *graph.asset_check_keys]
            if graph.get(key).partitions_def is not None
        }
        assert calendars == {str(days)}  # every daily asset and check: the settings' days
        assert built.resolve_job_def("nightly").partitions_def.get_partition_keys() == days
        resources = built.resources or {}
        assert resources["lake"].url == lake
        sensors = list(built.sensors or [])
        assert {s.minimum_interval_seconds for s in sensors} == {interval}
        assert built.resolve_job_def("nightly").executor_def.name == executor


def test_every_plot_is_named_in_its_assets_description() -> None:
    """Dagster's UI opens a picture only from its metadata entry ("Show Markdown"), so the
    description of an asset of the module that writes it must name that entry."""
    import re
    from pathlib import Path

    import fsdl_data.assets

    nodes = defs.resolve_asset_graph().asset_nodes
    found = 0
    for module in Path(fsdl_data.assets.__file__).parent.rglob("*.py"):
        code = module.read_text()
        plots = set(re.findall(r"""["']?(\w+)["']?\]?\s*[=:]\s*picture\(""", code))
        mine = [n.description or "" for n in nodes if f"def {n.key.to_user_string()}(" in code]
        named = {name for text in mine for name in re.findall(r"`(\w+)`", text)}
        assert plots - named == set(), f"{module.name}: plots no description names"
        found += len(plots)
    assert found >= 7
