"""Object storage: one small interface, two backends (a local folder and any S3 API).

Every `put` is atomic: a reader sees the old object or the new one, never half of one.
S3 gives that per PUT; the local folder gets it by writing a temporary name, then renaming.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from fsdl_data.core.storage.urls import parse_location

TMP_PREFIX = ".tmp-"


class ObjectNotFound(KeyError):
    """Raised by `get` for a key that does not exist."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    version_id: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class ObjectStat:
    """What listing tells without reading: the key, its size, when it was last written, and a
    fingerprint that changes whenever its content may have (the ETag on S3; size, mtime and
    inode on a local folder)."""

    key: str
    size: int
    last_modified: datetime | None
    fingerprint: str


class ObjectStore(Protocol):
    url: str

    def put(self, key: str, data: bytes) -> ObjectInfo: ...
    def write(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def fetch(self, key: str) -> tuple[bytes, ObjectInfo]: ...
    def head(self, key: str) -> ObjectInfo | None: ...
    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectInfo]: ...
    def keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]: ...
    def stat(self, prefix: str = "") -> Iterator[ObjectStat]: ...
    def folders(self, prefix: str) -> list[str]: ...
    def size(self, key: str) -> int | None: ...
    def delete(self, key: str) -> None: ...
    def uri(self, key: str) -> str: ...


def _check_key(key: str) -> str:
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in key.split("/")):
        raise ValueError(
            f"invalid object key {key!r}: use relative keys like 'photos/2026-01-01/1.jpg'"
        )
    if key.rsplit("/", 1)[-1].startswith(TMP_PREFIX):
        raise ValueError(f"object names starting with {TMP_PREFIX!r} are reserved: {key!r}")
    return key


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


class LocalObjectStore:
    """Objects as files under a root folder; the ETag is the MD5 of the content, as on S3."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = f"file://{self.root}"
        self._root = str(self.root)

    def _path(self, key: str) -> str:
        return os.path.join(self._root, _check_key(key))  # strings, not Paths: this is hot

    def put(self, key: str, data: bytes) -> ObjectInfo:
        self.write(key, data)
        return ObjectInfo(key, len(data), hashlib.md5(data).hexdigest(), None, datetime.now(UTC))

    def write(self, key: str, data: bytes) -> None:
        """`put` without describing what was written (no checksum pass over the bytes)."""
        path = self._path(key)
        folder, name = os.path.split(path)
        tmp = os.path.join(folder, f"{TMP_PREFIX}{uuid.uuid4().hex}-{name}")
        try:
            try:
                _write(tmp, data)
            except FileNotFoundError:  # its folder is new
                os.makedirs(folder, exist_ok=True)
                _write(tmp, data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def get(self, key: str) -> bytes:
        path = self._path(key)
        real = os.path.realpath(path)
        if real != path and not real.startswith(self._root + os.sep):
            raise ValueError(f"key {key!r} is a link that leads out of the store: refused")
        try:
            with open(real, "rb") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def fetch(self, key: str) -> tuple[bytes, ObjectInfo]:
        data = self.get(key)
        mtime = datetime.fromtimestamp(os.stat(self._path(key)).st_mtime, UTC)
        return data, ObjectInfo(key, len(data), hashlib.md5(data).hexdigest(), None, mtime)

    def head(self, key: str) -> ObjectInfo | None:
        try:
            return self.fetch(key)[1]
        except ObjectNotFound:
            return None

    def _walk(self, prefix: str) -> list[tuple[str, os.stat_result]]:
        """(key, stat) of every file under `prefix`, sorted by key. A link to a file is listed
        (reading it is refused if it leads out of the root: `get`); links to folders are never
        followed."""
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        found: list[tuple[str, os.stat_result]] = []
        pending = [(os.path.join(self._root, folder) if folder else self._root, folder)]
        while pending:
            path, key_prefix = pending.pop()
            try:
                entries = os.scandir(path)
            except (FileNotFoundError, NotADirectoryError):
                continue
            with entries:
                for entry in entries:
                    key = f"{key_prefix}/{entry.name}" if key_prefix else entry.name
                    if entry.name.startswith(TMP_PREFIX):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if key.startswith(prefix[: len(key)]):
                            pending.append((entry.path, key))
                    elif key.startswith(prefix) and not entry.is_dir():  # no linked folders
                        found.append((key, entry.stat(follow_symlinks=False)))
        found.sort(key=lambda item: item[0])
        return found

    def keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]:
        """Keys under `prefix` in order (after `start_after` if given), without reading any file."""
        for key, _ in self._walk(prefix):
            if start_after is None or key > start_after:
                yield key

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Objects with size and ETag (MD5, so each file is read: use `keys` for names only)."""
        for key in self.keys(prefix, start_after):
            yield self.fetch(key)[1]

    def stat(self, prefix: str = "") -> Iterator[ObjectStat]:
        """Keys under `prefix` with size and modification time, from the file system alone."""
        for key, info in self._walk(prefix):
            yield ObjectStat(
                key,
                info.st_size,
                datetime.fromtimestamp(info.st_mtime, UTC),
                f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}",
            )

    def folders(self, prefix: str) -> list[str]:
        """The names of the folders directly under `prefix` (which ends in '/'), sorted."""
        path = os.path.join(self._root, prefix.rstrip("/")) if prefix.strip("/") else self._root
        try:
            with os.scandir(path) as entries:
                return sorted(
                    e.name
                    for e in entries
                    if e.is_dir(follow_symlinks=False) and not e.name.startswith(TMP_PREFIX)
                )
        except (FileNotFoundError, NotADirectoryError):
            return []

    def size(self, key: str) -> int | None:
        try:
            info = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return info.st_size if stat.S_ISREG(info.st_mode) else None

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(key))

    def uri(self, key: str) -> str:
        return f"{self.url}/{key}"


