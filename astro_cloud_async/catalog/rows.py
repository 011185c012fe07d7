"""HDU records to catalog rows: one row per HDU, whole objects at a time.

A row is a plain ``dict``: the fixed columns of :data:`~.columns.FIXED_COLUMNS`, one entry per
chosen keyword (``None`` where the header lacks it or leaves it undefined) and the header text.
Rows are made per *object* because ``n_hdus`` (the object's HDU count) is only known once the
object is whole, and because the writers never split an object across batches; ``n_hdus`` is
what lets a reader of an append-only file tell that the last object in it is complete.

:class:`KeywordColumns` keeps the ordered keyword column names and their promoted types across
batches (see :mod:`.columns` for the rule).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..errors import redact_url
from ..records import HDURecord, ObjectFailed
from .columns import FIXED_COLUMNS, HEADER_COLUMN, ColumnType, promote, type_of

if TYPE_CHECKING:
    from ..fits.header import Header

__all__ = [
    "ALL",
    "COMMENTARY",
    "DEFAULT_KEYWORDS",
    "KeywordColumns",
    "Keywords",
    "Outcome",
    "agroup_objects",
    "group_objects",
    "header_text",
    "keyword_values",
    "normalize_keywords",
    "object_rows",
]

ALL: Literal["all"] = "all"
Keywords = tuple[str, ...] | Literal["all"]
"""Chosen keyword columns: an ordered tuple of keywords, or every keyword seen."""

DEFAULT_KEYWORDS: tuple[str, ...] = (
    "BITPIX",
    "NAXIS",
    "NAXIS1",
    "NAXIS2",
    "OBJECT",
    "DATE-OBS",
    "EXPTIME",
)
"""Keyword columns when none are chosen."""

COMMENTARY = frozenset({"", "COMMENT", "HISTORY", "CONTINUE", "END"})
"""Keywords that carry no value and never become columns."""

_FIXED_NAMES = frozenset(name for name, _ in FIXED_COLUMNS) | {HEADER_COLUMN}
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def normalize_keywords(keywords: Iterable[str] | str | None) -> Keywords:
    """Parse a keyword choice: ``None`` for the defaults, ``"all"``, ``"none"``, a
    comma-separated string or an iterable of names. Names are upper-cased, duplicates dropped,
    and names of fixed columns (EXTNAME, XTENSION, ...) left out: those columns hold them."""
    if keywords is None:
        return DEFAULT_KEYWORDS
    if isinstance(keywords, str):
        text = keywords.strip()
        if text.lower() == ALL:
            return ALL
        if text.lower() in ("none", ""):
            return ()
        keywords = text.split(",")
    names: dict[str, None] = {}
    for name in keywords:
        name = name.strip().upper()
        if name.startswith("HIERARCH "):
            name = name[len("HIERARCH ") :].strip()
        if name and name not in COMMENTARY and name.lower() not in _FIXED_NAMES:
            names[name] = None
    return tuple(names)


def _plain(value: Any) -> Any:
    """A card value as ``None``, bool, int, float or str."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, complex):
        return f"({value.real!r}, {value.imag!r})"
    # An undefined value (a sentinel object) or anything unexpected: no value.
    return None


def keyword_values(header: Header, keywords: Keywords) -> dict[str, Any]:
    """The chosen keywords' values (the first card of each); absent keywords map to ``None``
    when named, and are left out when ``keywords`` is :data:`ALL`."""
    if keywords == ALL:
        values: dict[str, Any] = {}
        for card in header.cards:
            name = card.keyword.upper()
            if name in COMMENTARY or name in values or name.lower() in _FIXED_NAMES:
                continue
            if card.is_commentary:  # text, not a value (e.g. no "= " in columns 9-10)
                continue
            values[name] = _plain(card.value)
        return values
    return {name: _plain(header.get(name)) for name in keywords}


def header_text(header: Header) -> str:
    """The header's cards as one string, up to and including the END card.

    Bytes outside printable ASCII (never valid in a header) become ``?`` so the text is safe in
    every output format; ``astropy.io.fits.Header.fromstring`` reads it back.
    """
    return _UNPRINTABLE.sub("?", header.raw.decode("latin-1"))


