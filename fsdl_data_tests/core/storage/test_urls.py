"""core.storage.urls: a storage URL is parsed once into scheme, bucket and path; what cannot
be opened is a one-line error; passwords never reach a log."""

from __future__ import annotations

import pytest

from fsdl_data.core.storage.urls import Location, parse_location, redact_url


def test_file_and_bucket_urls_are_parsed_into_their_parts() -> None:
    assert parse_location("file:///data/lake") == Location("file", "", "/data/lake")
    assert parse_location("file://relative/lake") == Location("file", "", "relative/lake")
    assert parse_location("file://localhost/abs") == Location("file", "", "/abs")
    assert parse_location("s3://bucket/a/b/") == Location("s3", "bucket", "a/b")
    assert parse_location("s3://bucket") == Location("s3", "bucket", "")


@pytest.mark.parametrize(
    ("url", "message"),
    [("gs://bucket/x", "unsupported storage URL"), ("/plain/path", "unsupported storage URL"),
     ("file://", "has no path"), ("s3:///prefix", "has no bucket")],
)  # fmt: skip
def test_what_cannot_be_opened_says_how_to_write_it(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_location(url)


def test_a_password_is_redacted_and_the_rest_kept() -> None:
    assert (
        redact_url("postgresql://app:secret@db:5432/photos")
        == "postgresql://app:***@db:5432/photos"
    )
    assert redact_url("s3://bucket/prefix") == "s3://bucket/prefix"
