"""FITS header cards: the :class:`Card` value and the reader that turns 80-character images into it.

Strategy. Almost every card in real headers has one shape: a standard keyword, ``= `` in
columns 9-10 and a fixed- or free-format value followed by an optional ``/ comment``. Those
are read with a handful of ``str`` methods and one ``int()``/``float()`` call, without a regular
expression (a full regex match per card costs more than everything else put together). Any card
the fast path does not fully recognise falls through to the general reader, which follows the
grammar astropy's ``Card`` uses (regexes built from named fragments, lenient "NFSC" form), so a
malformed or non-standard card is read as astropy reads it and is flagged with ``problem``
(checked against the strict form of the standard). Reading never raises.

Long strings (the CONTINUE convention) are joined structurally: each piece's string is taken
from its own card, the trailing ``&`` dropped, and the pieces concatenated; no string is rebuilt
and re-parsed. Record-valued keyword cards (a proposed convention astropy enables by default,
``DP1 = 'AXIS.1: 1'``) are read as the plain string cards the standard defines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "CARD_LENGTH",
    "COMMENTARY_KEYWORDS",
    "END_CARD",
    "Card",
    "CardValue",
    "card_value",
    "is_end_card",
    "parse_card",
]

CARD_LENGTH: Final = 80
KEYWORD_LENGTH: Final = 8
END_CARD: Final = "END" + " " * 77

CardValue = bool | int | float | complex | str | None
"""What a card's value can be (``None``: undefined value)."""

COMMENTARY_KEYWORDS: Final = frozenset({"", "COMMENT", "HISTORY"})
"""Keywords whose cards carry text, not a value; a header maps them to the list of texts."""

# Keywords astropy treats specially before looking for a value indicator.
_TEXT_KEYWORDS: Final = frozenset({"", "COMMENT", "HISTORY", "END"})
_SPECIAL_KEYWORDS: Final = _TEXT_KEYWORDS | {"CONTINUE"}

_KEYWORD_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
_KEYWORD_CHAR_SET: Final = frozenset(_KEYWORD_CHARS)

Fields = tuple[CardValue, str, str | None]
"""(value, comment, problem) of one card."""
Row = tuple[str, CardValue, str, str | None]
"""(keyword, value, comment, problem): a card before it is wrapped in a :class:`Card`."""


@dataclass(frozen=True, slots=True)
class Card:
    """One logical header card.

    ``keyword`` is upper case as astropy gives it (HIERARCH cards: the name after ``HIERARCH``,
    e.g. ``'ESO DET CHIP NAME'``; ``''`` for a blank keyword). ``value`` is the parsed value, or
    for commentary cards (COMMENT, HISTORY, blank keyword, any card without ``= `` in columns
    9-10) the text. ``image`` is the raw text: for a long string, all its 80-character images.
    ``problem`` is ``None`` for a standard card, else a short description of what is wrong; the
    value is then the best reading (astropy's where it has one).
    """

    keyword: str
    value: CardValue
    comment: str
    image: str
    problem: str | None = None

    @property
    def is_commentary(self) -> bool:
        """True for a card that carries text rather than a value."""
        return _is_text_card(self.image)


@dataclass(slots=True)
class _CardBuilder:
    """Same fields and slot layout as :class:`Card`, but mutable.

    A frozen dataclass ``__init__`` goes through ``object.__setattr__`` once per field, which
    costs four times more than plain slot stores; headers build thousands of cards, so they are
    built here and then re-classed to :class:`Card` (``__class__`` assignment checks that the
    layouts match and raises ``TypeError`` if they ever diverge).
    """

    keyword: str
    value: CardValue
    comment: str
    image: str
    problem: str | None = None


def make_card(
    keyword: str, value: CardValue, comment: str, image: str, problem: str | None
) -> Card:
    """Build a :class:`Card` quickly (see :class:`_CardBuilder`)."""
    card = _CardBuilder(keyword, value, comment, image, problem)
    card.__class__ = Card  # type: ignore[assignment]
    return card  # type: ignore[return-value]


