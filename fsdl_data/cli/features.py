"""`fsdl-data features get ENTITY:ID`: a feature vector as the online store serves it;
`fsdl-data features serve`: the feature server over HTTP."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from fsdl_data.cli import _common

ENTITIES = ("user", "photo")


def parse_entity(text: str) -> tuple[str, str]:
    entity, _, entity_id = text.partition(":")
    if entity not in ENTITIES or not entity_id.isdigit():
        raise ValueError(
            f"expected ENTITY:ID with ENTITY one of {', '.join(ENTITIES)} and a numeric id, e.g. user:123; got {text!r}"
        )
    return entity, entity_id


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--at must be an ISO 8601 time such as 2026-01-05T12:00:00Z; got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def online_store_url(settings: object) -> str:
    return settings.online_store_url or settings.app_db_url  # type: ignore[attr-defined]


def world_day() -> str | None:
    """The last day of the generated world in the object store (its manifest), or None for
    anything else: what `read_moment` reads a world's clock from."""
    from fsdl_data.core.world.generator import world_days

    days = world_days(_common.object_store())
    return days[-1] if days else None


def get(entity_ref: str, at: str | None = None, as_json: bool = False) -> int:
    """Prints every feature of one entity as served at `at` (default: `read_moment`'s, as the
    feature server does: now, or a generated world's latest time) with its event and known-at
    times and status; with `as_json`, a JSON list of objects."""
    from fsdl_data.core.features.online import open_online_store, read_moment, vector_of

    entity, entity_id = parse_entity(entity_ref)
    moment = None if at is None else parse_moment(at)
    store = open_online_store(online_store_url(_common.settings()))
    try:
        records = store.records(entity, [entity_id])
    finally:
        store.close()
    if moment is None:
        moment = read_moment(records, world_day(), datetime.now(UTC))
    vector = vector_of(entity, records, moment)
    if vector is None:
        print(f"{entity}:{entity_id} has no online features (an unknown id, or its features were "
              "never materialized: run `fsdl-data materialize`)", file=sys.stderr)  # fmt: skip
        return 1
    if as_json:
        import json

        print(json.dumps([value.as_json() for value in vector], indent=2))
        return 0
    from fsdl_data.core.features.online import vector_lines

    print("\n".join(vector_lines(entity, entity_id, moment, vector)))
    return 0


def _check_bindable(host: str, port: int) -> None:
    """Refuses, in one line, an address the server could not listen on (a port in use, a host
    that is not this machine's), before saying it serves: uvicorn would print 'serving' first,
    then its own error, and exit 3."""
    import socket

    try:
        socket.create_server((host, port)).close()  # SO_REUSEADDR, as uvicorn binds
    except OSError as error:  # Python adds "(while attempting to bind ...)": said already
        reason = (error.strerror or str(error)).split(" (while")[0]
        raise ValueError(
            f"cannot serve on {host}:{port}: {reason}: choose another --port "
            "or --host (or stop what listens there)"
        ) from None


def serve(host: str = "127.0.0.1", port: int = 6566, log: bool = True) -> int:
    """Runs the feature server on the configured online store until interrupted."""
    from fsdl_data.core.features.online import open_online_store
    from fsdl_data.core.features.served import ServedLog
    from fsdl_data.feature_server import run

    _check_bindable(host, port)
    settings = _common.settings()
    store = open_online_store(online_store_url(settings))
    served_log = ServedLog(settings.lake_url) if log else None
    print(f"serving features on http://{host}:{port} (POST /get-online-features, GET /health)",
          flush=True)  # fmt: skip
    run(store, served_log, host, port, world_day)
    return 0


def register(verbs: argparse._SubParsersAction) -> None:
    group = verbs.add_parser("features", help="read or serve features from the online store")
    sub = group.add_subparsers(dest="features_verb", required=True)
    p = sub.add_parser(
        "get", help="print an entity's online feature vector, e.g. `features get user:123`"
    )
    p.add_argument("entity", metavar="ENTITY:ID", help="user:<user_id> or photo:<photo_id>")
    p.add_argument(
        "--at",
        default=None,
        help="serve as at this ISO time (default: now; for a generated world, its latest time): "
        "only values described and published by then, within their TTL",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list of objects instead")
    p.set_defaults(handler=lambda a: get(a.entity, a.at, a.json))
    p = sub.add_parser(
        "serve",
        help="serve feature vectors over HTTP (Feast's POST /get-online-features)",
        description="Serve feature vectors over HTTP: POST /get-online-features (Feast's request "
        'and response shapes, plus known-at), GET /health. A request without "at" is served '
        "as `features get` without --at is: now, or for a generated world, its latest time.",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=6566, help="port to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--no-log",
        action="store_true",
        help="do not log served vectors to the lake (default: every served vector is logged "
        "under served_log/)",
    )
    p.set_defaults(handler=lambda a: serve(a.host, a.port, not a.no_log))
