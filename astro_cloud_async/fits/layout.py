"""Where an HDU's data lie: sizes from BITPIX, NAXISn, PCOUNT and GCOUNT.

The FITS standard (4.0, section 4.4.1) gives the data size of every conforming HDU as
``|BITPIX| * GCOUNT * (PCOUNT + NAXIS1 * ... * NAXISn) / 8`` bits, with two special cases:
a primary HDU with NAXIS = 0 has no data, and random groups (primary, NAXIS1 = 0, GROUPS = T)
leave NAXIS1 out of the product. Tables add their heap through PCOUNT, so tile-compressed
images come out right with no special case. Data are padded to whole 2880-byte blocks.

A primary header with ``SIMPLE = F`` says the file does not conform; its keywords then say
nothing reliable about the data, which (as astropy reads such a file, into a
``_NonstandardHDU``) are the whole rest of the file: :func:`rest_is_data` tells the walker so.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import InvalidHeaderError

__all__ = ["BLOCK", "CARD", "MAX_DATA_SIZE", "data_size", "padded", "rest_is_data"]

BLOCK = 2880
CARD = 80
MAX_DATA_SIZE = 1 << 50
"""A data size above this (1 PiB) cannot be real: a forged or corrupt NAXISn."""

_BITPIX = frozenset((8, 16, 32, 64, -32, -64))


def padded(size: int) -> int:
    """``size`` rounded up to a whole number of 2880-byte blocks."""
    return -(-size // BLOCK) * BLOCK


def rest_is_data(header: Mapping[str, object]) -> bool:
    """Whether a primary header is non-standard (``SIMPLE = F``): its data run to the end of
    the file, whatever BITPIX and NAXISn say."""
    return header.get("SIMPLE") is False


def _int(header: Mapping[str, object], key: str, default: int | None = None) -> int:
    value = header.get(key, default)
    if value is None:
        raise InvalidHeaderError(f"required keyword {key} is missing")
    # bool is an int subclass: NAXIS = T is as wrong as NAXIS = 'abc'.
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise InvalidHeaderError(f"{key} = {str(value)[:40]!r} is not an integer")
    return value


def data_size(header: Mapping[str, object], *, max_size: int = MAX_DATA_SIZE) -> int:
    """The exact number of data bytes that follow ``header`` (padding excluded).

    Raises :class:`InvalidHeaderError` when BITPIX or NAXISn are missing or unusable, or
    when the size exceeds ``max_size`` (default 1 PiB).
    """
    naxis = _int(header, "NAXIS")
    if naxis < 0 or naxis > 999:
        raise InvalidHeaderError(f"NAXIS = {_short(naxis)} is outside 0..999")
    if naxis == 0:
        return 0
    bitpix = _int(header, "BITPIX")
    if bitpix not in _BITPIX:
        raise InvalidHeaderError(f"BITPIX = {_short(bitpix)} is not one of 8, 16, 32, 64, -32, -64")
    primary = "SIMPLE" in header
    first = 1
    if primary and _int(header, "NAXIS1") == 0 and header.get("GROUPS") is True:
        first = 2  # random groups: NAXIS1 = 0 is a marker, not a dimension
    # Each factor is checked against the bound as the product grows, so a forged header
    # (999 axes of 2**40) costs no more than a real one and no huge number is ever printed.
    limit = max_size * 8
    elements = 1
    for i in range(first, naxis + 1):
        n = _int(header, f"NAXIS{i}")
        if n < 0:
            raise InvalidHeaderError(f"NAXIS{i} = {_short(n)} is negative")
        elements *= n
        if elements > limit:
            raise InvalidHeaderError(
                f"NAXIS1..NAXIS{i} give more than {max_size} bytes of data (the bound)"
            )
    pcount = _int(header, "PCOUNT", 0)
    gcount = _int(header, "GCOUNT", 1)
    if pcount < 0 or gcount < 0:
        raise InvalidHeaderError(
            f"PCOUNT = {_short(pcount)}, GCOUNT = {_short(gcount)}: must not be negative"
        )
    if primary and first == 1:
        # A plain primary array has no parameters or groups whatever the header says.
        pcount, gcount = 0, 1
    if pcount > limit or gcount > limit:
        raise InvalidHeaderError(f"PCOUNT or GCOUNT gives more than {max_size} bytes of data")
    size = abs(bitpix) * gcount * (pcount + elements) // 8
    if size > max_size:
        raise InvalidHeaderError(f"data size exceeds the bound of {max_size} bytes")
    return size


def _short(n: int) -> str:
    """An integer for a message: in full unless it is absurdly long."""
    text = str(n) if n.bit_length() < 200 else f"{'-' if n < 0 else ''}~2**{n.bit_length()}"
    return text
