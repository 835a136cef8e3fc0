"""`fsdl-data world seed|append|info`: the synthetic photo-app world."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from fsdl_data.cli import _common


def print_days(reports: list[Any]) -> None:
    for r in reports:
        defects = f", defects {r.defects}" if r.defects else ""
        print(
            f"  {r.day}: {r.users} new users, {r.photos} photos, {r.events} log lines, "
            f"{r.seed_tasks} labeled tasks, {r.gold_tasks} gold{defects}"
        )


def seed(
    days: int = 3,
    photos_per_day: int = 200,
    users: int = 500,
    events_per_day: int = 20_000,
    seed: int = 0,
    start_date: str | None = None,
    defects: bool = False,
    orphan_photos: bool = True,
) -> list[Any]:
    from tqdm import tqdm

    from fsdl_data.core.storage.urls import redact_url
    from fsdl_data.core.world.generator import seed_world
    from fsdl_data.core.world.spec import WorldSpec

    s = _common.settings()
    spec = WorldSpec(
        seed=seed,
        start_date=date.fromisoformat(start_date) if start_date else s.start_date,
        photos_per_day=photos_per_day,
        users=users,
        events_per_day=events_per_day,
        defects=defects,
        orphan_photos=orphan_photos,
    )
    store, db = _common.object_store(s), _common.app_db(s)
    try:
        reports = seed_world(spec, days, store, db, s.truth_dir,
                             progress=lambda it: tqdm(it, desc="world days", unit="day"))  # fmt: skip
    finally:
        db.dispose()
    print(f"world seeded at {store.url} (app database {redact_url(db.url)}):")
    print_days(reports)
    _record_calendar(s.home, store)
    return reports


def _record_calendar(home: Path, store: Any) -> None:
    """The UI's calendar becomes the world's days (unless FSDL_START_DATE/FSDL_END_DATE say)."""
    from fsdl_data.config import write_calendar
    from fsdl_data.core.world.generator import world_days

    days = world_days(store)
    if days:
        path = write_calendar(home, days[0], days[-1])
        print(f"calendar: {days[0]} to {days[-1]} ({path})")


_LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
_RELOAD = """mutation Reload($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) {
  __typename ... on WorkspaceLocationEntry { locationOrLoadError { __typename ... on PythonError
  { message } } } ... on PythonError { message } ... on UnauthorizedError { message } } }"""


def _graphql(url: str, query: str, timeout_s: float, **variables: str) -> dict[str, Any]:
    import json
    import urllib.request

    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"{url.rstrip('/')}/graphql", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return json.loads(response.read())["data"]


def reload_running_ui(url: str) -> None:
    """Ask the Dagster UI at `url` (a running `make dev`) to reload its code locations: Dagster
    reads the calendar only when it loads the definitions, so without this the sensors would
    ignore the world's new days until someone reloads by hand. When no UI answers, only say so."""
    if url == "off":
        return
    try:
        found = _graphql(url, _LOCATIONS, 5)["workspaceOrError"].get("locationEntries") or []
    except (OSError, ValueError, KeyError, TypeError):
        print(f"no Dagster UI at {url} (FSDL_DAGSTER_URL): the next `make dev` sees the new days")
        return
    for name in [entry["name"] for entry in found]:
        try:
            answer = _graphql(url, _RELOAD, 600, name=name)["reloadRepositoryLocation"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            answer = {"__typename": "Error", "message": str(error)}
        loaded = (answer.get("locationOrLoadError") or {}).get("__typename")
        if loaded == "RepositoryLocation":
            print(
                f"Dagster at {url} reloaded {name}: its sensors see the new days on their next tick"
            )
            continue
        why = answer.get("message") or (answer.get("locationOrLoadError") or {}).get("message")
        print(
            f"Dagster at {url} did not reload {name} ({why or loaded}): reload it there "
            "(Deployment > Reload) so its sensors see the new days",
            file=sys.stderr,
        )


def append(days: int = 1) -> list[Any]:
    from fsdl_data.core.privacy.forget import erased_subjects
    from fsdl_data.core.world.generator import append_days

    s = _common.settings()
    db = _common.app_db(s)
    erased = erased_subjects(_common.lake(s).store)  # `fsdl-data forget`'s: never made again
    try:
        reports = append_days(_common.object_store(s), db, s.truth_dir, days, erased)
    finally:
        db.dispose()
    print("appended:")
    print_days(reports)
    _record_calendar(s.home, _common.object_store(s))
    reload_running_ui(s.dagster_url)
    return reports


def info() -> int:
    from fsdl_data.core.world.generator import read_manifest, world_days

    store = _common.object_store()
    found = read_manifest(store)
    if found is None:
        print(f"no world at {store.url}: run `fsdl-data world seed`", file=sys.stderr)
        return 1
    print(found[0].to_json())
    print("days:", ", ".join(world_days(store)))
    return 0


def _seed(a: argparse.Namespace) -> int:
    return _done(
        seed(a.days, a.photos_per_day, a.users, a.events_per_day, a.seed, a.start_date, a.defects)
    )


def _done(_: object) -> int:
    return 0


def register(verbs: argparse._SubParsersAction) -> None:
    group = verbs.add_parser("world", help="generate the synthetic photo-app world")
    sub = group.add_subparsers(dest="world_verb", required=True)
    p = sub.add_parser("seed", help="generate a fresh world")
    p.add_argument("--days", type=_common.at_least_one, default=3)
    p.add_argument("--photos-per-day", type=int, default=200)
    p.add_argument("--users", type=_common.at_least_one, default=500)
    p.add_argument("--events-per-day", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start-date", default=None, help="first day (default: FSDL_START_DATE)")
    p.add_argument("--defects", action="store_true", help="inject realistic defects")
    p.set_defaults(handler=_seed)
    p = sub.add_parser("append", help="generate the next day(s) of an existing world")
    p.add_argument("--days", type=_common.at_least_one, default=1)
    p.set_defaults(handler=lambda a: _done(append(a.days)))
    sub.add_parser("info", help="describe the world").set_defaults(handler=lambda a: info())
