"""Dagster resources around core.storage, built from Settings (read once, in config).

Secrets (AWS keys, a database URL with a password) are passed as EnvVar so Dagster never
stores or shows their values.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl
from dagster._core.execution.stats import StepEventStatus
from dagster_aws.s3 import S3Resource

from fsdl_data.config import Settings
from fsdl_data.core.catalog import TABLE_SCHEMAS
from fsdl_data.core.columns import column_description
from fsdl_data.core.features.definitions import KNOWN_AT
from fsdl_data.core.features.online import OnlineStore, open_online_store
from fsdl_data.core.features.versions import merge_versions
from fsdl_data.core.storage.appdb import AppDatabase
from fsdl_data.core.storage.lake import Lake, TableNotFound
from fsdl_data.core.storage.objects import Listed, ObjectStore, open_object_store
from fsdl_data.core.storage.urls import redact_url
from fsdl_data.core.tables import schemas
from fsdl_data.core.tables.preview import markdown_preview
from fsdl_data.core.versioning.snapshots import TableFiles, table_files
from fsdl_data.core.vision.threads import (
    cores_busy_beside,
    thread_count,
    usable_cores,
    use_torch_threads,
)
from fsdl_data.publishing import CLOCK, PublicationClock


class ObjectStoreResource(dg.ConfigurableResource):
    """An object store named by URL: file://<dir> or s3://<bucket>/<prefix>."""

    url: str
    s3: S3Resource
    s3_connect_timeout_s: float = 5.0
    s3_read_timeout_s: float = 30.0

    def open(self) -> ObjectStore:
        s3 = {
            "endpoint_url": self.s3.endpoint_url,
            "region_name": self.s3.region_name,
            "connect_timeout": self.s3_connect_timeout_s,
            "read_timeout": self.s3_read_timeout_s,
            "max_attempts": self.s3.max_attempts,
            "aws_access_key_id": self.s3.aws_access_key_id,
            "aws_secret_access_key": self.s3.aws_secret_access_key,
            "aws_session_token": self.s3.aws_session_token,
        }
        return open_object_store(self.url, {"s3": s3})


class AppDatabaseResource(dg.ConfigurableResource):
    """The photo app's database: sqlite:///<file> or postgresql://..."""

    url: str

    @contextmanager
    def connect(self) -> Iterator[AppDatabase]:
        """The database for one step; its connections are closed when the step is done."""
        db = AppDatabase(self.url)
        try:
            yield db
        finally:
            db.dispose()

    @property
    def display_url(self) -> str:
        return redact_url(self.url)


class FeatureStoreResource(dg.ConfigurableResource):
    """The online feature store (a URL: redis://..., or an app-database URL) and the parity
    gate's minimum of entities compared."""

    url: str
    parity_min_entities: int = 10

    @contextmanager
    def connect(self) -> Iterator[OnlineStore]:
        store = open_online_store(self.url)
        try:
            yield store
        finally:
            store.close()

    @property
    def display_url(self) -> str:
        return redact_url(self.url)


PARTITION_COLUMN = "fsdl/partition_column"
TAGGED_BY_DAY = {PARTITION_COLUMN: "day"}  # input metadata: each row gets its partition's day
VERSIONED = "fsdl/versioned_by"  # asset metadata: the key columns versions are merged on
# asset metadata of the first of two tables one step publishes (photo_pixels, events_quarantine):
# the table published after it, without whose partition it is incomplete (a run stopped between)
MADE_WITH = "fsdl/made_with"


def require_made_with(lake: Lake, name: str, partitions: list[str], made_with: str | None) -> None:
    """Refuse to read partitions of `name` whose companion table `made_with` is missing: half
    of what one step publishes is not data to build on."""
    if not made_with or not partitions:
        return
    missing = sorted(set(partitions) - set(lake.partitions(made_with)))
    if missing:
        raise TableNotFound(
            f"{name} for {', '.join(missing)} was published without {made_with} (the run that "
            f"made both stopped between them): rematerialize {made_with} for those days"
        )


