"""`fsdl-data rebuild`: a snapshot made again in a scratch home from its recorded inputs.

The walk through the event log and the runs in the scratch home need the Dagster instance, so
they live here; what a rebuild obtains and from where is plain (core/versioning/rebuild.py).
Each input is taken at the version the materialization that used it recorded (the newest before
it in the event log, as `lineage` walks it), so a snapshot made nights ago is rebuilt from what
it was made of then, not from today's lake, which a rebuild never reads or writes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from fsdl_data.cli._lineage import Tracer, _record_with_version
from fsdl_data.cli.runner import cli_console, crashed_steps
from fsdl_data.config import Settings
from fsdl_data.core.storage.backends.local import LocalObjectStore
from fsdl_data.core.storage.lake import Lake
from fsdl_data.core.versioning.rebuild import (
    Node,
    NotObtainable,
    RecordedCopies,
    copy_registry,
    short,
)
from fsdl_data.core.versioning.snapshots import Taken, retake
from fsdl_data.core.versioning.store import Manifest, SnapshotStore
from fsdl_data.core.versions import produced_by
from fsdl_data.publishing import CLOCK

# Models whose table names a registry version: obtained from the registry, not trained again.
FROM_REGISTRY = ("photo_classifier",)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def data_version(record: Any) -> str | None:
    return record.asset_materialization.tags.get("dagster/data_version") if record else None


class ScratchHome:
    """A home of its own (lake, online store, ephemeral Dagster instance) whose sources are the
    real ones: the object store and the application database, only read."""

    def __init__(self, root: Path, settings: Settings) -> None:
        from fsdl_data.definitions import build_definitions

        self.settings = settings.replace(
            home=root, object_store_url=settings.object_store_url,
            app_db_url=settings.app_db_url, app_db_url_is_secret=settings.app_db_url_is_secret,
            lake_url=f"file://{root / 'lake'}", online_store_url=f"sqlite:///{root / 'online.db'}",
            dagster_home=None,
        )  # fmt: skip
        self.lake = Lake(LocalObjectStore(root / "lake"))
        self.defs = build_definitions(self.settings)
        self.graph = self.defs.resolve_asset_graph()
        self.job = self.defs.resolve_implicit_global_asset_job_def()
        self.instance = dg.DagsterInstance.ephemeral()

    def version_of(self, asset: str, partition: str | None) -> str | None:
        return data_version(
            self.instance.get_latest_data_version_record(
                dg.AssetKey(asset), partition_key=partition
            )
        )


@dataclass(frozen=True)
class Step:
    """One action of a rebuild's plan, parents before children."""

    how: str  # "copy" (a snapshot's file), "registry" (a model version) or "make" (run it)
    node: Node
    record: Any  # the materialization that made the node's version
    exact: bool = True  # must come out at its recorded version (not for the rebuilt table)


