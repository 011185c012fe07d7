"""The ``astro-cloud-async`` command: ``index``, ``headers``, ``info``, ``find``, ``cutout``,
``refs``, ``demo`` and ``serve``.

Each subcommand lives in its own module with ``configure(parser)`` and ``run(args)``. The
table :data:`COMMANDS` names them (as pip's command registry does), so ``--help`` and the
parsing of one command import only that command's module: starting the command line costs
what the chosen command needs, not what every command needs. :func:`main` builds the parser,
dispatches, and turns the package's typed errors into a message and an exit status (2 for a
bad invocation or option, as argparse does).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from .. import __version__
from ..errors import AstroCloudError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "index": (".index", "index the headers of many objects into a catalog"),
    "headers": (".headers", "print the headers of FITS objects (like fitsheader)"),
    "info": (".info", "summarise the HDUs of FITS objects (like astropy.io.fits.info)"),
    "find": (".find", "list the HDUs of a catalog whose footprint holds a sky position"),
    "cutout": (".cutout", "write cutouts around a sky position from every HDU covering it"),
    "refs": (".refs", "write kerchunk references: a catalog's images as zarr arrays"),
    "demo": (
        ".demo",
        "index a sample survey served over HTTP on this machine (no account needed)",
    ),
    "serve": (".serve", "a local web page: drop a file, watch a scan, browse a catalog on the sky"),
}
"""Command name -> (its module, relative to this package; its one-line help)."""


def command_module(name: str) -> ModuleType:
    """The module of the command ``name`` (imported on first use)."""
    return importlib.import_module(COMMANDS[name][0], __name__)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, only that command's arguments are set up
    (the other commands are listed, with their help, for ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="astro-cloud-async",
        description="Index the headers of FITS files where they live: S3, HTTP, local disks.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text)
        if only is None or only == name:
            module = command_module(name)
            module.configure(sub)
            sub.set_defaults(run=module.run)
    return parser


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (its first argument that is not an option)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = _chosen(argv)
    parser = build_parser(chosen) if chosen is not None else build_parser("")
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
