"""The columns of a catalog and the rule that types keyword columns.

Strategy: the fixed columns (where each HDU lies) have fixed types. Keyword columns cannot be
typed in advance, since a survey is read as it streams and ``--keywords all`` does not even
know their names. So each column's type is *inferred* from the values seen and *promoted* by
one rule that is associative and commutative, so it gives the same answer whether it is
applied per value, per batch or over the whole catalog, and in any order:

    null < bool, int64, float64, string;   int64 + float64 -> float64;
    any other mix -> string.

A column that only ever held undefined values stays ``null`` until something joins it and is
written as ``string`` once the catalog is final. A value becomes text in a string column
through :func:`value_to_text`, the single place where that conversion is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

__all__ = [
    "CHECKSUM_COLUMNS",
    "FIXED_COLUMNS",
    "FOOTPRINT_COLUMNS",
    "HEADER_COLUMN",
    "INT64_MAX",
    "INT64_MIN",
    "ColumnType",
    "coerce",
    "infer_type",
    "promote",
    "type_of",
    "value_to_text",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class ColumnType(str, Enum):
    """The type of a catalog column."""

    NULL = "null"
    BOOL = "bool"
    INT64 = "int64"
    FLOAT64 = "float64"
    STRING = "string"


FIXED_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("url", ColumnType.STRING),
    ("hdu", ColumnType.INT64),
    ("n_hdus", ColumnType.INT64),
    ("extname", ColumnType.STRING),
    ("xtension", ColumnType.STRING),
    ("header_offset", ColumnType.INT64),
    ("data_offset", ColumnType.INT64),
    ("data_size", ColumnType.INT64),
    ("truncated", ColumnType.BOOL),
    ("object_size", ColumnType.INT64),
    ("etag", ColumnType.STRING),
    ("tile_compressed", ColumnType.BOOL),
    ("compression", ColumnType.STRING),
)
"""The columns every catalog starts with, in order; keyword columns follow, then ``header``.

For a tile-compressed image (``tile_compressed``), ``extname``, ``xtension`` and the keyword
columns hold the image's values (as astropy shows the HDU), ``header`` the stored table's.
``compression`` is ``gzip`` or ``bzip2`` for an object compressed whole (``.fits.gz``,
``.fits.bz2``), null otherwise: its offsets are in the decompressed stream, its
``object_size`` is the stored (compressed) size."""

FOOTPRINT_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("footprint_ra", ColumnType.FLOAT64),
    ("footprint_dec", ColumnType.FLOAT64),
    ("footprint_radius", ColumnType.FLOAT64),
    ("footprint", ColumnType.STRING),
)
"""Where an image lies on the sky (degrees): its centre, a radius around the centre holding
the whole image, and its four corners as JSON ``[[ra, dec], ...]`` in pixel order; null where
the HDU has no celestial WCS or footprints were not computed (see
:mod:`astro_cloud_async.sky.footprints`)."""

CHECKSUM_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("checksum", ColumnType.STRING),
    ("datasum", ColumnType.STRING),
)
"""The CHECKSUM and DATASUM verdicts, ``ok``, ``bad`` or ``absent``; ``datasum`` is null until
the data are read (see :mod:`astro_cloud_async.fits.checksum`)."""

FIXED_COLUMNS = FIXED_COLUMNS + FOOTPRINT_COLUMNS + CHECKSUM_COLUMNS

HEADER_COLUMN = "header"
"""The last column: the header's cards as text, up to and including END."""


def type_of(value: Any) -> ColumnType:
    """The narrowest column type that holds ``value``."""
    if value is None:
        return ColumnType.NULL
    if isinstance(value, bool):
        return ColumnType.BOOL
    if isinstance(value, int):
        return ColumnType.INT64 if INT64_MIN <= value <= INT64_MAX else ColumnType.STRING
    if isinstance(value, float):
        return ColumnType.FLOAT64
    return ColumnType.STRING


def promote(a: ColumnType, b: ColumnType) -> ColumnType:
    """The type of a column holding values of types ``a`` and ``b``."""
    if a is b:
        return a
    if a is ColumnType.NULL:
        return b
    if b is ColumnType.NULL:
        return a
    if {a, b} == {ColumnType.INT64, ColumnType.FLOAT64}:
        return ColumnType.FLOAT64
    return ColumnType.STRING


def infer_type(values: Iterable[Any], start: ColumnType = ColumnType.NULL) -> ColumnType:
    """Promote ``start`` over the types of ``values``."""
    result = start
    for value in values:
        result = promote(result, type_of(value))
        if result is ColumnType.STRING:
            break
    return result


def value_to_text(value: Any) -> str:
    """A value as text: Python's spelling of bools and numbers, strings unchanged."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    return str(value)


def coerce(value: Any, kind: ColumnType) -> Any:
    """``value`` converted for a column of type ``kind`` (which it must fit after promotion)."""
    if value is None:
        return None
    if kind is ColumnType.STRING:
        return value_to_text(value)
    if kind is ColumnType.FLOAT64 and not isinstance(value, bool) and isinstance(value, int):
        return float(value)
    return value
