"""``astro-cloud-async info``: an HDU table like ``astropy.io.fits.info()``, plus offsets.

The summary of each HDU (name, version, type, cards, dimensions, format) follows the rules of
astropy's ``_summary`` methods, read from the header alone: dimensions in FITS order, the
NumPy type of BITPIX with astropy's "(rescales to ...)" note for BSCALE/BZERO, ``NR x NC`` and
the TFORMs for tables. Then where each HDU lies: header offset, data offset, data bytes.
A tile-compressed image is summarised from its stored header (astropy describes the
decompressed image and counts that header's cards instead).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import AstroCloudError
from ..records import HDURecord
from .options import add_option_flags, options_from_args
from .reading import print_failure, read_objects

__all__ = ["HDUSummary", "configure", "format_info", "run", "summarize"]

_BITPIX = {8: "uint8", 16: "int16", 32: "int32", 64: "int64", -32: "float32", -64: "float64"}


@dataclass(frozen=True)
class HDUSummary:
    """One row of ``info``; the first seven fields are those of ``fits.info(output=False)``."""

    no: int
    name: str
    ver: Any
    type: str
    cards: int
    dimensions: tuple[int, ...] | str
    format: str
    header_offset: int
    data_offset: int
    data_size: int
    truncated: bool

    def astropy_tuple(self) -> tuple[Any, ...]:
        """What astropy's ``info(output=False)`` gives for the HDU (without its extra field)."""
        return (self.no, self.name, self.ver, self.type, self.cards, self.dimensions, self.format)


def _number(value: object, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return value


def _rescaled(bitpix: int, bscale: float, bzero: float) -> str | None:
    """astropy's ``_dtype_for_bitpix``: the type data scale to, for integer BITPIX."""
    if bscale == 1:
        if bitpix == 8 and bzero == -128:
            return "int8"
        for bits, name in ((16, "uint16"), (32, "uint32"), (64, "uint64")):
            if bitpix == bits and bzero == 1 << (bits - 1):
                return name
    if bitpix > 16:
        return "float64"
    if bitpix > 0:
        return "float32"
    return None


def _kind(record: HDURecord) -> str:
    h = record.header
    if record.index == 0:
        if h.get("SIMPLE") is False:
            return "NonstandardHDU"
        if h.get("GROUPS") is True and h.get("NAXIS1") == 0:
            return "GroupsHDU"
        return "PrimaryHDU"
    xtension = (record.xtension or "").strip().upper()
    if xtension in ("IMAGE", "IUEIMAGE"):
        return "ImageHDU"
    if xtension in ("BINTABLE", "A3DTABLE"):
        return "CompImageHDU" if h.get("ZIMAGE") is True else "BinTableHDU"
    if xtension == "TABLE":
        return "TableHDU"
    return "NonstandardExtHDU"


def summarize(record: HDURecord) -> HDUSummary:
    """The ``info`` row of one HDU, from its header."""
    h = record.header
    kind = _kind(record)
    default_name = {
        "PrimaryHDU": "PRIMARY",
        "GroupsHDU": "PRIMARY",
        "CompImageHDU": "COMPRESSED_IMAGE",
    }.get(kind, "")
    name = h.get("EXTNAME")
    name = default_name if name is None else str(name)
    ver = h.get("EXTVER", 1)
    dims: tuple[int, ...] | str = ()
    fmt = ""
    if kind in ("BinTableHDU", "TableHDU"):
        nfields = h.get("TFIELDS")
        count = nfields if isinstance(nfields, int) else 0
        dims = f"{h.get('NAXIS2')}R x {nfields}C"
        fmt = "[" + ", ".join(str(h.get(f"TFORM{j + 1}")) for j in range(count)) + "]"
    elif kind != "NonstandardHDU":
        prefix = "Z" if kind == "CompImageHDU" else ""
        naxis = h.get(prefix + "NAXIS")
        axes = [
            h.get(f"{prefix}NAXIS{j + 1}") for j in range(naxis if isinstance(naxis, int) else 0)
        ]
        shape = tuple(a if isinstance(a, int) else 0 for a in axes)
        bitpix = h.get(prefix + "BITPIX")
        if kind == "GroupsHDU":
            shape = shape[1:]
        dims = shape
        if shape and all(shape) and isinstance(bitpix, int) and bitpix in _BITPIX:
            fmt = _BITPIX[bitpix]
            bscale = _number(h.get("BSCALE"), 1)
            bzero = _number(h.get("BZERO"), 0)
            if kind != "CompImageHDU" and (bscale != 1 or bzero != 0):
                rescaled = _rescaled(bitpix, bscale, bzero)
                if rescaled is not None:
                    fmt += f" (rescales to {rescaled})"
    return HDUSummary(
        no=record.index,
        name=name,
        ver=ver,
        type=kind,
        cards=len(h.cards),
        dimensions=dims,
        format=fmt,
        header_offset=record.header_offset,
        data_offset=record.data_offset,
        data_size=record.data_size,
        truncated=record.truncated,
    )


def format_info(url: str, rows: list[HDUSummary]) -> str:
    """The table for one object, astropy's columns then the offsets, aligned."""
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
    lines = [f"Filename: {url}"]
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
        if args.json:
            documents.append({"url": url, "hdus": [asdict(r) for r in rows]})
            continue
        if n > 0:
            print()
        sys.stdout.write(format_info(url, rows))
    if args.json:
        json.dump(
            documents if len(args.urls) > 1 else (documents or [None])[0], sys.stdout, indent=2
        )
        print()
    return status
