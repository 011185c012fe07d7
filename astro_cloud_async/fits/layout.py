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

import re
from collections.abc import Mapping

from ..errors import InvalidHeaderError

__all__ = [
    "BLOCK",
    "CARD",
    "MAX_DATA_SIZE",
    "data_size",
    "padded",
    "rest_is_data",
    "standard_data_size",
]

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
    raw = getattr(header, "raw", None)
    if isinstance(raw, bytes) and raw.startswith(_SIMPLE_TRUE):
        # SIMPLE = T in fixed format as its first card, with nothing after the value but a
        # comment; the general reader below answers the same (without reading the header).
        rest = raw[30:CARD].lstrip(b" ")
        if not rest or rest.startswith(b"/"):
            return False
    return header.get("SIMPLE") is False


_SIMPLE_TRUE = b"SIMPLE  =                    T"


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
    raw = getattr(header, "raw", None)
    if isinstance(raw, bytes):
        size = standard_data_size(raw, max_size=max_size)
        if size is not None:
            return size
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


# --- the common case, read straight from the header's bytes -----------------------------------

_PRINTABLE = bytes(range(0x20, 0x7F))
_INT_FIELD = re.compile(rb" {0,19}([-+]?[0-9]{1,20}) *(?:/.*)?")
"""A card's value field holding a fixed-format integer (by column 30), perhaps a comment."""
_PRIMARY_ONLY = (b"PCOUNT", b"GCOUNT")
_EXTENSION_ONLY = (b"SIMPLE",)
_AXIS_PREFIXES = tuple(f"NAXIS{i}".ljust(8).encode() + b"= " for i in range(1000))


def _marks(*marked: tuple[bytes, int]) -> bytes:
    """A ``bytes.translate`` table giving each byte the OR of the marks of the sets of bytes it
    is in (``(chars, mark)`` pairs), and 0 to the others."""
    table = bytearray(256)
    for chars, mark in marked:
        for c in chars:
            table[c] |= mark
    return bytes(table)