def table_name(key: dg.AssetKey) -> str:
    return "__".join(key.path)


def table_metadata(df: pl.DataFrame, uri: str) -> dict[str, Any]:
    """What the UI shows for every table partition: rows, schema, a preview, where it lives."""
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(c, str(t), description=column_description(c))
            for c, t in df.schema.items()
        ]
    )
    return {
        "dagster/row_count": len(df),
        "dagster/column_schema": schema,
        "preview": dg.MetadataValue.md(markdown_preview(df)),
        "uri": dg.MetadataValue.path(uri),
    }


@contextmanager
def publishing(lake: Lake, name: str, partition: str | None) -> Iterator[None]:
    """Around writing a table partition: a full disk under the lake is one line that says so
    (a Failure that is not retried), not a traceback."""
    try:
        yield
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise dg.Failure(
            description=f"the disk holding the lake ({lake.url}) is full: {name} "
            f"{partition or ''} was not published; free space, then rerun",
            allow_retries=False,
        ) from None


class LakeIOManager(dg.ConfigurableIOManager):
    """Polars DataFrames <-> Parquet in the lake, one file per partition, published atomically."""

    lake: ObjectStoreResource

    def _lake(self) -> Lake:
        return Lake(self.lake.open())

    def handle_output(self, context: dg.OutputContext, obj: pl.DataFrame | None) -> None:
        """Writes the partition. A table declared with `metadata={VERSIONED: [key columns]}`
        keeps every version: the new rows are merged into the stored ones, appending only rows
        whose values changed (core.features.versions.merge_versions)."""
        if obj is None:
            return
        partition = context.asset_partition_key if context.has_asset_partitions else None
        name, lake = table_name(context.asset_key), self._lake()
        key = (context.definition_metadata or {}).get(VERSIONED)
        if key:
            try:
                existing = lake.read(name, partition)
            except TableNotFound:
                existing = None
            obj = merge_versions(existing, obj, key=list(key), known_at=KNOWN_AT)
        with publishing(lake, name, partition):
            uri = lake.write(name, obj, partition)
        context.add_output_metadata(table_metadata(obj, uri))

    def load_input(self, context: dg.InputContext) -> pl.DataFrame:
        """One partition (it must exist: the error says to materialize it), or the partitions of
        a window that exist (none: an empty table with the table's columns); an input tagged
        with a day column is a window even when it maps to a single partition. An input declared
        with `AssetIn(metadata={PARTITION_COLUMN: "day"})` gets each row's partition as a Date
        column of that name, so a window's rows can be told apart."""
        name = table_name(context.asset_key)
        lake = self._lake()
        day_column = (context.definition_metadata or {}).get(PARTITION_COLUMN)
        if not context.has_asset_partitions:
            return lake.read(name)
        keys = context.asset_partition_keys
        if len(keys) == 1 and not day_column:
            found = keys
        else:
            present = set(lake.partitions(name)) if keys else set()
            found = [k for k in keys if k in present]
        upstream = context.upstream_output.definition_metadata if context.upstream_output else None
        require_made_with(lake, name, found, (upstream or {}).get(MADE_WITH))
        frames = [lake.read(name, k) for k in found]
        if day_column:
            frames = [
                f.with_columns(pl.lit(k).str.to_date().alias(day_column))
                for f, k in zip(frames, found, strict=True)
            ]
        if frames:  # a column added since older partitions were written is null in them
            return pl.concat(frames, how="diagonal_relaxed")
        empty = schemas.empty(TABLE_SCHEMAS.get(name, {}))
        return empty.with_columns(pl.lit(None, pl.Date).alias(day_column)) if day_column else empty


