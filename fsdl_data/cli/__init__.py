"""`fsdl-data`: generate a world, materialize it, explore it with SQL, read and serve its
features, snapshot and trace its data, forget a user.

One module per verb group, each with plain functions that the argparse handlers and `demo`
both call, and a `register` that adds its verbs (`fsdl-data VERB --help` lists sub-verbs):
- world: `world`
- run: `materialize`, `demo`
- checks: `check`
- explore: `sql`
- features: `features`
- snapshot: `snapshot`
- lineage: `lineage`, `rebuild`, `export`
- forget: `forget` (the right to be forgotten)
Beside them: `runner` launches Dagster jobs (bench/ uses it too), `_lineage` walks the event
log for `lineage`, `_common` opens settings and stores. Imports inside the functions are lazy
so `fsdl-data --help` starts fast; a mistake of the user's is one line on stderr and exit
code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from fsdl_data.cli import checks, explore, features, forget, lineage, run, snapshot, world


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fsdl-data", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    for group in (world, run, checks, explore, features, snapshot, lineage, forget):
        group.register(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    args = build_parser().parse_args(argv)
    # Dagster flags preview/beta APIs on every import; the CLI's users can do nothing about them.
    warnings.filterwarnings(
        "ignore", message=r".*(currently in beta|currently in preview|is superseded)"
    )
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        return args.handler(args)
    except (FileExistsError, FileNotFoundError, LookupError, ValueError) as e:
        # a KeyError's str() is the repr of its key; its first argument is the message; the
        # operating system's own (an errno) says what to do as one_line words it
        message = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        if isinstance(e, OSError) and e.errno is not None:
            message = one_line(e) or message
        print(f"fsdl-data: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fsdl-data: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`... | head`): stop quietly; nothing more can be printed
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as e:
        message = one_line(e)
        if message is None:
            raise
        print(f"fsdl-data: {message}", file=sys.stderr)
        return 1


def one_line(error: Exception) -> str | None:
    """What to tell a user about an error of the environment (a read-only or full disk, a
    missing bucket, an unreachable endpoint, a busy store) in one line; None for a bug."""
    import errno

    from fsdl_data.core.versioning.store import StoreBusy

    if isinstance(error, StoreBusy):
        return str(error)
    if isinstance(error, OSError) and not type(error).__module__.startswith("botocore"):
        where = f": {error.filename}" if error.filename else ""
        if error.errno == errno.ENOSPC:
            return (f"no space left on the device{where}: free space, then `fsdl-data snapshot "
                    "gc --keep N` removes what an interrupted run left")  # fmt: skip
        if isinstance(error, PermissionError) or error.errno == errno.EROFS:
            return f"permission denied{where}: choose a folder you can write to"
        if isinstance(error, NotADirectoryError):
            return f"not a folder{where}"
        if isinstance(error, IsADirectoryError):
            return f"is a folder, not a file{where}"
        if isinstance(error, FileNotFoundError):
            return (f"no such file or folder{where}: check the path (a folder to write to "
                    "must be one that exists or can be created)")  # fmt: skip
        if isinstance(error, FileExistsError):
            return f"already exists{where}: choose another path, or remove it first"
        return f"{error.strerror or error}{where}"
    if storage_full(error):
        return (
            "the disk holding the Dagster instance's storage ($FSDL_HOME/dagster, or "
            "$DAGSTER_HOME's) is full or failing (SQLite: disk full / disk I/O error): free "
            "space, then rerun"
        )
    boto = sys.modules.get("botocore.exceptions")
    if boto is not None:
        if isinstance(error, boto.ClientError):
            code = error.response.get("Error", {}).get("Code", "error")
            text = error.response.get("Error", {}).get("Message", "")
            bucket = error.response.get("Error", {}).get("BucketName")
            hint = " (check FSDL_LAKE_URL / FSDL_OBJECT_STORE_URL or the URL given)"
            return f"object store: {code}: {text}{f' ({bucket})' if bucket else ''}{hint}"
        if isinstance(error, boto.EndpointConnectionError | boto.ConnectTimeoutError):
            return f"cannot reach the object store: {error}: is the S3 endpoint running?"
        if isinstance(error, boto.NoCredentialsError):
            return "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        if isinstance(error, boto.BotoCoreError):
            return f"object store: {error}"
    return None


SQLITE_FULL = ("database or disk is full", "disk i/o error")


def storage_full(error: BaseException) -> bool:
    """Whether `error`, or what caused it, is SQLite failing to write (a full disk): Dagster
    wraps it in layers of its own errors, a hundred lines of traceback that never say so."""
    import sqlite3

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).lower()
        is_sqlite = (
            isinstance(current, sqlite3.OperationalError) or "sqlite3.operationalerror" in text
        )
        if is_sqlite and any(sign in text for sign in SQLITE_FULL):
            return True
        current = current.__cause__ or current.__context__
    return False
