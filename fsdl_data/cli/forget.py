"""`fsdl-data forget user:<id>|photo:<id>`: the right to be forgotten, across every place and
every snapshot (the logic: core/privacy/forget.py); `--verify` proves the subject gone."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fsdl_data.cli import _common


def _places(export_roots: list[str]) -> Any:
    from fsdl_data.cli.features import online_store_url
    from fsdl_data.core.features.online import open_online_store
    from fsdl_data.core.privacy.forget import Places

    settings = _common.settings()
    roots = tuple(Path(r) for r in export_roots)
    for root in roots:
        if not root.is_dir():
            raise FileNotFoundError(f"--exports {root}: not a folder")
    return Places(lake=_common.lake().store, objects=_common.object_store(),
                  online=open_online_store(online_store_url(settings)),
                  app_db=_app_db_if_made(), export_roots=roots)  # fmt: skip


def _app_db_if_made() -> Any:
    """The application database, or None before any world or ingest made its tables: then it
    holds no one, and querying it would fail with 'no such table' instead of counting zero."""
    import sqlalchemy as sa

    from fsdl_data.core.privacy.forget import probe
    from fsdl_data.core.storage.appdb import photos, users

    db = _common.app_db()
    probe("app_db", db)  # one line saying what to do, before anything is read or erased
    tables = set(sa.inspect(db.engine).get_table_names())
    return db if {photos.name, users.name} <= tables else None


def _progress(place: str) -> None:
    if sys.stderr.isatty():
        print(f"  erasing from {place} ...", file=sys.stderr)


def forget(subject_text: str, reason: str, verify: bool, as_json: bool,
           export_roots: list[str]) -> int:  # fmt: skip
    from fsdl_data.core.privacy.forget import PLACES, erasure_key, forget, verify_forgotten
    from fsdl_data.core.privacy.subjects import Subject

    subject = Subject.parse(subject_text)
    places = _places(export_roots)
    if verify:
        found = verify_forgotten(subject, places)
        total = sum(found.values())
        if as_json:
            print(json.dumps({"subject": str(subject), "occurrences": found, "total": total},
                             indent=1))  # fmt: skip
        else:
            print(f"{subject}: {total} occurrences ("
                  + ", ".join(f"{place} {found[place]}" for place in PLACES) + ")")  # fmt: skip
        return 0 if total == 0 else 2
    report = forget(subject, places, reason, progress=_progress)
    if as_json:
        print(json.dumps(report, indent=1, sort_keys=True))
        return 0
    if report.get("already"):
        print(f"{subject} was already erased (erasure {report['erasure']}, "
              f"{report['finished']}): nothing left to erase")  # fmt: skip
        return 0
    done = report["places"]
    print(f"erased {subject} (erasure {report['erasure']}, reason: {report['reason']}): "
          f"{report['rows']:,} rows, items or objects, {report['footprint']['photos']} photos")  # fmt: skip
    for place in PLACES:
        p = done[place]
        if place == "snapshots":
            print(f"  {place:<10} {p['files']} snapshots rewritten ({p['blobs_written']} files, "
                  f"{p['packs_rewritten']} packs), {p['rows']:,} rows")  # fmt: skip
            for r in p["rewritten"]:
                print(f"    {r['name']} {r['erased'][:12]} -> {r['replaced_by'][:12]}: "
                      f"{r['rows']:,} rows in {r['files']} files")  # fmt: skip
        elif "files" in p:
            print(f"  {place:<10} {p['files']} files ({p['removed']} removed), "
                  f"{p['rows']:,} rows")  # fmt: skip
        else:
            print(f"  {place:<10} {p['rows']:,} rows")
    share = report["bytes_written"] / max(report["store_bytes"], 1)
    print(f"  rewrote {report['bytes_written']:,} bytes of data of {report['store_bytes']:,} "
          f"({share:.2%}), and {report.get('metadata_bytes', 0):,} of manifests and "
          f"tombstones; report: {erasure_key(report['erasure'])} in the lake")  # fmt: skip
    return 0


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("forget", help="erase a user (with their photos) or a photo everywhere")
    p.add_argument("subject", metavar="SUBJECT", help="user:<id> or photo:<id>")
    p.add_argument("--verify", action="store_true",
                   help="erase nothing: scan every place and count what is left (exit 2 if any)")  # fmt: skip
    p.add_argument("--reason", default="erasure request (GDPR art. 17)",
                   help="why, for the erasure report and the snapshots' tombstones")  # fmt: skip
    p.add_argument("--exports", action="append", default=[], metavar="DIR",
                   help="also a folder holding exports (those under the lake are always found)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.set_defaults(handler=lambda a: forget(a.subject, a.reason, a.verify, a.json, a.exports))