class LakeFilesInput(dg.ConfigurableIOManager):
    """Loads a lake table as its listed files (core.versioning.snapshots.TableFiles), not its
    rows: what a snapshot asset declares as its input, so lineage is in the graph while only the
    files that changed are ever read. Writes nothing."""

    lake: ObjectStoreResource

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        raise NotImplementedError("lake_files only loads inputs")

    def load_input(self, context: dg.InputContext) -> TableFiles:
        name, lake = table_name(context.asset_key), Lake(self.lake.open())
        wanted = set(context.asset_partition_keys) if context.has_asset_partitions else None
        instance, key = context.instance, context.asset_key

        def data_version(source: Listed) -> str | None:
            record = instance.get_latest_data_version_record(key, partition_key=source.partition)
            tags = (
                record.asset_materialization.tags if record and record.asset_materialization else {}
            )
            return (tags or {}).get("dagster/data_version")

        return TableFiles(name, lake.store, tuple(table_files(lake, name, wanted)), data_version)


def _s3_resource(settings: Settings) -> S3Resource:
    kwargs: dict[str, Any] = {"max_attempts": settings.s3_max_attempts}
    if settings.s3_endpoint_url:
        kwargs["endpoint_url"] = settings.s3_endpoint_url
    if settings.s3_region:
        kwargs["region_name"] = settings.s3_region
    for var in settings.aws_credentials:
        kwargs[var.lower()] = dg.EnvVar(var)
    return S3Resource(**kwargs)


class TorchResource(dg.ConfigurableResource):
    """How many threads torch may use in a step: FSDL_TORCH_THREADS, else the cores divided
    among FSDL_PARALLEL_STEPS when set, else the cores this process may use less what runs
    beside the step (core.vision.threads): the run's other executing steps, counted from the
    instance, and the cores other processes were seen to keep busy just now."""

    threads: int | None = None
    parallel_steps: int | None = None

    def use_threads(self, context: dg.AssetExecutionContext) -> ThreadChoice:
        """Set torch's intra-op threads for this step's process; returns the count and what
        it was decided from (for the step's metadata)."""
        cpus = usable_cores()
        beside, busy = 0, 0.0
        if not self.threads and not self.parallel_steps:
            own = context.get_step_execution_context().step.key
            beside = sum(
                1
                for step in context.instance.get_run_step_stats(context.run_id)
                if step.status == StepEventStatus.IN_PROGRESS and step.step_key != own
            )
            busy = cores_busy_beside()
        count = thread_count(
            self.threads, self.parallel_steps, cpus=cpus, steps_beside=beside, busy_beside=busy
        )
        return ThreadChoice(use_torch_threads(count), cpus, beside, busy)


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    cpus: int  # the cores this process may run on
    steps_beside: int  # the run's other steps executing when the step started
    busy_beside: float  # cores other processes kept busy just before

    def metadata(self) -> dict[str, Any]:
        return {
            "torch_threads": self.threads,
            "threads_from": f"{self.cpus} cores, {self.steps_beside} steps beside, "
            f"{self.busy_beside:.2f} cores busy beside",
        }


def build_resources(settings: Settings) -> dict[str, Any]:
    """Resources for the environment `settings` describes (embedded default or S3 + Postgres)."""
    s3 = _s3_resource(settings)
    db_url: Any = (
        dg.EnvVar("FSDL_APP_DB_URL") if settings.app_db_url_is_secret else settings.app_db_url
    )

    def store(url: str) -> ObjectStoreResource:
        return ObjectStoreResource(
            url=url,
            s3=s3,
            s3_connect_timeout_s=settings.s3_connect_timeout_s,
            s3_read_timeout_s=settings.s3_read_timeout_s,
        )

    return {
        "objects": store(settings.object_store_url),
        "app_db": AppDatabaseResource(url=db_url),
        "lake": store(settings.lake_url),
        "io_manager": LakeIOManager(lake=store(settings.lake_url)),
        "lake_files": LakeFilesInput(lake=store(settings.lake_url)),
        "torch": TorchResource(
            threads=settings.torch_threads, parallel_steps=settings.parallel_steps
        ),
        CLOCK: PublicationClock(world_clock=settings.world_clock),
        "feature_store": FeatureStoreResource(
            url=settings.online_store_url or db_url,
            parity_min_entities=settings.parity_min_entities,
        ),
    }
