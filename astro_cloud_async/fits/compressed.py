"""Tile-compressed images: the image header that a ``ZIMAGE = T`` binary table stands for.

A tile-compressed image (``.fits.fz``) is stored as a binary table whose header carries the
image's own keywords under other names (``ZBITPIX``, ``ZNAXISn``, ``ZTENSION``...). Readers
show the image, so :func:`image_header` gives the header astropy shows for that HDU
(``CompImageHDU.header``), card for card: it replays astropy's conversion step by step on a
list of card images, with the same rules for where a card goes (a new keyword lands after the
last keyword card, before trailing COMMENT/HISTORY, and eats one trailing blank card; blank
cards go to the end). Cards taken over from the table keep their image, value and comment;
only the keyword field is renamed. Pure Python over :class:`~.header.Header`, no astropy.
"""

from __future__ import annotations

import re

from .cards import CARD_LENGTH, END_CARD, Card
from .header import Header, parse_header

__all__ = ["DEFAULT_EXTNAME", "image_header", "is_tile_compressed"]

DEFAULT_EXTNAME = "COMPRESSED_IMAGE"
"""The EXTNAME a compressed image gets when it has none of its own (and loses when shown)."""

_BLANK = " " * CARD_LENGTH
_COMMENTARY = frozenset({"", "COMMENT", "HISTORY", "END"})
_TABLE_LABELS = frozenset(
    {"TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDISP", "TBCOL", "TDIM",
     "TCTYP", "TCUNI", "TCRPX", "TCRVL", "TCDLT", "TRPOS"}
)  # fmt: skip
_TDEF = re.compile(r"(?P<label>^T[A-Z]*)(?P<num>[1-9][0-9 ]*$)")
_ZDEF = re.compile(r"(?P<label>^[Zz][a-zA-Z]*)(?P<num>[1-9][0-9 ]*$)?")
_INDEXED_Z = frozenset({"ZNAXIS", "ZTILE", "ZNAME", "ZVAL"})
_Z_KEYWORDS = frozenset(
    {"ZSIMPLE", "ZTENSION", "ZBITPIX", "ZNAXIS", "ZEXTEND", "ZBLOCKED", "ZPCOUNT", "ZGCOUNT",
     "ZHECKSUM", "ZDATASUM", "ZIMAGE", "ZCMPTYPE", "ZMASKCMP", "ZQUANTIZ", "ZDITHER0",
     "ZBLANK", "ZSCALE", "ZZERO"}
)  # fmt: skip
_STRIPPED = ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "GROUPS",
             "BSCALE", "BZERO", "TFIELDS")  # fmt: skip
_STRIPPED_COLUMNS = ("TFORM", "TSCAL", "TZERO", "TNULL", "TTYPE", "TUNIT", "TDISP", "TDIM",
                     "THEAP", "TBCOL")  # fmt: skip


def is_tile_compressed(header: Header) -> bool:
    """Whether ``header`` is a binary table holding a tile-compressed image (``ZIMAGE = T``)."""
    if header.get("ZIMAGE") is not True:
        return False  # one lookup decides for nearly every header
    cards = header.cards
    if not cards or cards[0].keyword != "XTENSION":
        return False
    xtension = cards[0].value
    return isinstance(xtension, str) and xtension.rstrip().upper() in ("BINTABLE", "A3DTABLE")


def _reserved(keyword: str) -> bool:
    if keyword in ("TFIELDS", "THEAP", "CHECKSUM", "DATASUM") or keyword in _Z_KEYWORDS:
        return True
    m = _TDEF.match(keyword)
    if m is not None and m.group("label").upper() in _TABLE_LABELS:
        return True
    m = _ZDEF.match(keyword)
    return m is not None and m.group("label").upper() in _INDEXED_Z


def _format_value(value: object) -> str:
    """A value as astropy writes it in a new card (right-justified numbers and logicals)."""
    if isinstance(value, bool):
        return f"{'T' if value else 'F':>20}"
    if isinstance(value, int):
        return f"{value:>20}"
    if isinstance(value, float):
        text = f"{value:.16G}"
        if "." not in text and "E" not in text:
            text += ".0"
        return f"{text:>20}"
    quoted = "'" + f"{str(value).replace(chr(39), chr(39) * 2):<8}" + "'"
    return f"{quoted:<20}"


def _new_card(keyword: str, value: object, comment: str = "") -> Card:
    image = f"{keyword:<8}= {_format_value(value)}"
    if comment:
        image += f" / {comment}"
    image = image[:CARD_LENGTH].ljust(CARD_LENGTH)
    return Card(keyword, value, comment, image)  # type: ignore[arg-type]


def _renamed(card: Card, keyword: str) -> Card:
    """``card`` under another keyword (same value field and comment)."""
    return Card(keyword, card.value, card.comment, f"{keyword:<8}" + card.image[8:])


