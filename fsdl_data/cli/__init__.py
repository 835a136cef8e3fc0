"""`fsdl-data`: generate a world, materialize it, explore it with SQL, read features online.

One module per verb group (world, run, explore, features), each with plain functions that the
argparse handlers and `demo` both call, and a `register` that adds its verbs. Imports inside the
functions are lazy so `fsdl-data --help` starts fast; a mistake of the user's is one line on
stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from fsdl_data.cli import checks, explore, features, lineage, run, snapshot, world


class UsageError(Exception):
    """A mistake of the user's: printed as one line, exit code 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fsdl-data", description=__doc__.split("\n\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    for group in (world, run, checks, explore, features, snapshot, lineage):
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
    except (FileExistsError, FileNotFoundError, LookupError, ValueError, UsageError) as e:
        # a KeyError's str() is the repr of its key; its first argument is the message
        message = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        print(f"fsdl-data: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fsdl-data: interrupted", file=sys.stderr)
        return 130