def object_rows(
    records: Sequence[HDURecord],
    keywords: Keywords,
    extra: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The rows of one whole object (its records, in HDU order).

    A tile-compressed image is shown as the image it holds: its ``extname``, ``xtension`` and
    keyword values are those of the image header (``tile_compressed`` says so); the
    ``header`` column keeps the table header stored in the object. ``extra`` holds, per
    record, values of fixed columns computed elsewhere (footprints, data checksums), which
    replace the defaults: the header's CHECKSUM verdict, null footprints, and a DATASUM
    verdict of ``absent`` or null (not read).
    """
    rows = []
    for position, record in enumerate(records):
        image = record.image_header
        shown = image if image is not None else record.header
        row: dict[str, Any] = {
            "url": redact_url(record.url) or record.url,
            "hdu": record.index,
            "n_hdus": len(records),
            "extname": _text_or_none(shown.get("EXTNAME")),
            "xtension": _text_or_none(shown.get("XTENSION")),
            "header_offset": record.header_offset,
            "data_offset": record.data_offset,
            "data_size": record.data_size,
            "truncated": record.truncated,
            "object_size": record.object_size,
            "etag": record.etag,
            "tile_compressed": image is not None,
            "compression": record.compression,
            "footprint_ra": None,
            "footprint_dec": None,
            "footprint_radius": None,
            "footprint": None,
            "checksum": record.checksum,
            "datasum": None if "DATASUM" in record.header else "absent",
        }
        if extra is not None:
            row.update(extra[position])
        row.update(keyword_values(shown, keywords))
        row[HEADER_COLUMN] = header_text(record.header)
        rows.append(row)
    return rows


def _text_or_none(value: Any) -> str | None:
    value = _plain(value)
    return None if value is None else str(value)


Outcome = tuple[HDURecord, ...] | ObjectFailed
"""One whole object: all its records, or its failure."""


class _Grouper:
    """Whole objects out of a scan's items, one item at a time (shared by the two forms).

    A record that says it closes its object (``n_hdus``, set by every scan) completes the
    object at once; records without it (made by hand) complete an object when a record of
    another object, a failure or the end follows.
    """

    def __init__(self) -> None:
        self.group: list[HDURecord] = []

    def take(self, item: HDURecord | ObjectFailed) -> list[Outcome]:
        """The objects ``item`` completes (the group before it, its own, the failure)."""
        done: list[Outcome] = []
        group = self.group
        if isinstance(item, ObjectFailed) or (
            group and (item.url != group[0].url or item.index <= group[-1].index)
        ):
            if group:
                done.append(tuple(group))
            self.group = group = []
        if isinstance(item, ObjectFailed):
            done.append(item)
        else:
            group.append(item)
            if item.closes_object:
                done.append(tuple(group))
                self.group = []
        return done

    def finish(self) -> list[Outcome]:
        return [tuple(self.group)] if self.group else []


def group_objects(results: Iterable[HDURecord | ObjectFailed]) -> Iterator[Outcome]:
    """Group a scan's output into whole objects: a tuple of records, or an ``ObjectFailed``.

    A scan yields the records of one object together, the last one saying so (``n_hdus``), so
    an object is complete at its last record; records that do not say it complete an object
    when a record of another object (or a failure, or the end) follows.
    """
    grouper = _Grouper()
    for item in results:
        yield from grouper.take(item)
    yield from grouper.finish()


async def agroup_objects(
    results: AsyncIterable[HDURecord | ObjectFailed],
) -> AsyncGenerator[Outcome, None]:
    """:func:`group_objects` over an async iterable, such as ``Client.scan(...)``."""
    grouper = _Grouper()
    async for item in results:
        for outcome in grouper.take(item):
            yield outcome
    for outcome in grouper.finish():
        yield outcome


class KeywordColumns:
    """The keyword columns of a catalog, in order of first appearance, with promoted types."""

    def __init__(self, keywords: Keywords, types: Mapping[str, ColumnType] | None = None):
        self.keywords = keywords
        self.types: dict[str, ColumnType] = {}
        if keywords != ALL:
            self.types = dict.fromkeys(keywords, ColumnType.NULL)
        for name, kind in (types or {}).items():
            self.types[name] = promote(self.types.get(name, ColumnType.NULL), kind)

    @property
    def names(self) -> list[str]:
        return list(self.types)

    def observe(self, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        """Widen names and types to cover ``rows``; return the names seen for the first time."""
        new: list[str] = []
        types = self.types
        for row in rows:
            for name, value in row.items():
                if name in _FIXED_NAMES:
                    continue
                old = types.get(name)
                if old is None:
                    new.append(name)
                    types[name] = type_of(value)
                elif old is not ColumnType.STRING:
                    types[name] = promote(old, type_of(value))
        return new

    @staticmethod
    def batch_types(
        names: Sequence[str], rows: Sequence[Mapping[str, Any]]
    ) -> dict[str, ColumnType]:
        """The types of ``names`` over ``rows`` alone."""
        types = dict.fromkeys(names, ColumnType.NULL)
        for row in rows:
            for name in names:
                kind = types[name]
                if kind is not ColumnType.STRING:
                    types[name] = promote(kind, type_of(row.get(name)))
        return types
