"""Object storage: one small interface, two backends (a local folder and any S3 API).

Every `put` is atomic: a reader sees the old object or the new one, never half of one.
S3 gives that per PUT; the local folder gets it by writing a temporary name, then renaming.
"""

from __future__ import annotations

import hashlib
import os
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
    def get(self, key: str) -> bytes: ...
    def fetch(self, key: str) -> tuple[bytes, ObjectInfo]: ...
    def head(self, key: str) -> ObjectInfo | None: ...
    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectInfo]: ...
    def keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]: ...
    def stat(self, prefix: str = "") -> Iterator[ObjectStat]: ...
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


class LocalObjectStore:
    """Objects as files under a root folder; the ETag is the MD5 of the content, as on S3."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return ObjectInfo(key, len(data), hashlib.md5(data).hexdigest(), None, datetime.now(UTC))

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def fetch(self, key: str) -> tuple[bytes, ObjectInfo]:
        path = self._path(key)
        data = self.get(key)
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return data, ObjectInfo(key, len(data), hashlib.md5(data).hexdigest(), None, mtime)

    def _info(self, key: str, path: Path) -> ObjectInfo:
        data = path.read_bytes()
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        return ObjectInfo(key, len(data), hashlib.md5(data).hexdigest(), None, mtime)

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        return self._info(key, path) if path.is_file() else None

    def keys(self, prefix: str = "", start_after: str | None = None) -> Iterator[str]:
        """Keys under `prefix` in order (after `start_after` if given), without reading any file."""
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return
        found = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if name.startswith(TMP_PREFIX):
                    continue
                key = (Path(dirpath) / name).relative_to(self.root).as_posix()
                if key.startswith(prefix) and (start_after is None or key > start_after):
                    found.append(key)
        yield from sorted(found)

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Objects with size and ETag (MD5, so each file is read: use `keys` for names only)."""
        for key in self.keys(prefix, start_after):
            yield self._info(key, self.root / key)

    def stat(self, prefix: str = "") -> Iterator[ObjectStat]:
        """Keys under `prefix` with size and modification time, from the file system alone."""
        for key in self.keys(prefix):
            info = (self.root / key).stat()
            yield ObjectStat(
                key,
                info.st_size,
                datetime.fromtimestamp(info.st_mtime, UTC),
                f"{info.st_size}:{info.st_mtime_ns}:{info.st_ino}",
            )

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.is_file() else None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

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

    def size(self, key: str) -> int | None:
        info = self.head(key)
        return info.size if info else None

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"


def open_object_store(url: str, s3_client: Any | None = None) -> ObjectStore:
    """The store a URL names. For s3:// pass a boto3 client, or one is made from the AWS_* env."""
    loc = parse_location(url)
    if loc.scheme == "file":
        return LocalObjectStore(loc.path)
    if s3_client is None:
        import boto3  # lazy: the local path must not pay for boto3

        s3_client = boto3.client("s3")
    return S3ObjectStore(s3_client, loc.bucket, loc.path)
