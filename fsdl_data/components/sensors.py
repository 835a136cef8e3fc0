"""A sensor that starts a run when the objects under a prefix change, with the bounded cursor
of fsdl_data's object sensors (fsdl_data.core.ingestion.cursor)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import dagster as dg
from pydantic import ConfigDict

from fsdl_data.core.ingestion.cursor import HOT_DAYS, MAX_KEYS_PER_TICK, Cursor, scan
from fsdl_data.core.storage.objects import ObjectStore, listing_digest, open_object_store
from fsdl_data.core.versions import version_of


def folders_to_watch(store: ObjectStore, prefix: str) -> list[str]:
    """The folders a tick lists, one at a time: the prefix's sub-folders (day folders, say), or
    the prefix itself when it has none. Objects directly under a prefix that also has
    sub-folders are not watched: give the sub-folders' parent a prefix of its own."""
    below = store.folders(prefix)
    return [f"{prefix}{name}/" for name in below] if below else [prefix]


def tick(
    store: ObjectStore,
    prefix: str,
    cursor_text: str | None,
    hot_folders: int = HOT_DAYS,
    max_keys: int = MAX_KEYS_PER_TICK,
) -> tuple[str | None, str]:
    """(the state to run for, or None when nothing changed; the next cursor). A tick lists the
    newest `hot_folders` folders, those it does not know, and sweeps the others round-robin up
    to `max_keys` keys (`scan`); a folder whose listing digest differs from the one recorded
    changed (added, re-modified or deleted objects). The state is a version of every folder's
    digest, so the same objects never run twice."""
    saved = json.loads(cursor_text) if cursor_text else {}
    if not isinstance(saved, dict):
        saved = {}
    digests: dict[str, str] = dict(saved.get("digests", {}))
    folders = folders_to_watch(store, prefix)
    found = scan(
        folders,
        Cursor.from_json(saved.get("scan")),
        lambda folder: list(store.list(folder)),
        hot_days=hot_folders,
        max_keys=max_keys,
    )
    digests = {f: d for f, d in digests.items() if f in set(folders)}  # folders gone: forgotten
    changed = False
    for folder, listing in found.listings.items():
        digest = listing_digest(listing) if listing else None
        if digests.get(folder) != digest:
            changed = True
            if digest is None:
                digests.pop(folder, None)
            else:
                digests[folder] = digest
    cursor = json.dumps({"scan": found.cursor.to_json(), "digests": digests}, sort_keys=True)
    if not changed or not digests:
        return None, cursor
    return version_of(*sorted(digests.items())), cursor


def new_objects_sensor(
    name: str, objects_url: str, prefix: str, assets: Sequence[str], interval_s: int = 30
) -> dg.SensorDefinition:
    """Requests `assets` once for each new state of the objects under `prefix` (added, changed
    or deleted objects): the run key is a version of the folders' listing digests, so a state
    never runs twice, and a tick's listing is bounded (`tick`)."""

    @dg.sensor(
        name=name,
        target=list(assets),
        minimum_interval_seconds=interval_s,
        description=f"Runs {', '.join(assets)} when the objects under {objects_url}/{prefix} change.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state, cursor = tick(open_object_store(objects_url), prefix, context.cursor)
        requests = [dg.RunRequest(run_key=f"{name}-{state}")] if state else []
        return dg.SensorResult(run_requests=requests, cursor=cursor)

    return _sensor


class NewObjectsSensor(dg.Component, dg.Model, dg.Resolvable):
    """`new_objects_sensor` from YAML."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    name: str
    """The sensor's name."""
    objects: str
    """Where the objects are: an S3 or file URL."""
    prefix: str = ""
    """Watch only the objects under this key prefix."""
    assets: list[str]
    """The assets a run materializes when the objects change."""
    interval_s: int = 30
    """Seconds between ticks."""

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        return dg.Definitions(
            sensors=[
                new_objects_sensor(
                    self.name, self.objects, self.prefix, self.assets, self.interval_s
                )
            ]
        )
