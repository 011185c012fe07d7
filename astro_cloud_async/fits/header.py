"""The parsed header: a read-only, case-insensitive mapping over an ordered tuple of cards.

Strategy. Parsing does only what every use needs, and does it in C where it can: the END card is
found with ``find`` in the string of the cards' first bytes and any CONTINUE cards with ``find``
(not card by card), the bytes are decoded once (latin-1) and checked for non-printable bytes with
one ``translate``, the first ten bytes of every card come out of one ``struct.unpack``, and each
card's keyword is a dict lookup on them (see ``cards.keyword_of``). Values, comments and
:class:`Card` objects are read when first asked for: one card at a time for lookups (a walker needs
BITPIX and NAXISn, not 200 values), all at once for ``cards``, ``to_dict`` or comparisons, and then
kept. The keyword index is built on the first lookup.

Lookups follow astropy: keys are case-insensitive, ``HIERARCH`` may be given or left out, the
first of duplicate keywords wins (``get_all`` gives them all) and commentary keywords (COMMENT,
HISTORY, blank) give the list of their texts.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from .cards import (
    _KEYWORDS,
    _STANDARD,
    _TEXT,
    CARD_LENGTH,
    COMMENTARY_KEYWORDS,
    END_CARD,
    Card,
    Fields,
    keyword_of,
    make_cards,
    read_fields,
    read_long_card,
    read_value,
)
from .layout import padded

if TYPE_CHECKING:
    import astropy.io.fits

__all__ = ["Header", "find_end", "parse_header"]

# Set by Header._parse on first use of the cards.
_PARSED_SLOTS = frozenset(
    {
        "_bounds",
        "_cards",
        "_index",
        "_keys",
        "_keywords",
        "_order",
        "_prefixes",
        "_printable",
        "_rows",
        "_text",
    }
)
# Keywords whose lookups give a list of texts (astropy also counts a stray END card in).
_LIST_KEYWORDS = COMMENTARY_KEYWORDS | {"END"}
_KEYWORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_PRINTABLE = bytes(range(0x20, 0x7F))
_END_SPACES = END_CARD[3:].encode("ascii")
_END_CARD = END_CARD.encode("ascii")
_PREFIX_STRUCTS: dict[int, struct.Struct] = {}


def _prefixes(body: bytes) -> tuple[bytes, ...]:
    """The first 10 bytes of every 80-byte card of ``body`` (one C call)."""
    n = len(body) // CARD_LENGTH
    unpacker = _PREFIX_STRUCTS.get(n)
    if unpacker is None:
        # Compiling the format costs about twice the unpacking: keep those of common sizes.
        unpacker = struct.Struct("10s70x" * n)
        if n <= 1024:
            if len(_PREFIX_STRUCTS) >= 128:
                _PREFIX_STRUCTS.clear()
            _PREFIX_STRUCTS[n] = unpacker
    return unpacker.unpack(body)


def _find_card(buf: bytes | bytearray, card: bytes, start: int, stop: int) -> int:
    """Offset of the first ``card`` (a prefix of a card) on a card boundary from ``start``."""
    pos = start
    while True:
        i = buf.find(card, pos, stop)
        if i < 0:
            return -1
        misalign = (i - start) % CARD_LENGTH
        if not misalign:
            return i
        pos = i - misalign + CARD_LENGTH


_FIRST_SPAN = 32 * 2880
"""Bytes of cards :func:`_first_card_with` looks at first (then twice as many each time)."""


def _first_card_with(buf: bytes | bytearray, prefix: bytes, start: int, stop: int) -> int:
    """Offset of the first card (on a card boundary from ``start``, before ``stop``) whose
    first bytes are ``prefix``, wholly before ``stop``; -1 if there is none.

    The prefix's first byte is looked for in the string of the cards' first bytes (one strided
    slice), so text inside cards costs nothing; the buffer is taken in growing spans, so a
    header at the start of a large buffer costs no more than its own cards."""
    lead, size = prefix[0], len(prefix)
    low, span = start, _FIRST_SPAN
    while low < stop:
        high = min(low + span, stop)
        firsts = buf[low:high:CARD_LENGTH]
        k = firsts.find(lead)
        while k >= 0:
            pos = low + k * CARD_LENGTH
            if buf.startswith(prefix, pos) and pos + size <= stop:
                return pos
            k = firsts.find(lead, k + 1)
        low = high
        span *= 2
    return -1


def find_end(buf: bytes | bytearray, start: int = 0, stop: int | None = None) -> int:
    """Offset of the END card of the header at ``buf[start:stop]``, or -1 if it has none.

    The rule is that of ``astropy.io.fits.open``: the first exact END card (``END`` and 77
    spaces). A damaged END card before it (``END`` then anything but a keyword character, as
    in ``END / x``) ends the header only where astropy's fast reader gives up and its fallback
    reader takes over: when no exact END card follows in the data, or when a byte that is not
    ASCII comes first (the fast reader decodes whole blocks).
    """
    stop = len(buf) if stop is None else stop
    i = _first_card_with(buf, b"END", start, stop)
    if i < 0:
        return -1  # no card starts with END
    if i + CARD_LENGTH <= stop and buf.startswith(_END_CARD, i):
        return i  # the first card that starts with END is exact: the common case
    return _scan_end(buf, start, stop)


def _scan_end(buf: bytes | bytearray, start: int, stop: int) -> int:
    """:func:`find_end` card by card, through every END a card starts with."""
    damaged = -1
    pos = start
    while True:
        i = _find_card(buf, b"END", pos, stop)
        if i < 0:
            return damaged
        if buf[i + 3 : i + CARD_LENGTH] == _END_SPACES and i + CARD_LENGTH <= stop:
            if damaged < 0:
                return i
            blocks_read = min(start + padded(i + CARD_LENGTH - start), stop)
            return i if buf[start:blocks_read].isascii() else damaged
        if damaged < 0 and (i + 3 >= stop or buf[i + 3] not in _KEYWORD_BYTES):
            damaged = i
        pos = i + CARD_LENGTH


def _continued(body: bytes) -> set[int]:
    """Indices of the CONTINUE cards that continue the card before them (not card 0)."""
    found: set[int] = set()
    pos = CARD_LENGTH
    while True:
        i = body.find(b"CONTINUE", pos)
        if i < 0:
            return found
        misalign = i % CARD_LENGTH
        if misalign:
            pos = i - misalign + CARD_LENGTH
            continue
        found.add(i // CARD_LENGTH)
        pos = i + CARD_LENGTH


def _normalize(key: str) -> str:
    key = key.strip().upper()
    if key.startswith("HIERARCH "):
        key = key[9:].strip()
    return key


class Header(Mapping[str, object]):
    """A FITS header: ``cards`` in order, and a mapping from keyword to value.

    Build one with :func:`parse_header`. ``raw`` holds the header bytes as given, up to and
    including the END card (no padding after it); ``ended`` tells whether an END card was found.

    As a mapping: keys are case-insensitive (``'HIERARCH '`` optional); iteration gives each
    distinct keyword once, in order, as the first card with it spells it; the value of a
    duplicated keyword is the first one (as astropy gives it; :meth:`get_all` lists them all);
    COMMENT, HISTORY and the blank keyword give the list of their texts; an undefined value is
    ``None``. ``len()`` counts distinct keywords; ``len(header.cards)`` counts cards.
    """

    __slots__ = ("_astropy", "_end", "ended", "raw", *sorted(_PARSED_SLOTS))

    raw: bytes
    ended: bool

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        buf = data if isinstance(data, (bytes, bytearray)) else bytes(data)
        end = find_end(buf)
        if end >= 0:
            self.raw = bytes(buf[: end + CARD_LENGTH])
            self.ended = True
        else:
            self.raw = bytes(buf)
            self.ended = False
        self._end = end
        self._astropy: astropy.io.fits.Header | None = None

    @classmethod
    def _cut(cls, raw: bytes) -> Header:
        """The header of ``raw``, whose last card is an exact END card that :func:`find_end`
        gave for a buffer holding ``raw`` (as a walker cuts a header): what :func:`parse_header`
        makes of it, without looking for the END card again."""
        header = cls.__new__(cls)
        header.raw = raw
        header.ended = True
        header._end = len(raw) - CARD_LENGTH
        header._astropy = None
        return header

    def __getattr__(self, name: str) -> object:
        # The cards are split and indexed on first use, not when the header is made: a walk
        # reads its structural keywords from the raw bytes, and many records are never looked
        # into. Until then the slots _parse sets are unset, and reading one lands here.
        if name not in _PARSED_SLOTS:
            raise AttributeError(name)
        self._parse()
        return object.__getattribute__(self, name)

    def _parse(self) -> None:
        body = self.raw[: self._end] if self.ended else self.raw
        if len(body) % CARD_LENGTH:
            body += b" " * (CARD_LENGTH - len(body) % CARD_LENGTH)
        self._text = text = body.decode("latin-1")
        self._printable = not body.translate(None, _PRINTABLE)
        prefixes: tuple[bytes, ...] | list[bytes] = _prefixes(body)
        bounds: range | list[int] = range(0, len(text) + 1, CARD_LENGTH)
        long: list[int] = []
        joined = _continued(body)
        if joined:
            # A long string is one card: its CONTINUE cards are not cards of their own.
            # (Copies and a few deletions: headers have many cards and few CONTINUEs.)
            prefixes, bounds = list(prefixes), list(bounds)
            for j in sorted(joined, reverse=True):
                del prefixes[j], bounds[j]
            ordered = sorted(joined)
            long = [j - 1 - n for n, j in enumerate(ordered) if j - 1 not in joined]
        self._bounds = bounds
        keywords: list[str | None] = list(map(_KEYWORDS.get, prefixes))
        if None in keywords:
            bounds = self._bounds
            for j, keyword in enumerate(keywords):
                if keyword is None:
                    keywords[j] = keyword_of(prefixes[j], text, bounds[j], bounds[j + 1])
        self._keywords: list[str] = keywords  # type: ignore[assignment]
        if long:
            # No fast reader takes an empty prefix: long strings go to their own reader.
            prefixes = list(prefixes)
            for j in long:
                prefixes[j] = b""
        self._prefixes = prefixes
        self._rows: list[Fields | None] = [None] * len(keywords)
        self._index: dict[str, int] | None = None
        self._keys: list[str] | None = None
        self._order: list[str] | None = None
        self._cards: tuple[Card, ...] | None = None

    # --- reading cards --------------------------------------------------------------------

    def _row(self, j: int) -> Fields:
        row = self._rows[j]
        if row is None:
            image = self._text[self._bounds[j] : self._bounds[j + 1]]
            if len(image) == CARD_LENGTH:
                printable = self._printable or (image.isascii() and image.isprintable())
                row = read_fields(image, self._prefixes[j], printable)
            else:
                row = read_long_card(image)[1:]
            self._rows[j] = row
        return row

    def _all_rows(self) -> list[Fields]:
        rows = self._rows
        if None in rows:
            if self._printable:
                # Inlined for speed: standard value cards to the fast value reader, COMMENT,
                # HISTORY and blank cards to their text, and the rest (None) to _row below.
                text = self._text
                rows[:] = [
                    row
                    if row is not None
                    else read_value(text[s + 10 : s + CARD_LENGTH])
                    if p in _STANDARD
                    else (text[s + 8 : s + CARD_LENGTH].rstrip(), "", None)
                    if p in _TEXT
                    else None
                    for s, p, row in zip(self._bounds, self._prefixes, rows, strict=False)
                ]
            if None in rows:
                for j, row in enumerate(rows):
                    if row is None:
                        self._row(j)
        return rows  # type: ignore[return-value]

    @property
    def cards(self) -> tuple[Card, ...]:
        """Every card in order (END excluded); a long string and its CONTINUEs are one card."""
        if self._cards is None:
            bounds = self._bounds
            images = map(self._text.__getitem__, map(slice, bounds, bounds[1:]))
            self._cards = make_cards(self._keywords, self._all_rows(), images)
        return self._cards

    @property
    def keywords(self) -> tuple[str, ...]:
        """The keyword of every card, in order (``card.keyword`` of each of ``cards``), read
        without any value: the header's layout, which one program's headers share."""
        return tuple(self._keywords)

    def card_images(self, start: int, stop: int) -> str:
        """The images of cards ``start`` to ``stop - 1``, as they are in the header and
        unread: 80 characters each, a long string's CONTINUE cards with it."""
        bounds = self._bounds
        return self._text[bounds[start] : bounds[stop]]

    # --- the mapping ----------------------------------------------------------------------

    def _upper_keys(self) -> list[str]:
        if self._keys is None:
            # HIERARCH keywords and text under a non-standard keyword keep their case.
            keywords = self._keywords
            joined = "".join(keywords)
            self._keys = keywords if joined.upper() == joined else list(map(str.upper, keywords))
        return self._keys

    def _lookup(self) -> dict[str, int]:
        if self._index is None:
            keys = self._upper_keys()
            # Built from the end, so that the first card with a keyword is the one kept.
            self._index = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
        return self._index

    def _find(self, key: str) -> int | None:
        index = self._index if self._index is not None else self._lookup()
        j = index.get(key)
        if j is None and isinstance(key, str):
            j = index.get(_normalize(key))
        return j

    def __getitem__(self, key: str) -> object:
        j = self._find(key)
        if j is None:
            raise KeyError(key)
        keyword = self._keywords[j]
        if keyword in _LIST_KEYWORDS:
            return self.get_all(keyword)
        return self._row(j)[0]

    def get(self, key: str, default: object = None) -> object:
        """``header[key]``, or ``default`` when there is no card with that keyword."""
        return default if self._find(key) is None else self[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) is not None

    def __iter__(self) -> Iterator[str]:
        if self._order is None:
            keywords = self._keywords
            self._order = [keywords[j] for j in sorted(self._lookup().values())]
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._lookup())

    def get_all(self, key: str) -> list[object]:
        """Values of every card with this keyword, in order (``[]`` when there is none)."""
        key = _normalize(key)
        return [self._row(j)[0] for j, k in enumerate(self._upper_keys()) if k == key]

    def to_dict(self) -> dict[str, object]:
        """A JSON-friendly dict: keyword (as first spelled) -> value.

        Duplicates: the first card's value, as ``header[key]`` gives it. Commentary keywords map
        to the list of their texts (blank cards with no text, i.e. padding, are left out).
        Complex values become ``[real, imag]``; undefined values ``None``. (A number too large
        for a float reads as ``inf``, as in astropy; ``json.dumps`` writes it as ``Infinity``.)
        """
        rows = self._all_rows()
        keys = self._upper_keys()
        out: dict[str, object] = {}
        texts: dict[str, list[object]] = {}
        for j in sorted(self._lookup().values()):
            keyword = self._keywords[j]
            if keyword in _LIST_KEYWORDS:
                texts[keyword] = []
                out[keyword] = texts[keyword]
                continue
            value = rows[j][0]
            out[keyword] = [value.real, value.imag] if isinstance(value, complex) else value
        if texts:
            for key, row in zip(keys, rows, strict=True):
                if key in texts and (key or row[0]):
                    texts[key].append(row[0])
            if "" in texts and not texts[""]:
                del out[""]
        return out

    def to_astropy(self) -> astropy.io.fits.Header:
        """The header as an ``astropy.io.fits.Header``, built on first call and then cached.

        The same object is returned each time: copy it before changing it.
        """
        if self._astropy is None:
            from astropy.io import fits

            self._astropy = fits.Header.fromstring(self._text)
        return self._astropy

    # --- the rest -------------------------------------------------------------------------

    def __reduce__(self) -> tuple[object, ...]:
        return parse_header, (self.raw,)

    def __repr__(self) -> str:
        n = len(self._keywords)
        first = f", {self._keywords[0]}={self._row(0)[0]!r}" if n else ""
        return f"<Header {n} card{'' if n == 1 else 's'}{first}{'' if self.ended else ', no END'}>"


def parse_header(data: bytes | bytearray | memoryview) -> Header:
    """Parse a header: 80-byte cards up to an END card (bytes after it are ignored).

    A header with no END card is parsed up to the end of ``data`` (a last partial card is
    padded with spaces). Never raises on bad cards: each is kept and flagged (``Card.problem``).
    """
    return Header(data)
