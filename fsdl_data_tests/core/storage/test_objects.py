"""core.storage.objects: the one record of a listed object, the one listing digest and the
key rules every backend enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fsdl_data.core.storage.objects import Listed, check_key, listing_digest

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_digest_is_the_content_not_the_listing_order() -> None:
    listing = [Listed("b", "2", AT), Listed("a", "1", AT + timedelta(hours=1), 9, "e", "v")]
    digest = listing_digest(listing)
    assert digest == listing_digest(reversed(listing)) == listing_digest({"a": "1", "b": "2"})
    assert digest != listing_digest({"a": "1", "b": "3"})  # a changed fingerprint
    assert digest != listing_digest({"a": "1"})  # an object gone
    assert digest != listing_digest({"a": "1", "c": "2"})  # another key


def test_the_token_moves_with_fingerprint_or_time_only() -> None:
    listed = Listed("a", "1", AT)
    assert listed.token == listed._replace(size=5, etag="x", partition="2026-01-01").token
    assert listed.token != listed._replace(fingerprint="2").token
    assert listed.token != listed._replace(last_modified=AT + timedelta(seconds=1)).token


def test_a_record_is_not_in_a_partition_unless_the_lake_says_so() -> None:
    assert Listed("a", "1", AT).partition is None


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/./b", "../x", "a/.tmp-half"])
def test_keys_a_backend_must_not_store_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


def test_a_relative_key_is_kept() -> None:
    assert check_key("photos/date=2026-01-01/1.jpg") == "photos/date=2026-01-01/1.jpg"
