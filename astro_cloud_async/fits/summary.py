"""The ``info`` summary of one HDU, read from its header alone (astropy's ``fits.info`` rules).

The summary of each HDU (name, version, type, cards, dimensions, format) follows the rules of
astropy's ``_summary`` methods: dimensions in FITS order, the NumPy type of BITPIX with
astropy's "(rescales to ...)" note for BSCALE/BZERO, ``NR x NC`` and the TFORMs for tables.
A tile-compressed image is summarised from its stored header (astropy describes the
decompressed image and counts that header's cards instead). Anything that holds an HDU's
index, header and offsets can be summarised: a walker's :class:`~.walker.HDU`, a scan's
``HDURecord``, a catalog row's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .header import Header

__all__ = ["HDULike", "HDUSummary", "summarize"]


class HDULike(Protocol):
    """What a summary is read from."""

    @property
    def index(self) -> int: ...
    @property
    def header(self) -> Header: ...
    @property
    def header_offset(self) -> int: ...
    @property
    def data_offset(self) -> int: ...
    @property
    def data_size(self) -> int: ...
    @property
    def truncated(self) -> bool: ...


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


def _kind(record: HDULike) -> str:
    h = record.header
    if record.index == 0:
        if h.get("SIMPLE") is False:
            return "NonstandardHDU"
        if h.get("GROUPS") is True and h.get("NAXIS1") == 0:
            return "GroupsHDU"
        return "PrimaryHDU"
    xtension = h.get("XTENSION")
    xtension = xtension.strip().upper() if isinstance(xtension, str) else ""
    if xtension in ("IMAGE", "IUEIMAGE"):
        return "ImageHDU"
    if xtension in ("BINTABLE", "A3DTABLE"):
        return "CompImageHDU" if h.get("ZIMAGE") is True else "BinTableHDU"
    if xtension == "TABLE":
        return "TableHDU"
    return "NonstandardExtHDU"


def summarize(record: HDULike) -> HDUSummary:
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
