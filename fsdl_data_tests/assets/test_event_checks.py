"""The `events` checks read the day row group by row group from the lake: a broken partition,
its faults split across row groups, fails each check that should fail, with its counts."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import dagster as dg
import polars as pl

from fsdl_data.checks.tables import (
    events_contract,
    events_fresh,
    events_users_exist,
    events_values_valid,
)
from fsdl_data.config import Settings
from fsdl_data.core.storage.lake import Lake, parquet_batches
from fsdl_data.core.storage.objects import open_object_store
from fsdl_data.core.tables.schemas import EVENTS, USERS
from fsdl_data.resources import build_resources

DAY = "2026-01-02"


def _events(ids: list[str], users: list[int], hours: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": ids,
            "event_type": ["view"] * len(ids),
            "user_id": users,
            "photo_id": [1] * len(ids),
            "ts": [datetime(2026, 1, 2, h, tzinfo=UTC) for h in hours],
            "client": ["ios"] * len(ids),
            "source_key": ["k"] * len(ids),
            "line_no": list(range(len(ids))),
        }
    ).cast(EVENTS)


def test_the_events_checks_fail_on_faults_split_across_row_groups(
    embedded_settings: Settings,
) -> None:
    lake = Lake(open_object_store(embedded_settings.lake_url))
    users = pl.DataFrame({"user_id": [1, 2]}, schema={"user_id": pl.Int64}).with_columns(
        [pl.lit(None, dtype).alias(name) for name, dtype in USERS.items() if name != "user_id"]
    )
    lake.write("users", users, DAY)
    groups = [
        _events(["a", "b"], [1, 2], [1, 2]),
        _events(["c", "a"], [9, 1], [3, 23]),  # "a" again, in another row group; user 9 unknown
        _events(["d"], [9], [4]),
    ]
    data, rows = parquet_batches(iter(groups), EVENTS)
    assert rows == 5
    lake.write_bytes("events", data, DAY)
    assert len(list(lake.read_batches("events", DAY))) == 3

    # each check's own function, on the partition's day: what Dagster calls after `events`
    context = SimpleNamespace(partition_key=DAY)
    resource = build_resources(embedded_settings)["lake"]
    checks: dict[str, dg.AssetCheckResult] = {}
    for check in (events_values_valid, events_fresh, *events_contract):
        checks[check.check_key.name] = check.op.compute_fn.decorated_fn(context, lake=resource)
    run = events_users_exist.op.compute_fn.decorated_fn
    checks["events_users_exist"] = run(context, lake=resource, users=users)
    assert set(checks) == {
        "events_schema", "events_keys", "events_users_exist", "events_values_valid", "events_fresh",
    }  # fmt: skip
    assert checks["events_schema"].passed
    assert not checks["events_keys"].passed
    assert checks["events_keys"].metadata["duplicates"].value == 1
    assert "'a'" in checks["events_keys"].description
    assert not checks["events_users_exist"].passed
    assert checks["events_users_exist"].metadata["orphan_rows"].value == 2
    assert checks["events_values_valid"].passed
    assert checks["events_fresh"].passed  # the newest event, 23:00, is in a middle group
