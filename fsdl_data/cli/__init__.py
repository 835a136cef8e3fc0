"""`fsdl-data`: generate a world, materialize it, explore it with SQL, read features online.

One module per verb group, each with plain functions that the argparse handlers and `demo`
both call, and a `register` that adds its verbs (`fsdl-data VERB --help` lists sub-verbs):
- world: `world`
- run: `materialize`, `demo`
- checks: `check`
- explore: `sql`
- features: `features`
- snapshot: `snapshot`
- lineage: `lineage`, `rebuild`, `export`
Beside them: `runner` launches Dagster jobs (bench/ uses it too), `_lineage` walks the event
log for `lineage`, `_common` opens settings and stores. Imports inside the functions are lazy
so `fsdl-data --help` starts fast; a mistake of the user's is one line on stderr and exit
code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from fsdl_data.cli import checks, explore, features, lineage, run, snapshot, world


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
    except (FileExistsError, FileNotFoundError, LookupError, ValueError) as e:
        # a KeyError's str() is the repr of its key; its first argument is the message
        message = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        print(f"fsdl-data: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fsdl-data: interrupted", file=sys.stderr)
        return 130
