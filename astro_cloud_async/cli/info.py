"""``astro-cloud-async info``: an HDU table like ``astropy.io.fits.info()``, plus offsets.

The summary of each HDU (name, version, type, cards, dimensions, format) is
:func:`~astro_cloud_async.fits.summary.summarize`'s, read from the header alone by astropy's
rules; then where each HDU lies: header offset, data offset, data bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from ..errors import AstroCloudError
from ..fits.summary import HDUSummary, summarize
from .options import add_option_flags, options_from_args
from .reading import print_failure, read_objects

__all__ = ["HDUSummary", "configure", "format_info", "run", "summarize"]


def format_info(url: str, rows: list[HDUSummary], compression: str | None = None) -> str:
    """The table for one object, astropy's columns then the offsets, aligned; for an object
    compressed whole, its ``compression`` (offsets are then in the decompressed stream)."""
    head = [
        "No.",
        "Name",
        "Ver",
        "Type",
        "Cards",
        "Dimensions",
        "Format",
        "Header at",
        "Data at",
        "Data bytes",
    ]
    body = [
        [
            str(r.no),
            r.name,
            str(r.ver),
            r.type,
            str(r.cards),
            str(r.dimensions),
            r.format,
            str(r.header_offset),
            str(r.data_offset),
            f"{r.data_size}{' (truncated)' if r.truncated else ''}",
        ]
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    right = {0, 2, 4, 7, 8, 9}
    through = f" ({compression}: offsets in the decompressed stream)" if compression else ""
    lines = [f"Filename: {url}{through}"]
    for row in [head, *body]:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``info`` to its parser."""
    p.description = "An HDU table like astropy.io.fits.info(), with where each HDU lies."
    p.add_argument("urls", nargs="+", metavar="URL", help="object URL or local path")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_option_flags(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    status = 0
    documents: list[Any] = []
    for n, (url, outcome) in enumerate(
        zip(args.urls, read_objects(args.urls, options), strict=True)
    ):
        if isinstance(outcome, AstroCloudError):
            print_failure(url, outcome)
            status = 1
            continue
        rows = [summarize(r) for r in outcome]
        compression = outcome[0].compression if outcome else None
        if args.json:
            document = {"url": url, "hdus": [asdict(r) for r in rows]}
            if compression is not None:
                document["compression"] = compression
            documents.append(document)
            continue
        if n > 0:
            print()
        sys.stdout.write(format_info(url, rows, compression))
    if args.json:
        json.dump(
            documents if len(args.urls) > 1 else (documents or [None])[0], sys.stdout, indent=2
        )
        print()
    return status
