"""The S3 backend (s3://bucket/prefix): any S3 API (AWS, MinIO, moto) through boto3, with
connect and read timeouts and retries on every call, so a frozen endpoint fails a call (and it
is retried with backoff) instead of hanging a run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from fsdl_data.core.storage.objects import Capability, Listed, ObjectNotFound, check_key

# Defaults; Settings passes FSDL_S3_CONNECT_TIMEOUT_S, FSDL_S3_READ_TIMEOUT_S, FSDL_S3_MAX_ATTEMPTS.
S3_CONNECT_TIMEOUT_S = 5.0
S3_READ_TIMEOUT_S = 30.0  # a frozen endpoint fails a call after this, and it is retried
S3_MAX_ATTEMPTS = 5  # botocore's "standard" retries: exponential backoff with jitter
S3_MAX_CONNECTIONS = 64  # botocore keeps 10 by default: fewer than the photo reads in flight


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
        max_pool_connections=S3_MAX_CONNECTIONS,
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region_name,
        config=config,
        **{k: v for k, v in credentials.items() if v},
    )


def _etag(value: str) -> str:
    return value.strip('"')


class S3ObjectStore:
    """Objects in an S3 bucket under a key prefix. The fingerprint is the ETag."""

    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.PRESIGNED_URLS,
            Capability.VERSIONED_READS,
            Capability.VERSIONED_LISTING,
            Capability.VERSION_PURGE,
        }
    )

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    @classmethod
    def from_location(
        cls, location: Any, *, client: Any | None = None, **client_options: Any
    ) -> S3ObjectStore:
        """The store of a parsed s3:// URL, through `client`, or one made by `make_s3_client`
        from `client_options` (endpoint_url, timeouts, attempts, credentials; what is not
        given comes from boto3's own defaults: AWS_* environment, profiles)."""
        if client is None:
            client = make_s3_client(**client_options)
        return cls(client, location.bucket, location.path)

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _strip(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)

    def presigned_url(self, key: str, expires_s: int) -> str:
        """A URL that reads the object without credentials until it expires (for a labeling
        tool's browser)."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._full(key)},
            ExpiresIn=expires_s,
        )

    def get(self, key: str, *, with_info: bool = False) -> Any:
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(key) from None
        data = r["Body"].read()
        if not with_info:
            return data
        etag = _etag(r["ETag"])
        modified = r.get("LastModified") or datetime.now(UTC)
        return data, Listed(key, etag, modified, len(data), etag, r.get("VersionId"))

    def head(self, key: str) -> Listed | None:
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        etag = _etag(r["ETag"])
        modified = r.get("LastModified") or datetime.now(UTC)
        return Listed(key, etag, modified, r["ContentLength"], etag, r.get("VersionId"))

    def list(self, prefix: str = "", start_after: str | None = None) -> Iterator[Listed]:
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
                etag = _etag(o["ETag"])
                yield Listed(self._strip(o["Key"]), etag, o["LastModified"], o["Size"], etag)

    def versioned(self) -> bool:
        """Whether the bucket keeps versions (enabled, or suspended with versions kept); False
        when we may not ask (no s3:GetBucketVersioning)."""
        try:
            found = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except self.client.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("AccessDenied", "403"):
                return False
            raise
        return found in ("Enabled", "Suspended")

    def list_latest(self, prefix: str = "") -> Iterator[Listed]:
        """Objects under `prefix` in key order, as `list` gives them but with each one's current
        S3 VersionId: list_objects_v2 does not return it, so a versioned bucket is listed with
        list_object_versions (its latest versions; a key whose latest is a delete marker is
        gone). An unversioned bucket is listed plainly (no VersionIds to find)."""
        if not self.versioned():
            yield from self.list(prefix)
            return
        if prefix.startswith("/") or ".." in prefix.split("/"):
            raise ValueError(f"invalid prefix {prefix!r}")
        full_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
            for o in page.get("Versions", []):
                if not o.get("IsLatest"):
                    continue
                etag, version = _etag(o["ETag"]), o.get("VersionId")
                version = None if version in (None, "null") else version
                yield Listed(self._strip(o["Key"]), etag, o["LastModified"], o["Size"], etag,
                             version)  # fmt: skip

    def purge_versions(self, key: str, keep_current: bool = True) -> int:
        """Deletes, for good, every noncurrent version and delete marker of `key` (with
        `keep_current` false, its current version too): on a versioned bucket an overwrite or
        a delete keeps the old bytes, which an erasure must not leave behind. Returns how many
        versions went (0 on an unversioned bucket)."""
        full = self._full(key)
        paginator = self.client.get_paginator("list_object_versions")
        doomed = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full):
            for o in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                if o["Key"] != full or o.get("VersionId") in (None, "null"):
                    continue
                if keep_current and o.get("IsLatest") and "ETag" in o:
                    continue  # the current version (not a delete marker) stays
                doomed.append(o["VersionId"])
        for version in doomed:
            self.client.delete_object(Bucket=self.bucket, Key=full, VersionId=version)
        return len(doomed)

    def folders(self, prefix: str) -> list[str]:
        """The names of the "folders" (common prefixes) directly under `prefix`, sorted."""
        full_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix
        paginator = self.client.get_paginator("list_objects_v2")
        names = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                names.append(common["Prefix"][len(full_prefix) :].rstrip("/"))
        return sorted(names)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}"