class _Cards:
    """A list of cards edited the way astropy's ``Header`` edits its own."""

    def __init__(self, cards: list[Card]):
        self.cards = cards

    def index(self, keyword: str) -> int:
        for i, card in enumerate(self.cards):
            if card.keyword == keyword:
                return i
        return -1

    def get(self, keyword: str) -> object:
        i = self.index(keyword)
        return None if i < 0 else self.cards[i].value

    def __contains__(self, keyword: str) -> bool:
        return self.index(keyword) >= 0

    def remove_first(self, keyword: str) -> None:
        i = self.index(keyword)
        if i >= 0:
            del self.cards[i]

    def delete_all(self, keyword: str) -> None:
        self.cards = [card for card in self.cards if card.keyword != keyword]

    def trailing_blanks(self) -> int:
        count = 0
        for card in reversed(self.cards[1:]):
            if card.image != _BLANK:
                break
            count += 1
        return count

    def _use_blanks(self, card: Card) -> None:
        for _ in range(len(card.image) // CARD_LENGTH):
            if self.cards and self.cards[-1].image == _BLANK:
                del self.cards[-1]
            else:
                break

    def insert(self, index: int, card: Card) -> None:
        if index >= len(self.cards):
            self.cards.append(card)
            return
        self.cards.insert(index, card)
        self._use_blanks(card)

    def append(self, card: Card) -> None:
        if card.image == _BLANK:
            self.cards.append(card)
            return
        i = len(self.cards) - 1
        while i >= 0 and self.cards[i].image == _BLANK:
            i -= 1
        if card.keyword not in _COMMENTARY:
            while i >= 0 and self.cards[i].keyword in _COMMENTARY:
                i -= 1
        self.cards.insert(i + 1, card)
        self._use_blanks(card)

    def set(self, card: Card) -> None:
        """Replace the first card with this keyword, or append the card."""
        i = self.index(card.keyword)
        if i >= 0:
            self.cards[i] = card
        else:
            self.append(card)


def _without_default_extnames(cards: list[Card]) -> list[Card]:
    """astropy first drops default EXTNAMEs that another EXTNAME makes unnecessary."""
    indices = [i for i, card in enumerate(cards) if card.keyword == "EXTNAME"]
    if len(indices) < 2:
        return cards
    default = [i for i in indices if cards[i].value == DEFAULT_EXTNAME]
    if len(default) == len(indices):
        default.pop(0)
    dropped = set(default)
    return [card for i, card in enumerate(cards) if i not in dropped]


def image_header(table: Header) -> Header | None:
    """The header of the image stored in the tile-compressed table ``table``, as astropy
    shows it; ``None`` when ``table`` is not one or lacks what the image needs."""
    if not is_tile_compressed(table):
        return None
    source = _Cards(_without_default_extnames(list(table.cards)))
    zbitpix, znaxis = source.get("ZBITPIX"), source.get("ZNAXIS")
    if not isinstance(zbitpix, int) or not isinstance(znaxis, int) or not 0 <= znaxis <= 999:
        return None
    axes = [source.index(f"ZNAXIS{n}") for n in range(1, znaxis + 1)]
    if min(axes, default=0) < 0:
        return None
    image = _Cards(list(source.cards))
    bscale, bzero = image.get("BSCALE"), image.get("BZERO")

    # Header.strip(): the first card of each structural keyword goes.
    naxis, tfields = image.get("NAXIS"), image.get("TFIELDS")
    for n in range(1, (naxis if isinstance(naxis, int) else 0) + 1):
        image.remove_first(f"NAXIS{n}")
    for name in _STRIPPED_COLUMNS:
        for n in range(1, (tfields if isinstance(tfields, int) else 0) + 1):
            image.remove_first(f"{name}{n}")
    for name in _STRIPPED:
        image.remove_first(name)
    # Every card of a table or compression keyword goes.
    for keyword in {card.keyword for card in image.cards}:
        if _reserved(keyword):
            image.delete_all(keyword)
    if bscale:
        image.set(_new_card("BSCALE", bscale))
    if bzero:
        image.set(_new_card("BZERO", bzero))

    def z(keyword: str) -> Card:
        return source.cards[source.index(keyword)]

    if "ZSIMPLE" in source:
        image.insert(0, _renamed(z("ZSIMPLE"), "SIMPLE"))
    elif "ZTENSION" in source:
        image.insert(0, _new_card("XTENSION", "IMAGE", z("ZTENSION").comment))
    else:
        image.insert(0, _new_card("XTENSION", "IMAGE"))
    image.insert(1, _renamed(z("ZBITPIX"), "BITPIX"))
    image.insert(2, _renamed(z("ZNAXIS"), "NAXIS"))
    last = "NAXIS"
    for n, i in enumerate(axes, start=1):
        image.insert(image.index(last) + 1, _renamed(source.cards[i], f"NAXIS{n}"))
        last = f"NAXIS{n}"
    for card in list(image.cards):
        suffix = card.keyword[5:]
        if card.keyword.startswith("NAXIS") and suffix.isdigit() and int(suffix) > znaxis:
            image.delete_all(card.keyword)
    for keyword, default in (("PCOUNT", 0), ("GCOUNT", 1)):
        z_keyword = "Z" + keyword
        given = z_keyword in source
        made = _renamed(z(z_keyword), keyword) if given else _new_card(keyword, default)
        image.insert(image.index(last) + 1, made)
        last = keyword
    for keyword, z_keyword in (
        ("EXTEND", "ZEXTEND"),
        ("BLOCKED", "ZBLOCKED"),
        ("CHECKSUM", "ZHECKSUM"),
        ("DATASUM", "ZDATASUM"),
    ):
        if z_keyword in source:
            image.set(_renamed(z(z_keyword), keyword))
    if image.get("EXTNAME") == DEFAULT_EXTNAME:
        image.delete_all("EXTNAME")
    if "SIMPLE" in image:
        image.delete_all("PCOUNT")
        image.delete_all("GCOUNT")
    if zbitpix > 0 and "BLANK" not in image:
        if "ZBLANK" in source:
            image.set(_new_card("BLANK", source.get("ZBLANK")))
        elif any(
            source.get(f"TTYPE{n}") == "ZBLANK"
            for n in range(1, (tfields if isinstance(tfields, int) else 0) + 1)
        ):
            image.set(_new_card("BLANK", -(1 << (zbitpix - 1))))
    for _ in range(source.trailing_blanks() - image.trailing_blanks()):
        image.cards.append(Card("", "", "", _BLANK))
    text = "".join(card.image for card in image.cards) + END_CARD
    return parse_header(text.encode("latin-1"))