class S3ObjectStore:
    """Objects in an S3 bucket under a key prefix, through any S3 API (AWS, MinIO, moto)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    def _full(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _strip(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def put(self, key: str, data: bytes) -> ObjectInfo:
        r = self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)
        return ObjectInfo(
            key, len(data), r["ETag"].strip('"'), r.get("VersionId"), datetime.now(UTC)
        )

    def write(self, key: str, data: bytes) -> None:
        """`put` without describing what was written."""
        self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)

    def presigned_url(self, key: str, expires_s: int) -> str:
        """A URL that reads the object without credentials until it expires (for a labeling
        tool's browser)."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._full(key)},
            ExpiresIn=expires_s,
        )

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(key) from None

    def fetch(self, key: str) -> tuple[bytes, ObjectInfo]:
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(key) from None
        data = r["Body"].read()
        etag = r["ETag"].strip('"')
        return data, ObjectInfo(key, len(data), etag, r.get("VersionId"), r.get("LastModified"))

    def head(self, key: str) -> ObjectInfo | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return ObjectInfo(
            key, r["ContentLength"], r["ETag"].strip('"'), r.get("VersionId"), r.get("LastModified")
        )

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Objects under `prefix` in key order; with `start_after`, S3 lists only later keys."""
        if prefix.startswith("/") or ".." in prefix.split("/"):
            raise ValueError(f"invalid prefix {prefix!r}")
        full_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        paginator = self.client.get_paginator("list_objects_v2")
        kwargs = {"Bucket": self.bucket, "Prefix": full_prefix}
        if start_after:
            kwargs["StartAfter"] = f"{self.prefix}/{start_after}" if self.prefix else start_after
        for page in paginator.paginate(**kwargs):
            for o in page.get("Contents", []):
                yield ObjectInfo(
                    self._strip(o["Key"]), o["Size"], o["ETag"].strip('"'), None, o["LastModified"]
                )

    def keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]:
        for info in self.list(prefix, start_after):
            yield info.key

    def stat(self, prefix: str = "") -> Iterator[ObjectStat]:
        for info in self.list(prefix):
            yield ObjectStat(info.key, info.size, info.last_modified, info.etag)

    def folders(self, prefix: str) -> list[str]:
        """The names of the "folders" (common prefixes) directly under `prefix`, sorted."""
        full_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        paginator = self.client.get_paginator("list_objects_v2")
        names = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.append(common["Prefix"][len(full_prefix) :].rstrip("/"))
        return sorted(names)

    def size(self, key: str) -> int | None:
        info = self.head(key)
        return info.size if info else None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"


# Defaults; Settings passes FSDL_S3_CONNECT_TIMEOUT_S, FSDL_S3_READ_TIMEOUT_S, FSDL_S3_MAX_ATTEMPTS.
S3_CONNECT_TIMEOUT_S = 5.0
S3_READ_TIMEOUT_S = 30.0  # a frozen endpoint fails a call after this, and it is retried
S3_MAX_ATTEMPTS = 5  # botocore's "standard" retries: exponential backoff with jitter


def make_s3_client(
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    max_attempts: int | None = None,
    **credentials: Any,
) -> Any:
    """A boto3 S3 client that never waits silently: every call has connect and read timeouts
    and is retried with backoff (botocore's standard mode) before it fails. Credentials come
    from `credentials` (aws_access_key_id, ...) or the usual AWS_* environment and profiles."""
    import boto3  # lazy: the local path must not pay for boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout or S3_CONNECT_TIMEOUT_S,
        read_timeout=read_timeout or S3_READ_TIMEOUT_S,
        retries={"max_attempts": max_attempts or S3_MAX_ATTEMPTS, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region_name,
        config=config,
        **{k: v for k, v in credentials.items() if v},
    )


def open_object_store(url: str, s3_client: Any | None = None) -> ObjectStore:
    """The store a URL names. For s3:// pass a boto3 client, or one is made with boto3's own
    defaults (AWS_* environment and profiles, including AWS_ENDPOINT_URL) and our timeouts and
    retries (`make_s3_client`)."""
    loc = parse_location(url)
    if loc.scheme == "file":
        return LocalObjectStore(loc.path)
    if s3_client is None:
        s3_client = make_s3_client()
    return S3ObjectStore(s3_client, loc.bucket, loc.path)
