"""Parsing and redacting storage URLs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Location:
    """A parsed `file://path` or `s3://bucket/prefix`."""

    scheme: str
    bucket: str  # empty for file://
    path: str  # a directory for file://, a key prefix (no leading/trailing slash) for s3://


def parse_location(url: str) -> Location:
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = (parts.netloc + parts.path) if parts.netloc not in ("", "localhost") else parts.path
        if not path:
            raise ValueError(
                f"file URL has no path: {url!r} (write file:///abs/path or file://rel/path)"
            )
        return Location("file", "", path)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ValueError(f"s3 URL has no bucket: {url!r} (write s3://bucket/prefix)")
        return Location("s3", parts.netloc, parts.path.strip("/"))
    raise ValueError(f"unsupported storage URL {url!r}: use file://<dir> or s3://<bucket>/<prefix>")


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and metadata."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