def _keyword_tables(words: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """``translate`` tables for the first and third columns of the cards, whose marks ANDed
    are non-zero for a card that may have one of ``words`` (upper case, three letters or more)
    as its keyword, or may be a HIERARCH card. Mark 1: a word's first letter, then its third;
    mark 2: a space, then a space or a word's first or second letter (the keyword may follow
    spaces); mark 4: H, then E."""
    leads, seconds, thirds = (bytes(w[i] for w in words) for i in range(3))
    first = _marks((leads + leads.lower(), 1), (b" ", 2), (b"Hh", 4))
    spaced = leads + seconds + b" "
    third = _marks((thirds + thirds.lower(), 1), (spaced + spaced.lower(), 2), (b"Ee", 4))
    return first, third


_KEYWORD_TABLES: dict[tuple[bytes, ...], tuple[bytes, bytes]] = {
    words: _keyword_tables(words) for words in (_PRIMARY_ONLY, _EXTENSION_ONLY)
}


def _has_keyword(raw: bytes, start: int, words: tuple[bytes, ...]) -> bool:
    """Whether a card of ``raw`` from offset ``start`` on has one of ``words`` (upper case) as
    its keyword, in any case and perhaps after spaces, or may be a HIERARCH card (whose keyword
    could be anything).

    Only the cards that could be such a card are looked at: the columns of the cards' first
    and third bytes are strided slices, marked with one ``translate`` each (see
    :func:`_keyword_tables`) and ANDed as integers, so the many HISTORY cards of a header, and
    its keywords that merely start with a word's letter, cost nothing."""
    stop = start + (len(raw) - start) // CARD * CARD
    first, third = _KEYWORD_TABLES[words]
    firsts = raw[start:stop:CARD].translate(first)
    thirds = raw[start + 2 : stop : CARD].translate(third)
    marks = int.from_bytes(firsts, "little") & int.from_bytes(thirds, "little")
    at = start
    while marks:
        skip = ((marks & -marks).bit_length() - 1) // 8  # cards to the next candidate
        at += skip * CARD
        if raw[at] in b"Hh" and raw[at + 2] in b"Ee":
            return True  # a card starting H?E (HIERARCH, most likely): the general reader decides
        if raw[at : at + 8].strip(b" ").upper() in words:
            return True
        marks >>= (skip + 1) * 8
        at += CARD
    return False


def _card_int(raw: bytes, j: int, prefix: bytes) -> int | None:
    """The integer of card ``j`` when it is ``prefix`` (keyword and value indicator) followed
    by a fixed-format integer and at most a comment; None otherwise. (The caller checks that
    the cards are printable ASCII.)"""
    start = j * CARD
    if not raw.startswith(prefix, start):
        return None
    m = _INT_FIELD.fullmatch(raw, start + 10, start + CARD)
    return int(m.group(1)) if m is not None else None


def standard_data_size(raw: bytes, *, max_size: int = MAX_DATA_SIZE) -> int | None:
    """:func:`data_size` read straight from a header's bytes, when its structural keywords are
    where the standard puts them (SIMPLE or XTENSION, BITPIX, NAXIS, NAXIS1..n, then PCOUNT
    and GCOUNT in an extension) with plain integer values; None in every other case, for the
    general reader. Where it answers, it answers as :func:`data_size` does (a property test
    holds them together), without making a card object or a keyword index.

    What the structural cards say is kept by their bytes (the headers of one survey repeat
    them, comments and all), so most headers cost two lookups (their first three cards, then
    all their structural cards) and a look at their other cards.
    """
    head = raw[: 3 * CARD]
    if head in _LEADS:
        lead = _LEADS[head]
    else:
        if len(_LEADS) >= _STRUCTURES_LIMIT:
            _LEADS.clear()
        lead = _LEADS[head] = _lead(head)
    if lead is None:
        return None
    primary, naxis = lead
    cards = (3 if primary else 5) + naxis
    if len(raw) < cards * CARD:
        return None  # a card cut short: the general reader decides
    key = (max_size, raw[: cards * CARD])
    size = _STRUCTURES.get(key, _UNSEEN)
    if size == _UNSEEN:
        if len(_STRUCTURES) >= _STRUCTURES_LIMIT:
            _STRUCTURES.clear()
        size = _STRUCTURES[key] = _structure_size(key[1], primary, naxis, max_size)
    if size is None:
        return None
    # Later cards cannot change the first BITPIX, NAXIS... the general reader takes; but it
    # takes a SIMPLE card anywhere to mean a primary header, and reads a primary header's
    # PCOUNT and GCOUNT (to check them) wherever they are.
    if _has_keyword(raw, cards * CARD, _PRIMARY_ONLY if primary else _EXTENSION_ONLY):
        return None
    return size


def _lead(head: bytes) -> tuple[bool, int] | None:
    """Whether the first three cards of a header, ``head``, open a primary header, and the
    NAXIS they give, when they are SIMPLE or XTENSION, then NAXIS (0 to 999) as the third
    card; None otherwise."""
    first = head[:10]
    if first == b"SIMPLE  = ":
        primary = True
    elif first == b"XTENSION= ":
        primary = False
    else:
        return None
    naxis = _card_int(head, 2, b"NAXIS   = ")
    if naxis is None or not 0 <= naxis <= 999:
        return None
    return primary, naxis


_LEADS: dict[bytes, tuple[bool, int] | None] = {}
"""First three cards -> what :func:`_lead` makes of them."""
_STRUCTURES: dict[tuple[int, bytes], int | None] = {}
"""(bound, structural cards) -> the data size they give, or None (the general reader)."""
_STRUCTURES_LIMIT = 1024
_UNSEEN = -1


def _structure_size(cards: bytes, primary: bool, naxis: int, max_size: int) -> int | None:
    """The data size the structural ``cards`` of a header give (NAXIS already read from them,
    and all of them present), or None where the general reader must decide."""
    bitpix = _card_int(cards, 1, b"BITPIX  = ")
    if bitpix is None or (naxis and bitpix not in _BITPIX):
        return None
    limit = max_size * 8
    elements = 1
    first_axis = -1
    for i in range(1, naxis + 1):
        n = _card_int(cards, 2 + i, _AXIS_PREFIXES[i])
        if n is None or n < 0:
            return None
        if i == 1:
            first_axis = n
        elements *= n
        if elements > limit:
            return None
    if primary:
        if first_axis == 0:
            return None  # perhaps random groups: the general reader looks at GROUPS
        pcount, gcount = 0, 1
    else:
        pcount_card = _card_int(cards, 3 + naxis, b"PCOUNT  = ")
        gcount_card = _card_int(cards, 4 + naxis, b"GCOUNT  = ")
        if pcount_card is None or gcount_card is None:
            return None
        pcount, gcount = pcount_card, gcount_card
        if not 0 <= pcount <= limit or not 0 <= gcount <= limit:
            return None
    if cards.translate(None, _PRINTABLE):
        return None  # a card the general reader takes another way
    if naxis == 0:
        return 0
    size = abs(bitpix) * gcount * (pcount + elements) // 8
    return size if size <= max_size else None
