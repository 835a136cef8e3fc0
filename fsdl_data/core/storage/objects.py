"""Object storage: one small protocol, one record for a listed object, one listing digest, and
the registry that opens a backend by URL scheme (fsdl_data.core.storage.backends).

Every `put` is atomic: a reader sees the old object or the new one, never half of one.
S3 gives that per PUT; the local folder gets it by writing a temporary name, then renaming.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple, Protocol, overload

TMP_PREFIX = ".tmp-"


class ObjectNotFound(KeyError):
    """Raised by `get` for a key that does not exist."""


class Listed(NamedTuple):
    """An object as a listing (or a read) shows it, the one record of a stored object, and of a
    file a snapshot is taken of. (A named tuple: a sensor tick and `snapshot status` make ten
    thousand of them.)

    `fingerprint` changes whenever the content may have: the ETag on S3; the size and the
    modification time in nanoseconds on a local folder, which a copy that keeps times (`cp -a`,
    rsync -t, a restore) keeps too, so a restored folder is not taken for a changed one.
    `etag` and `version_id` are what a read tells (`get(key, with_info=True)`, `head`); a local
    listing leaves the ETag (an MD5 of the bytes) unset rather than read every file.
    `key` is relative to what was listed: the store's root, or the folder or prefix a snapshot
    lists (then it is the file's path in the snapshot). `partition` is the lake partition a
    table's file belongs to (`Lake.files`), None for any other object."""

    key: str
    fingerprint: str
    last_modified: datetime
    size: int = 0
    etag: str | None = None
    version_id: str | None = None
    partition: str | None = None

    @property
    def token(self) -> str:
        """What the object looked like, in a short version (a sensor cursor keeps many)."""
        from fsdl_data.core.versions import version_of

        return version_of(self.fingerprint, self.last_modified.isoformat())


def listing_digest(listing: Iterable[Listed] | Mapping[str, str]) -> str:
    """What a set of objects holds (listed objects, or key -> fingerprint), as one hash of their
    keys and fingerprints in key order, whatever order they were listed in: the ingest records
    it, the sensors compare it, and a run key made from it is the same for the same objects."""
    pairs = (
        listing.items()
        if isinstance(listing, Mapping)
        else ((o.key, o.fingerprint) for o in listing)
    )
    body = "\n".join(sorted(f"{key}\t{fingerprint}" for key, fingerprint in pairs))
    return hashlib.sha256(body.encode()).hexdigest()


class Capability(enum.Enum):
    """What a backend can do beyond the protocol; declared in its `capabilities`."""

    PRESIGNED_URLS = "presigned_urls"  # presigned_url(key, expires_s)
    VERSIONED_READS = "versioned_reads"  # reads report the object's VersionId (when enabled)
    LOCAL_PATHS = "local_paths"  # local_path(key): a path on this machine (DuckDB globs)
    VERSIONED_LISTING = "versioned_listing"  # list_latest(prefix): listings with VersionIds
    VERSION_PURGE = "version_purge"  # purge_versions(key, keep_current): drop a key's history


class ObjectStore(Protocol):
    """The protocol every backend implements: one name per operation. Optional operations
    exist only where `capabilities` declares them (`supports`)."""

    url: str
    capabilities: ClassVar[frozenset[Capability]]

    def put(self, key: str, data: bytes) -> None: ...
    @overload
    def get(self, key: str, *, with_info: Literal[False] = False) -> bytes: ...
    @overload
    def get(self, key: str, *, with_info: Literal[True]) -> tuple[bytes, Listed]: ...
    def get(self, key: str, *, with_info: bool = False) -> bytes | tuple[bytes, Listed]: ...
    def head(self, key: str) -> Listed | None: ...
    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[Listed]: ...
    def folders(self, prefix: str) -> list[str]: ...
    def delete(self, key: str) -> None: ...
    def uri(self, key: str) -> str: ...

    # Optional: PRESIGNED_URLS -> presigned_url(key, expires_s) -> str;
    #           LOCAL_PATHS -> local_path(key) -> str


def supports(store: ObjectStore, capability: Capability) -> bool:
    return capability in store.capabilities


def local_root(store: ObjectStore) -> Path | None:
    """The folder on this machine that holds the store's objects (LOCAL_PATHS), else None: for
    the work only a file system allows (temporary files a killed writer left, exports beside
    the objects)."""
    return Path(store.local_path("")) if supports(store, Capability.LOCAL_PATHS) else None


def check_key(key: str) -> str:
    """The key, if it is a relative path a backend may store; a ValueError that says how else."""
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in key.split("/")):
        raise ValueError(
            f"invalid object key {key!r}: use relative keys like 'photos/2026-01-01/1.jpg'"
        )
    if key.rsplit("/", 1)[-1].startswith(TMP_PREFIX):
        raise ValueError(f"object names starting with {TMP_PREFIX!r} are reserved: {key!r}")
    return key


def open_object_store(
    url: str, options: Mapping[str, Mapping[str, Any]] | None = None
) -> ObjectStore:
    """The store a URL names, by its scheme (file://<dir>, s3://<bucket>/<prefix>, ...): the
    URL is parsed here, once, and the backend made from the parsed location. `options` holds
    each scheme's backend options (for "s3": a boto3 `client`, or `endpoint_url`, timeouts,
    attempts and credentials); only the URL's scheme's are used."""
    from fsdl_data.core.storage.backends import backend_for
    from fsdl_data.core.storage.urls import parse_location

    location = parse_location(url)
    chosen = (options or {}).get(location.scheme, {})
    return backend_for(location.scheme).from_location(location, **chosen)
