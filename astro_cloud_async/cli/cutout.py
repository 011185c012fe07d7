"""``astro-cloud-async cutout``: a FITS cutout around a position from every HDU that covers it.

The HDUs come from the catalog (``find``'s polygon test), the pixels from the objects
themselves: only the rows the box spans are fetched, many HDUs at once. Each cutout is written
as ``<object>-hdu<n>.fits`` in the output folder, with the WCS shifted to it as
``astropy.nddata.Cutout2D`` shifts it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from ..errors import ConfigurationError
from .find import add_position_arguments
from .options import add_option_flags, options_from_args
from .reading import print_failure

__all__ = ["configure", "parse_cutout_size", "run"]


def parse_cutout_size(text: str) -> int | tuple[int, int]:
    """``64`` (a square) or ``NY,NX`` pixels."""
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size in pixels: {text!r}") from None
    if len(parts) not in (1, 2) or min(parts) < 1:
        raise argparse.ArgumentTypeError(f"expected N or NY,NX pixels, got {text!r}")
    return parts[0] if len(parts) == 1 else (parts[0], parts[1])


def configure(p: argparse.ArgumentParser) -> None:
    """Add the arguments of ``cutout`` to its parser."""
    p.description = (
        "Write a FITS cutout around RA DEC from every image HDU of CATALOG whose footprint "
        "holds the position, reading only the rows each cutout spans."
    )
    add_position_arguments(p)
    p.add_argument(
        "--size",
        type=parse_cutout_size,
        default=64,
        metavar="N|NY,NX",
        help="cutout size in pixels (default 64)",
    )
    p.add_argument("-o", "--output", required=True, help="folder to write the cutouts to")
    p.add_argument(
        "--mode",
        choices=("partial", "trim"),
        default="partial",
        help="at an image edge: keep the full size and fill the rest (partial, the default), "
        "or keep only the part inside the image (trim)",
    )
    p.add_argument(
        "--fill",
        type=float,
        default=None,
        metavar="VALUE",
        help="value outside the image in partial mode (default NaN; 0 for integer images)",
    )
    p.add_argument(
        "--radius",
        type=float,
        default=0.0,
        metavar="ARCSEC",
        help="also use HDUs whose footprint passes within ARCSEC of the position",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing files")
    p.add_argument("--no-progress", action="store_true", help="no progress display")
    add_option_flags(p)
    p.set_defaults(run=run)


async def _main(args: argparse.Namespace) -> int:
    from ..client import Client
    from ..cutouts.files import write_cutouts

    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=None, unit=" cutout", file=sys.stderr, leave=False, desc="cutouts")

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        async with Client(options_from_args(args)) as client:
            report = await write_cutouts(
                args.catalog,
                args.ra,
                args.dec,
                args.size,
                args.output,
                client=client,
                radius=args.radius,
                mode=args.mode,
                fill_value=args.fill,
                overwrite=args.overwrite,
                progress=progress,
            )
            stats = client.stats
    finally:
        if bar is not None:
            bar.close()
    for failure in report.failed:
        print_failure(f"{failure.record.url}[{failure.record.index}]", failure.error)
    print(
        f"{len(report.written)} cutouts from {report.matched} HDUs -> {args.output}; "
        f"{stats.requests} requests, {stats.bytes} bytes fetched"
        + (f"; {len(report.failed)} failed" if report.failed else ""),
        file=sys.stderr,
    )
    return 1 if report.failed else 0


def run(args: argparse.Namespace) -> int:
    if args.mode == "trim" and args.fill is not None:
        raise ConfigurationError("--fill applies to --mode partial only")
    return asyncio.run(_main(args))