def make_cards(
    keywords: Iterable[str], fields: Iterable[Fields], images: Iterable[str]
) -> tuple[Card, ...]:
    """Build many cards quickly (see :class:`_CardBuilder`)."""
    built = [
        _CardBuilder(keyword, f[0], f[1], image, f[2])
        for keyword, f, image in zip(keywords, fields, images, strict=True)
    ]
    for card in built:
        card.__class__ = Card  # type: ignore[assignment]
    return tuple(built)  # type: ignore[arg-type]


def parse_card(image: str | bytes) -> Card:
    """Read one card from its image (one 80-character card, or a long string with its CONTINUEs).

    Bytes are decoded as latin-1; a short image is padded with spaces to 80 characters, and an
    image longer than 80 characters is read as a card followed by CONTINUE cards. Never raises.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        image = bytes(image).decode("latin-1")
    rem = len(image) % CARD_LENGTH
    if rem or not image:
        image += " " * (CARD_LENGTH - rem)
    if len(image) == CARD_LENGTH:
        row = read_card(image, _printable(image))
    else:
        row = read_long_card(image)
    return make_card(row[0], row[1], row[2], image, row[3])


def is_end_card(image: str) -> bool:
    """True if ``image`` (one card) is an END card, exact or damaged.

    astropy's lenient reader takes ``END`` followed by anything but a keyword character as an
    END card (its pattern, ``END {0,76}[^A-Z0-9_-]``, is met by the first space), so
    ``END / x`` and ``END     X`` are damaged END cards and ``ENDX`` is not. Which damaged END
    cards end a header is decided by ``header.find_end``, as astropy's readers decide it.
    """
    return image[:3] == "END" and image[3:4] not in _KEYWORD_CHAR_SET


# --- the fast path ------------------------------------------------------------------------
# A card's keyword, and which reader suits it, depend only on its first ten bytes (keyword field
# and value indicator), HIERARCH cards aside. Headers repeat the same few hundred prefixes
# endlessly, so both are kept per prefix: a header's keywords then cost one dict lookup per card.
# The tables only ever hold facts derived from the prefix itself, so clearing them (when they
# grow past a bound) changes speed, never results.

_KEYWORDS: dict[bytes, str] = {}
"""10-byte card prefix -> keyword (HIERARCH prefixes are never stored)."""
_STANDARD: set[bytes] = set()
"""Prefixes of standard value cards: a legal keyword, left-justified, then '= '."""
_TEXT: set[bytes] = set()
"""Prefixes of COMMENT, HISTORY and blank-keyword cards."""
_TEXT_FIELDS: Final = frozenset({b"COMMENT ", b"HISTORY ", b"        "})
_KEYWORD_BYTES: Final = _KEYWORD_CHARS.encode("ascii")
_CACHE_LIMIT: Final = 1 << 16


def keyword_of(prefix: bytes, text: str, start: int, end: int) -> str:
    """The keyword of the card ``text[start:end]`` (``prefix``: its first 10 bytes).

    As astropy's ``Card`` reads it. For a long string, ``end`` is the end of its last CONTINUE
    card. Only HIERARCH cards need more than the prefix.
    """
    keyword = _KEYWORDS.get(prefix)
    if keyword is not None:
        return keyword
    if len(_KEYWORDS) >= _CACHE_LIMIT:
        _KEYWORDS.clear()
        _STANDARD.clear()
        _TEXT.clear()
    field = prefix[:KEYWORD_LENGTH]
    if prefix[8:10] == b"= ":
        name = field.rstrip(b" ")
        # Only legal characters (a leading space is not one) and not a special keyword.
        if name and not name.translate(None, _KEYWORD_BYTES):
            keyword = name.decode("ascii")
            if keyword not in _SPECIAL_KEYWORDS:
                _STANDARD.add(prefix)
                _KEYWORDS[prefix] = keyword
                return keyword
    if field in _TEXT_FIELDS:
        _TEXT.add(prefix)
        _KEYWORDS[prefix] = keyword = field.decode("ascii").strip()
        return keyword
    # Everything else, as astropy's Card._parse_keyword does it.
    head = prefix.decode("latin-1")
    upper = head[:KEYWORD_LENGTH].strip().upper()
    hierarch = upper == "HIERARCH" and head[8:9] == " "
    if hierarch:
        image = text[start:end]
        if "=" in image:
            return image.split("=", 1)[0][9:].strip()
    if upper in _SPECIAL_KEYWORDS:
        keyword = upper
    else:
        eq = head.find("= ")  # the first one: 'AB= = 5' is keyword AB
        if eq < 0:
            keyword = head[:KEYWORD_LENGTH].strip()  # commentary text: astropy keeps the case
        else:
            keyword = upper[:eq] if eq < KEYWORD_LENGTH else upper
    if not hierarch:  # a HIERARCH card's keyword depends on the whole card: never stored
        _KEYWORDS[prefix] = keyword
    return keyword


def read_value(vc: str) -> Fields | None:
    """Value and comment of the value field (columns 11-80) of a standard, printable card.

    Handles the common forms only and returns None for anything else (the general reader then
    takes the card). ``int()`` and ``float()`` are only called on text that they accept exactly
    when the standard does, so no exception is raised on the common path.
    """
    if "'" not in vc:
        slash = vc.find("/")
        if slash < 0:
            text = vc.strip()
            comment = ""
        else:
            text = vc[:slash].strip()
            comment = vc[slash + 1 :].strip()
    else:
        v = vc.lstrip(" ")
        if v[:1] == "'":
            j = v.find("'", 1)
            while j > 0 and v.startswith("'", j + 1):  # '' is an escaped quote
                j = v.find("'", j + 2)
            if j < 0:
                return None
            rest = v[j + 1 :].lstrip(" ")
            if rest and rest[0] != "/":
                return None
            string = v[1:j]
            if "''" in string:
                string = string.replace("''", "'")
            return string.rstrip(), rest[1:].strip(), None
        slash = vc.find("/")  # a quote in the comment only
        if slash < 0:
            return None
        text = vc[:slash].strip()
        comment = vc[slash + 1 :].strip()
    if text.isdigit():
        return int(text), comment, None
    if text == "T":
        return True, comment, None
    if text == "F":
        return False, comment, None
    if not text:
        return None, comment, None
    # int() and float() also take '_', and float() 'inf'/'nan' (no '.' or 'E' in those) and a
    # lower-case exponent (non-standard: flagged by the general reader).
    if "_" in text or "e" in text:
        return None
    if "." in text or "E" in text:
        try:
            return float(text), comment, None
        except ValueError:  # e.g. a 'D' exponent or embedded spaces
            return None
    try:
        return int(text), comment, None
    except ValueError:
        return None


def read_fields(image: str, prefix: bytes, printable: bool) -> Fields:
    """Value, comment and problem of one 80-character card (``prefix``: its first 10 bytes).

    ``printable``: the caller checked that the card is printable ASCII.
    """
    if printable:
        if prefix in _STANDARD:
            fields = read_value(image[10:])
            if fields is not None:
                return fields
        elif prefix in _TEXT:
            return image[KEYWORD_LENGTH:].rstrip(), "", None
    row = _read_general(image)
    return row[1], row[2], row[3]


def read_card(image: str, printable: bool) -> Row:
    """Read one 80-character card; ``printable``: the caller checked it is printable ASCII."""
    prefix = image[:10].encode("latin-1", "replace")  # a str card may hold any character
    keyword = keyword_of(prefix, image, 0, len(image))
    if printable and (prefix in _STANDARD or prefix in _TEXT):
        value, comment, problem = read_fields(image, prefix, printable)
        return keyword, value, comment, problem
    return _read_general(image)


# --- the general reader -------------------------------------------------------------------
# The grammar astropy's Card uses, lenient (NFSC) and strict (FSC) forms.

_DIGITS_STRICT = r"(?:\.\d+|\d+(?:\.\d*)?)(?:[DE][+-]?\d+)?"
_DIGITS_LENIENT = r"(?:\.\d+|\d+(?:\.\d*)?) *(?:[deDE] *[+-]? *\d+)?"
_NUMBER_STRICT = r"[+-]?" + _DIGITS_STRICT
_NUMBER_LENIENT = r"[+-]? *" + _DIGITS_LENIENT
# A quoted string: non-greedy, closed by a quote followed by the end, a slash or a space.
_STRING = r"'(?P<strg>(?:[ -~]+?|''|) *?)'(?=$|/| )"
_COMMENT_LENIENT = r"(?P<comm_field>/ *(?P<comm>(?:.|\n)*))"
_COMMENT_STRICT = r"(?P<comm_field>/ *(?P<comm>[!-~][ -~]*)?)"


def _value_regex(number: str, comment: str) -> re.Pattern[str]:
    return re.compile(
        r" *(?P<value>"
        + _STRING
        + r"|(?P<bool>[FT])"
        + rf"|(?P<numr>{number})"
        + rf"|(?P<cplx>\( *(?P<real>{number}) *, *(?P<imag>{number}) *\))"
        + rf")? *{comment}?$"
    )


_VALUE_LENIENT = _value_regex(_NUMBER_LENIENT, _COMMENT_LENIENT)
_VALUE_STRICT = _value_regex(_NUMBER_STRICT, _COMMENT_STRICT)
_STRING_COMMENT = re.compile(rf"(?:{_STRING})? *{_COMMENT_LENIENT}?$")
_NUMBER_PARTS = re.compile(rf"(?P<sign>[+-])? *(?P<digits>{_DIGITS_LENIENT})")
_KEYWORD_STRICT = re.compile(r"[A-Z0-9_-]{1,8} *")
_TO_PYTHON_NUMBER = str.maketrans({"d": "e", "D": "e", " ": None})
_UNPRINTABLE = re.compile(r"[^ -~]")
_UNESCAPED_QUOTE = "unescaped quote in string"
_NON_ASCII = "non-printable or non-ASCII characters"


def _number(text: str) -> int | float:
    """A number in the lenient form: spaces dropped, D exponent read as E."""
    m = _NUMBER_PARTS.match(text)
    digits = m["digits"] if m else text
    sign = (m["sign"] or "") if m else ""
    digits = sign + digits.translate(_TO_PYTHON_NUMBER)
    try:
        return int(digits)
    except ValueError:
        return float(digits)


def _printable(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _keyword_problem(field: str, keyword: str) -> str | None:
    """What is wrong with the keyword field (columns 1-8) of a value card, if anything."""
    if _KEYWORD_STRICT.fullmatch(field):
        return None
    if field.upper() != field and _KEYWORD_STRICT.fullmatch(field.upper()):
        return f"lower-case keyword {field.rstrip()!r}"
    if keyword and field[:1] == " ":
        return f"keyword {keyword!r} not left-justified"
    return f"illegal keyword {field.rstrip()!r}"


def _read_value(vc: str) -> Fields:
    """Value, comment and problem of a value field (the text after the value indicator)."""
    if _printable(vc):
        fields = read_value(vc)  # the same reading as the fast path, whatever the keyword
        if fields is not None:
            return fields
        m = _VALUE_LENIENT.match(vc)
    else:
        # Match with every unprintable character masked; read the text itself at the spans.
        m = _VALUE_LENIENT.match(_UNPRINTABLE.sub("?", vc))
    if m is None:
        # astropy cannot read it either; its repair reads the text up to the first slash.
        if "/" in vc:
            text, note = vc.split("/", 1)
            return text.strip(), note.strip(), f"unparsable value {vc.strip()!r}"
        return vc, "", f"unparsable value {vc.strip()!r}"

    def group(name: str) -> str | None:
        start, end = m.span(name)
        return None if start < 0 else vc[start:end]

    value: CardValue
    problem = None
    numr = group("numr")
    if m["bool"] is not None:
        value = m["bool"] == "T"
    elif (raw := group("strg")) is not None:
        value = raw.replace("''", "'").rstrip()
        if "'" in raw.replace("''", ""):
            problem = _UNESCAPED_QUOTE
    elif numr is not None:
        value = _number(numr)
    elif m["cplx"] is not None:
        value = _number(m["real"]) + _number(m["imag"]) * 1j
    else:
        value = None
    comment = (group("comm") or "").rstrip()
    if problem is None and not _VALUE_STRICT.match(vc):
        if numr is not None and re.search("[de]", numr):
            problem = f"lower-case exponent in {numr.strip()!r}"
        elif not _printable(vc):
            problem = _NON_ASCII
        else:
            problem = f"non-standard value {vc.strip()!r}"
    return value, comment, problem


def _join(*problems: str | None) -> str | None:
    found = dict.fromkeys(p for p in problems if p)
    return "; ".join(found) if found else None


def _read_general(image: str) -> Row:
    """Read any single card as astropy does, flagging whatever is not standard."""
    field = image[:KEYWORD_LENGTH]
    keyword = field.strip()
    upper = keyword.upper()
    charset = None if _printable(image) else _NON_ASCII

    if upper in _TEXT_KEYWORDS:
        problem = None
        if keyword != upper:
            problem = f"lower-case keyword {keyword!r}"
        elif keyword and field[0] == " ":
            problem = f"keyword {keyword!r} not left-justified"
        elif upper == "END":
            problem = "END card with text after it"
        return upper, image[KEYWORD_LENGTH:].rstrip(), "", _join(problem, charset)

    if upper == "CONTINUE":
        # A CONTINUE card with no string before it to continue.
        parts = image.split(" ", 1)
        value, comment, problem = _read_value(parts[1].strip() if len(parts) > 1 else "")
        return (
            "CONTINUE",
            value,
            comment,
            _join("CONTINUE card without a string to continue", problem, charset),
        )

    if upper == "HIERARCH" and image[8] == " " and "=" in image:
        name = image.split("=", 1)[0][9:].strip()
        if image.index("=") > 10 and image[:9] != "HIERARCH ":
            # astropy reads the value field of a lower-case 'hierarch' card from column 9.
            vc = image[KEYWORD_LENGTH:].strip()
            case = f"lower-case keyword {field!r}"
        else:
            vc = image.split("=", 1)[1].strip()
            case = None
        value, comment, problem = _read_value(vc)
        return name, value, comment, _join(case, problem, charset)

    eq = image.find("= ")
    if 0 <= eq <= KEYWORD_LENGTH:
        if eq < KEYWORD_LENGTH:
            upper = upper[:eq]
            where = "value indicator not in columns 9-10"
            kw_problem = None
        else:
            where = None
            kw_problem = _keyword_problem(field, keyword)
        value, comment, problem = _read_value(image[eq + 2 :].strip())
        return upper, value, comment, _join(kw_problem, where, problem, charset)

    # No value indicator: commentary text under an ordinary keyword (case kept, as astropy does).
    kw_problem = None
    if keyword and not _KEYWORD_STRICT.fullmatch(field):
        kw_problem = _keyword_problem(field, keyword)
    return keyword, image[KEYWORD_LENGTH:].rstrip(), "", _join(kw_problem, charset)


def _is_text_card(image: str) -> bool:
    """True if the first card of ``image`` carries text (no value), by astropy's rules."""
    upper = image[:KEYWORD_LENGTH].strip().upper()
    if upper in _TEXT_KEYWORDS:
        return True
    if upper == "CONTINUE":
        return False
    if upper == "HIERARCH" and image[8:9] == " " and "=" in image:
        return False
    return not 0 <= image.find("= ") <= KEYWORD_LENGTH


