"""``astro-cloud-async find``: the HDUs of a catalog whose footprint holds a sky position.

Prints one line per HDU (URL, HDU, EXTNAME, the footprint's centre and its distance to the
position), or writes the matching rows, header text included, as a catalog of their own
(``-o``), which ``cutout`` and ``refs`` take like any catalog.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_position_arguments", "configure", "run"]


def add_position_arguments(p: argparse.ArgumentParser) -> None:
    """CATALOG RA DEC, shared by ``find`` and ``cutout``."""
    p.add_argument("catalog", type=Path, help="a catalog written by 'index' (footprints on)")
    p.add_argument("ra", type=float, help="right ascension, degrees")
    p.add_argument("dec", type=float, help="declination, degrees")


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``find`` to its parser."""
    p.description = (
        "List the HDUs of CATALOG whose sky footprint holds the position RA DEC (degrees), "
        "by a polygon test on the sphere over the catalog's footprint columns."
    )
    add_position_arguments(p)
    p.add_argument(
        "--radius",
        type=float,
        default=0.0,
        metavar="ARCSEC",
        help="also list footprints whose edges pass within ARCSEC of the position",
    )
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write the matching rows as a catalog (Parquet, or .jsonl/.csv by suffix)",
    )
    p.set_defaults(run=run)


def _write(table: Any, output: Path) -> None:
    from ..catalog.resume import catalog_format

    fmt = catalog_format(output)
    if fmt == "parquet":
        # A dataset directory of one part, as 'index' writes catalogs.
        import time

        import pyarrow as pa
        import pyarrow.parquet as pq

        from ..catalog.files import atomic_write, part_name

        output.mkdir(parents=True, exist_ok=True)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        atomic_write(output / part_name(time.time_ns(), 0), sink.getvalue().to_pybytes())
    elif fmt == "jsonl":
        with open(output, "w", encoding="utf-8") as f:
            for row in table.to_pylist():
                f.write(json.dumps(row) + "\n")
    else:
        import pyarrow.csv as pacsv

        pacsv.write_csv(table, output)


def run(args: argparse.Namespace) -> int:
    from ..sky.query import find
    from ..sky.sphere import separation

    table = find(args.catalog, args.ra, args.dec, args.radius)
    if args.output is not None:
        _write(table, args.output)
        print(f"{len(table)} HDUs -> {args.output}", file=sys.stderr)
        return 0
    for row in table.select(["url", "hdu", "extname", "footprint_ra", "footprint_dec"]).to_pylist():
        distance = float(separation(args.ra, args.dec, row["footprint_ra"], row["footprint_dec"]))
        row["distance_arcsec"] = round(distance * 3600, 3)
        if args.json:
            print(json.dumps(row))
        else:
            print(
                f"{row['url']}\t{row['hdu']}\t{row['extname'] or ''}\t"
                f"{row['footprint_ra']:.6f}\t{row['footprint_dec']:.6f}\t{row['distance_arcsec']}"
            )
    print(f"{len(table)} HDUs hold RA {args.ra} Dec {args.dec}", file=sys.stderr)
    return 0
