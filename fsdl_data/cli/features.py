"""`fsdl-data features get ENTITY:ID`: a feature vector as the online store serves it."""

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


def parse_moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--at must be an ISO 8601 time such as 2026-01-05T12:00:00Z; got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def get(entity_ref: str, at: str | None = None) -> int:
    """Prints every feature of one entity with its event and known-at times and status."""
    from fsdl_data.core.features.online import read_vector

    entity, entity_id = parse_entity(entity_ref)
    moment = parse_moment(at)
    db = _common.app_db()
    try:
        vector = read_vector(db, entity, entity_id, moment)
    finally:
        db.dispose()
    if vector is None:
        print(f"{entity}:{entity_id} has no online features (an unknown id, or its features were "
              "never materialized: run `fsdl-data materialize`)", file=sys.stderr)  # fmt: skip
        return 1
    from fsdl_data.core.features.online import vector_lines

    print("\n".join(vector_lines(entity, entity_id, moment, vector)))
    return 0


def register(verbs: argparse._SubParsersAction) -> None:
    group = verbs.add_parser("features", help="read features from the online store")
    sub = group.add_subparsers(dest="features_verb", required=True)
    p = sub.add_parser(
        "get", help="print an entity's online feature vector, e.g. `features get user:123`"
    )
    p.add_argument("entity", metavar="ENTITY:ID", help="user:<user_id> or photo:<photo_id>")
    p.add_argument(
        "--at", default=None, help="serve as at this ISO time (default: now); TTL is applied to it"
    )
    p.set_defaults(handler=lambda a: get(a.entity, a.at))