# --- long strings -------------------------------------------------------------------------


def _string_piece(vc: str) -> tuple[str, str] | None:
    """Raw string (quotes still doubled) and comment of one long-string piece, or None."""
    if vc[:1] == "'":
        j = vc.find("'", 1)
        while j > 0 and vc.startswith("'", j + 1):
            j = vc.find("'", j + 2)
        if j > 0:
            rest = vc[j + 1 :].lstrip(" ")
            if not rest or rest[0] == "/":
                return vc[1:j], rest[1:].lstrip(" ").rstrip()
    # Not a well-formed string: take it as astropy's piece regex does (it also accepts a
    # doubled quote split across two cards, which astropy's writer can produce).
    m = _STRING_COMMENT.match(vc)
    if m is None:
        return None
    return m["strg"] or "", (m["comm"] or "").rstrip()


def card_value(image: str) -> CardValue:
    """The value of the card ``image`` (80 characters, or a long string and its CONTINUE
    cards) as a :class:`~.header.Header` reads it, without making a :class:`Card`."""
    if len(image) != CARD_LENGTH:
        return read_long_card(image)[1]
    printable = _printable(image)
    if printable and image[:10].encode("latin-1") in _STANDARD:
        fields = read_value(image[10:])  # what read_card does, in fewer steps
        if fields is not None:
            return fields[0]
    return read_card(image, printable)[1]


