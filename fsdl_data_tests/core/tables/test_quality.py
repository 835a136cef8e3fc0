"""Quality rules on tiny frames, passing and failing."""

from __future__ import annotations

import polars as pl

from fsdl_data.core.storage.urls import parse_location, redact_url
from fsdl_data.core.tables import quality
from fsdl_data.core.tables.preview import markdown_preview


def test_schema_drift_is_named() -> None:
    df = pl.DataFrame({"a": [1], "b": ["x"]})
    assert quality.schema_matches(df, {"a": pl.Int64, "b": pl.String}).passed
    o = quality.schema_matches(df, {"a": pl.String, "c": pl.Int64})
    assert not o.passed and "missing=['c']" in o.description and "extra=['b']" in o.description


def test_keys_nulls_and_uniqueness() -> None:
    df = pl.DataFrame({"k": [1, 2, 2, None]})
    assert not quality.no_nulls(df, ["k"]).passed
    o = quality.unique(df.drop_nulls(), ["k"])
    assert not o.passed and o.metadata["duplicates"] == 1
    assert quality.unique(pl.DataFrame({"k": [1, 2]}), ["k"]).passed


def test_references_report_orphans() -> None:
    child = pl.DataFrame({"user_id": [1, 2, 9, 9]})
    parent = pl.DataFrame({"user_id": [1, 2]})
    o = quality.references(child, "user_id", parent, "user_id", "users")
    assert (
        not o.passed
        and o.metadata == {"orphan_rows": 2, "orphan_keys": 1}
        and "[9]" in o.description
    )
    assert quality.references(parent, "user_id", child, "user_id", "x").passed


def test_range_values_and_shares() -> None:
    df = pl.DataFrame({"v": [0, 5, 10], "t": ["a", "b", "z"]})
    assert not quality.in_range(df, "v", 0, 10).passed and quality.in_range(df, "v", 0, 11).passed
    assert not quality.values_in(df, "t", {"a", "b"}).passed
    warn = quality.share_below(1, 100, "bad", warn_above=0.0, fail_above=0.05)
    assert not warn.passed and not warn.severe
    fail = quality.share_below(10, 100, "bad", warn_above=0.0, fail_above=0.05)
    assert not fail.passed and fail.severe
    assert quality.share_below(0, 100, "bad", 0.0, 0.05).passed
    assert not quality.not_empty(len(df.head(0)), "x").passed


def test_urls_and_preview() -> None:
    assert parse_location("s3://b/p/q/").path == "p/q"
    assert parse_location("file://.fsdl/objects").path == ".fsdl/objects"
    assert parse_location("file:///abs/dir").path == "/abs/dir"
    assert redact_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    md = markdown_preview(pl.DataFrame({"a": [1, 2], "b": [b"\x00", None]}), rows=1)
    assert md.startswith("| a | b |") and md.endswith("2 rows")


def test_freshness_of_a_partition() -> None:
    from datetime import datetime

    df = pl.DataFrame({"ts": [datetime(2026, 1, 1, 3), datetime(2026, 1, 1, 23)]})
    assert quality.covers_until(df, "ts", datetime(2026, 1, 1, 22), "event").passed
    stale = quality.covers_until(df.head(1), "ts", datetime(2026, 1, 1, 22), "event")
    assert not stale.passed and not stale.severe and "stale" in stale.description
    assert not quality.covers_until(df.head(0), "ts", datetime(2026, 1, 1, 22), "event").passed


def test_strictly_before() -> None:
    from datetime import datetime

    df = pl.DataFrame(
        {"a": [datetime(2026, 1, 1), None], "b": [datetime(2026, 1, 2), datetime(2026, 1, 1)]}
    )
    assert quality.strictly_before(df, "a", "b").passed
    equal = pl.DataFrame({"a": [datetime(2026, 1, 2)], "b": [datetime(2026, 1, 2)]})
    o = quality.strictly_before(equal, "a", "b")
    assert not o.passed and o.metadata["violations"] == 1


def test_rules_over_row_groups_say_what_they_say_over_the_whole_partition() -> None:
    """A partition read as batches (its row groups) passes or fails each rule exactly as the
    whole frame does, with the same counts: duplicates and orphans split across batches
    included, and an empty batch among them."""
    from datetime import datetime

    whole = pl.DataFrame(
        {
            "k": ["a", "b", "c", "a", "d", None, "c", "e"],
            "user_id": [1, 2, 9, 9, 1, 2, 7, None],
            "ts": [datetime(2026, 1, d) for d in (1, 2, 3, 9, 2, 1, 2, 4)],
            "t": ["x", "y", "x", "q", "x", "x", "r", "x"],
        }
    )
    batches = [whole.slice(0, 3), whole.head(0), whole.slice(3, 2), whole.slice(5, 3)]
    parent = pl.DataFrame({"user_id": [1, 2]})
    pairs = [
        (quality.no_nulls(whole, ["k"]), quality.no_nulls_over(batches, ["k"])),
        (quality.unique(whole, ["k"]), quality.unique_over(lambda: batches, ["k"])),
        (quality.unique(whole, ["t", "k"]), quality.unique_over(lambda: batches, ["t", "k"])),
        (
            quality.references(whole, "user_id", parent, "user_id", "users"),
            quality.references_over(batches, "user_id", parent, "user_id", "users"),
        ),
        (
            quality.in_range(whole, "ts", datetime(2026, 1, 2), datetime(2026, 1, 4)),
            quality.in_range_over(batches, "ts", datetime(2026, 1, 2), datetime(2026, 1, 4)),
        ),
        (
            quality.values_in(whole, "t", {"x", "y"}),
            quality.values_in_over(batches, "t", {"x", "y"}),
        ),
        (
            quality.covers_until(whole, "ts", datetime(2026, 1, 9), "event"),
            quality.covers_until_over(batches, "ts", datetime(2026, 1, 9), "event"),
        ),
    ]
    for frame_outcome, batch_outcome in pairs:
        assert batch_outcome.passed == frame_outcome.passed
        assert batch_outcome.metadata == frame_outcome.metadata
    assert quality.unique_over(lambda: batches, ["k"]).metadata == {"duplicates": 2}
    assert quality.references_over(batches, "user_id", parent, "user_id", "u").metadata == {
        "orphan_rows": 3,
        "orphan_keys": 2,
    }
    assert not quality.in_range_over(
        batches, "ts", datetime(2026, 1, 2), datetime(2026, 1, 4)
    ).passed
    assert quality.unique_over(lambda: [whole.slice(0, 3), whole.slice(4, 1)], ["k"]).passed
    assert quality.covers_until_over([], "ts", datetime(2026, 1, 1), "event").metadata == {
        "newest": "None"
    }
