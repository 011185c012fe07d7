"""``astro-cloud-async refs``: kerchunk references that make a catalog's images zarr arrays.

Written from the catalog alone: no object is read, and the references point into the
originals (no byte is copied). See :mod:`astro_cloud_async.virtual` for how to open them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .options import parse_size

__all__ = ["configure", "run"]


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``refs`` to its parser."""
    p.description = (
        "Write kerchunk references (JSON) for the uncompressed image HDUs of CATALOG, chunked "
        "by rows; open them with fsspec's reference:// filesystem and zarr or xarray (scaled "
        "images need 'import astro_cloud_async.virtual.codec' first)."
    )
    p.add_argument("catalog", type=Path, help="a catalog written by 'index' (or 'find -o')")
    p.add_argument("-o", "--output", required=True, type=Path, help="the references file")
    p.add_argument(
        "--stack",
        action="store_true",
        help="stack HDUs of one shape, type and scaling into one array (frame, y, x)",
    )
    p.add_argument(
        "--chunk-size",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="target bytes per chunk: whole rows, as many as fit (default 1 MiB)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..virtual.refs import DEFAULT_CHUNK_BYTES, write_references

    refs = write_references(
        args.catalog,
        args.output,
        stack=args.stack,
        chunk_bytes=args.chunk_size or DEFAULT_CHUNK_BYTES,
    )["refs"]
    arrays = [k[: -len("/.zarray")] for k in refs if k.endswith("/.zarray")]
    chunks = sum(1 for k in refs if not k.rsplit("/", 1)[-1].startswith("."))
    skipped = json.loads(refs[".zattrs"])["skipped"]
    print(f"{len(arrays)} arrays, {chunks} chunks -> {args.output}", file=sys.stderr)
    for url, hdu, reason in skipped:
        print(f"  left out: {url}[{hdu}]: {reason}", file=sys.stderr)
    return 0
