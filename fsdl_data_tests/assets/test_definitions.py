"""The code location loads, and every asset and check we promise is defined."""

import dagster as dg

from fsdl_data.definitions import defs

ASSETS = {"raw_photos", "photo_metadata", "users", "raw_events", "events", "events_quarantine"}
CHECKS = {
    "raw_photos": {"raw_photos_schema", "raw_photos_keys", "raw_photos_decodable"},
    "photo_metadata": {"photo_metadata_schema", "photo_metadata_keys", "photo_metadata_users_exist",
                       "photo_metadata_posted_in_day"},
    "users": {"users_schema", "users_keys"},
    "raw_events": {"raw_events_not_empty"},
    "events": {"events_schema", "events_keys", "events_users_exist", "events_values_valid"},
    "events_quarantine": {"events_quarantine_schema", "events_quarantine_keys", "events_quarantine_rate"},
}  # fmt: skip


def test_defs_load() -> None:
    dg.Definitions.validate_loadable(defs)


def test_every_asset_and_check_is_defined_partitioned_and_described() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= ASSETS
    by_asset: dict[str, set[str]] = {}
    for ck in graph.asset_check_keys:
        by_asset.setdefault(ck.asset_key.to_user_string(), set()).add(ck.name)
    for asset, names in CHECKS.items():
        assert names <= by_asset.get(asset, set()), asset
    for key in ASSETS:
        node = graph.get(dg.AssetKey(key))
        assert node.partitions_def is not None and node.description, key
        assert node.owners and node.group_name in ("sources", "tables"), key


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
