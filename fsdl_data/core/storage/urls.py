"""Parsing and redacting storage URLs."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Location:
    """A parsed `file://path` or `<scheme>://bucket/prefix` (s3, and any bucket store)."""

    scheme: str
    bucket: str  # empty for file://
    path: str  # a directory for file://, a key prefix (no leading/trailing slash) for buckets


def parse_location(url: str) -> Location:
    """The URL's parts; a scheme no backend is registered for is a one-line error."""
    from fsdl_data.core.storage.backends import BACKENDS

    parts = urlsplit(url)
    if parts.scheme not in BACKENDS:
        schemes = " or ".join(f"{s}://..." for s in BACKENDS)
        raise ValueError(f"unsupported storage URL {url!r}: use {schemes}")
    if parts.scheme == "file":
        path = (parts.netloc + parts.path) if parts.netloc not in ("", "localhost") else parts.path
        if not path:
            raise ValueError(
                f"file URL has no path: {url!r} (write file:///abs/path or file://rel/path)"
            )
        return Location("file", "", path)
    if not parts.netloc:
        raise ValueError(
            f"{parts.scheme} URL has no bucket: {url!r} (write {parts.scheme}://bucket/prefix)"
        )
    return Location(parts.scheme, parts.netloc, parts.path.strip("/"))


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and metadata."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