class Rebuilder:
    """Plans how each recorded input is obtained in a scratch home (parents first), then does
    it, running consecutive inputs of one partition together, each checked against the version
    it recorded; `say` hears a line per input made again."""

    def __init__(self, instance: dg.DagsterInstance, defs: dg.Definitions, lake: Lake,
                 home: ScratchHome, leave_out: str, say: Callable[[str], None]) -> None:  # fmt: skip
        self.instance, self.lake, self.home, self.say = instance, lake, home, say
        self.tracer = Tracer(instance, defs, lake)
        self.graph = defs.resolve_asset_graph()
        self.copies = RecordedCopies(SnapshotStore(lake.store), frozenset({leave_out}))
        self.planned: dict[tuple[str, str | None], str | None] = {}  # the scratch lake, planned
        self.steps: list[Step] = []
        self.made = self.copied = self.runs = 0
        copy_registry(lake.store, home.lake.store)

    def plan(self, node: Node, record: Any, exact: bool = True) -> None:
        """Adds what puts `node` in the scratch lake at its recorded version. `exact` false
        (the snapshot's own table): made again whatever version it comes out at."""
        where = (node.asset, node.partition)
        if self.planned.get(where) == node.version and node.version is not None:
            return
        if exact and self.copies.holds(node):
            how = "copy"
        elif node.asset in FROM_REGISTRY:
            how = "registry"
        else:
            how = "make"
            for parent, parent_record in self.parents(node, record):
                self.plan(parent, parent_record)
        self.steps.append(Step(how, node, record, exact))
        self.planned[where] = node.version

    def parents(self, node: Node, record: Any) -> list[tuple[Node, Any]]:
        """The inputs of a materialization, each at the version it read: the newest before it."""
        key = dg.AssetKey(node.asset)
        found = []
        for parent in sorted(self.graph.get(key).parent_keys, key=lambda k: k.to_user_string()):
            for partition in self.tracer.parent_partitions(key, node.partition, parent):
                parent_record = self.tracer.record(parent, partition, record.storage_id)
                if parent_record is not None:  # a window's partitions that existed then
                    found.append((Node(parent.to_user_string(), partition,
                                       data_version(parent_record)), parent_record))  # fmt: skip
        return found

    def execute(self) -> None:
        """Does the plan: copies in place; runs of consecutive inputs of one partition."""
        batch: list[Step] = []
        for step in [*self.steps, None]:
            if batch and (step is None or step.how != "make"
                          or step.node.partition != batch[0].node.partition):  # fmt: skip
                self.run(batch)
                batch = []
            if step is None:
                break
            if step.how == "make":
                batch.append(step)
            elif step.how == "copy":
                self.copies.copy(step.node, self.home.lake.store)
                self.copied += 1
            else:
                self._from_registry(step.node, step.record)

    def _from_registry(self, node: Node, record: Any) -> None:
        from fsdl_data.core.vision.nightly import recorded_classifier

        metadata = record.asset_materialization.metadata
        labeled = metadata.get("labeled_photos")
        row = recorded_classifier(self.home.lake.store, node.version or "",
                                  int(labeled.value) if labeled is not None else 0)  # fmt: skip
        if row is None:
            raise NotObtainable(node, "the model registry does not hold that version")
        self.home.lake.write(node.asset, row, node.partition)
        self.copied += 1

    def run(self, batch: list[Step]) -> None:
        """Materializes a batch of one partition (with the assets made in the same steps) in
        the scratch home, with the clocks and config their recorded runs had; then checks
        each against its recorded version, in plan order."""
        partition = batch[0].node.partition
        together = dg.AssetSelection.assets(*(s.node.asset for s in batch))
        selection = sorted(together.required_multi_asset_neighbors().resolve(self.home.graph))
        job = self.home.job.get_subset(asset_selection=set(selection), asset_check_selection=set())
        job = job.with_logger_defs({"console": cli_console})  # failures: one line, in NotObtainable
        result = job.execute_in_process(  # no checks: what is rebuilt passed them when made
            partition_key=partition, instance=self.home.instance, raise_on_error=False,
            run_config=self.run_config(batch, selection),
        )  # fmt: skip
        self.runs += 1
        made = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        for step in batch:
            node = step.node
            if node.asset not in made:
                crashed = crashed_steps(result) or ["no materialization"]
                raise NotObtainable(node, f"making it again failed: {crashed[0]}")
            again = self.home.version_of(node.asset, partition)
            self.made += 1
            said = "" if again == node.version else f" (recorded {short(node.version)})"
            self.say(f"  {node}: {short(again)}{said}")
            if step.exact and again != node.version:
                source = not self.graph.get(dg.AssetKey(node.asset)).parent_keys
                why = ("its source (the object store or the application database) no longer "
                       "holds what it read then" if source else "made from its recorded inputs")  # fmt: skip
                raise NotObtainable(node, f"{why}, it comes out at {short(again)}")

    def run_config(self, batch: list[Step], selection: list[dg.AssetKey]) -> dict[str, Any]:
        """The recorded runs' publication clock and the selected ops' config."""
        config: dict[str, Any] = dict(QUIET)
        ops = {self.home.graph.get(key).assets_def.op.name for key in selection}
        for step in batch:
            run = self.instance.get_run_by_id(step.record.run_id) if step.record.run_id else None
            recorded = dict(run.run_config) if run is not None else {}
            clock = (recorded.get("resources") or {}).get(CLOCK)
            if clock:
                config["resources"] = {CLOCK: clock}
            chosen = {op: c for op, c in (recorded.get("ops") or {}).items() if op in ops}
            if chosen:
                config["ops"] = {**config.get("ops", {}), **chosen}
        return config


def rebuild_table(
    instance: dg.DagsterInstance, defs: dg.Definitions, lake: Lake, settings: Settings,
    manifest: Manifest, say: Callable[[str], None],
) -> Taken | None:  # fmt: skip
    """A table snapshot made again in a scratch home: its partitions' recorded inputs obtained
    (copied or made again, each at its recorded version), then its table made again and
    snapshotted into a scratch store. NotObtainable names the first input that cannot be."""
    table = dg.AssetKey(manifest.source)
    with tempfile.TemporaryDirectory(prefix="fsdl-rebuild-home-") as root:
        home = ScratchHome(Path(root), settings)
        rebuilder = Rebuilder(instance, defs, lake, home, manifest.source, say)
        for entry in manifest.files:
            record = _record_with_version(instance, table, entry.partition, entry.data_version)
            node = Node(manifest.source, entry.partition, entry.data_version)
            if record is None or data_version(record) != entry.data_version:
                raise NotObtainable(node, "no materialization of it is in this Dagster "
                                    "instance's event log ($DAGSTER_HOME, else ./dagster.yaml)")  # fmt: skip
            rebuilder.plan(node, record, exact=False)
        rebuilder.execute()
        say(f"  {rebuilder.made} inputs made again in {rebuilder.runs} runs, {rebuilder.copied} "
            "copied from snapshots and the model registry, in a scratch home")  # fmt: skip
        return retake(home.lake, manifest, lambda f: home.version_of(manifest.source, f.partition),
                      produced_by(manifest.source))  # fmt: skip
