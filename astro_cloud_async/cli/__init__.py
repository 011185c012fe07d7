"""The ``astro-cloud-async`` command: ``index``, ``headers``, ``info`` and ``demo``.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args)``;
:func:`main` only builds the parser, dispatches, and turns the package's typed errors into a
message and an exit status (2 for a bad invocation or option, as argparse does).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..errors import AstroCloudError

__all__ = ["build_parser", "main"]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("astro_cloud_async")
    except Exception:  # not installed (run from a source tree)
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    from . import demo, headers, index, info

    parser = argparse.ArgumentParser(
        prog="astro-cloud-async",
        description="Index the headers of FITS files where they live: S3, HTTP, local disks.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (index, headers, info, demo):
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except (AstroCloudError, FileExistsError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # piped into head: stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return status