def read_long_card(image: str) -> Row:
    """Read a card followed by CONTINUE cards (``image`` holds all of them, 80 characters each)."""
    first = image[:CARD_LENGTH]
    _, value, comment, first_problem = read_card(first, _printable(first))
    # The keyword as astropy reads it from the whole image (a HIERARCH card may have its '='
    # in a CONTINUE card only).
    keyword = keyword_of(first[:10].encode("latin-1"), image, 0, len(image))
    if _is_text_card(image):
        return (
            keyword,
            image[KEYWORD_LENGTH:].rstrip(),
            "",
            _join(first_problem, "CONTINUE card after a card without a value"),
        )
    if not isinstance(value, str):
        return (
            keyword,
            value,
            comment,
            _join(first_problem, "CONTINUE card after a non-string value"),
        )

    # Problems of the first card, less the one a doubled quote split across two cards causes
    # (the join below repairs it, and checks the joined string itself).
    problems: list[str | None] = [
        p for p in (first_problem or "").split("; ") if p and p != _UNESCAPED_QUOTE
    ]
    pieces: list[str] = []
    comments: list[str] = []
    count = len(image) // CARD_LENGTH
    for n in range(count):
        card = image[n * CARD_LENGTH : (n + 1) * CARD_LENGTH]
        if n == 0:
            # Where astropy's Card._split puts the value of the first card.
            if keyword == "CONTINUE":
                vc = card.split(" ", 1)[1].strip() if " " in card else ""
            elif card[:9].upper() == "HIERARCH " and "=" in card:
                vc = card.split("=", 1)[1].strip()
            else:
                vc = card[card.find("= ") + 2 :].strip()
        else:
            if card[:KEYWORD_LENGTH] != "CONTINUE":
                problems.append(f"card {card[:KEYWORD_LENGTH]!r} inside a long string")
            elif card[8:10] != "  ":
                problems.append("CONTINUE card with text in columns 9-10")
            if not _printable(card):
                problems.append(_NON_ASCII)
            # astropy takes what follows the card's first space.
            parts = card.split(" ", 1)
            vc = parts[1].strip() if len(parts) > 1 else ""
            if vc[:1] != "'":
                problems.append("CONTINUE card without a string")
        piece = _string_piece(vc)
        if piece is None:
            problems.append(f"unparsable CONTINUE card {card.rstrip()!r}")
            continue
        text, note = piece
        text = text.rstrip()
        if text.endswith("&"):
            text = text[:-1]
        elif n < count - 1:
            problems.append("CONTINUE after a string not ending in '&'")
        pieces.append(text)
        if note:
            comments.append(note)
    joined = "".join(pieces)
    if "'" in joined.replace("''", ""):
        problems.append(_UNESCAPED_QUOTE)
    return keyword, joined.replace("''", "'").rstrip(), " ".join(comments), _join(*problems)
