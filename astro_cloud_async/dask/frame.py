"""A scan as a ``dask.dataframe.DataFrame``: one partition per group of objects.

Strategy: the DataFrame is built with ``dask.dataframe.from_map`` over the partitions of
:mod:`.partitions`, with its ``meta`` declared, never inferred (inferring would scan a
partition on the client). The columns are the catalog's (:mod:`astro_cloud_async.catalog`):
the fixed columns, one column per chosen keyword, ``header``, then three failure columns,
``error``, ``error_message`` and ``error_offset``, that are null on catalog rows and set on the
one row each failed object gets (its ``url`` set, every catalog column null). So nothing is
lost: a failure is a row, not a failed task.

Keyword columns need a type before anything is read. It comes from ``keyword_types``, else
from :data:`STANDARD_KEYWORD_TYPES` (the types the FITS standard gives reserved keywords, and
common conventions such as EXPTIME), else ``string``. A value is converted to its column's type
where no information is lost (an integer into a float column, anything into a string column,
as text); a value that does not fit (a string in an integer column) becomes null.

All columns use pyarrow-backed pandas types (``int64[pyarrow]`` ...), which hold nulls and
write to Parquet as the catalog's own types.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..catalog.columns import FIXED_COLUMNS, HEADER_COLUMN, INT64_MAX, INT64_MIN, ColumnType
from ..catalog.columns import value_to_text as _text
from ..catalog.rows import ALL, Keywords, normalize_keywords
from ..errors import ConfigurationError
from ..options import Options
from ..scanner.sources import Sources
from .partitions import (
    Partition,
    list_partitions,
    options_for_workers,
    scan_partition,
)

if TYPE_CHECKING:
    import dask.dataframe

DataFrame = Any
"""A ``pandas.DataFrame`` (pandas ships no type information)."""

__all__ = [
    "ERROR_COLUMNS",
    "STANDARD_KEYWORD_TYPES",
    "catalog_meta",
    "keyword_type",
    "partition_frame",
    "scan_dataframe",
]

ERROR_COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("error", ColumnType.STRING),
    ("error_message", ColumnType.STRING),
    ("error_offset", ColumnType.INT64),
)
"""The failure columns after the catalog's: the error's class name, message and byte offset."""

_I, _F, _B, _S = ColumnType.INT64, ColumnType.FLOAT64, ColumnType.BOOL, ColumnType.STRING

STANDARD_KEYWORD_TYPES: Mapping[str, ColumnType] = {
    **dict.fromkeys(("BITPIX", "NAXIS", "PCOUNT", "GCOUNT", "BLANK", "EXTVER", "EXTLEVEL",
                     "TFIELDS", "THEAP", "WCSAXES", "ZBITPIX", "ZNAXIS"), _I),
    **dict.fromkeys(("SIMPLE", "EXTEND", "GROUPS", "INHERIT", "ZIMAGE"), _B),
    **dict.fromkeys(("BSCALE", "BZERO", "DATAMAX", "DATAMIN", "EQUINOX", "EPOCH", "EXPTIME",
                     "EXPOSURE", "MJD-OBS", "MJD-END", "MJD-AVG", "MJDREF", "TSTART", "TSTOP",
                     "AIRMASS", "GAIN", "RDNOISE", "SATURATE", "LONPOLE", "LATPOLE",
                     "RESTFRQ", "RESTWAV"), _F),
    **dict.fromkeys(("XTENSION", "EXTNAME", "OBJECT", "DATE", "DATE-OBS", "DATE-END",
                     "TELESCOP", "INSTRUME", "OBSERVER", "ORIGIN", "AUTHOR", "REFERENC",
                     "BUNIT", "RADESYS", "RADECSYS", "TIMESYS", "FILTER"), _S),
}  # fmt: skip
"""Keyword column types used when none is given: the FITS standard's, and common ones."""

_INDEXED = (
    (re.compile(r"NAXIS\d{1,3}|ZNAXIS\d{1,3}|ZTILE\d{1,3}|TBCOL\d{1,3}"), _I),
    (re.compile(r"(CRPIX|CRVAL|CDELT|CROTA)\d{1,3}[A-Z]?|(PC|CD)\d{1,3}_\d{1,3}[A-Z]?"), _F),
    (re.compile(r"(CTYPE|CUNIT|CNAME|TTYPE|TFORM|TUNIT|TDIM)\d{1,3}[A-Z]?"), _S),
)


def keyword_type(name: str, given: Mapping[str, ColumnType | str] | None = None) -> ColumnType:
    """The declared type of keyword column ``name``."""
    if given and name in given:
        kind = ColumnType(given[name])
        return ColumnType.STRING if kind is ColumnType.NULL else kind
    standard = STANDARD_KEYWORD_TYPES.get(name)
    if standard is not None:
        return standard
    for pattern, kind in _INDEXED:
        if pattern.fullmatch(name):
            return kind
    return ColumnType.STRING


def _arrow_type(kind: ColumnType) -> Any:
    import pyarrow as pa

    return {
        ColumnType.BOOL: pa.bool_(),
        ColumnType.INT64: pa.int64(),
        ColumnType.FLOAT64: pa.float64(),
        ColumnType.STRING: pa.string(),
    }[kind]


def _fit(value: Any, kind: ColumnType) -> Any:
    """``value`` in a column of type ``kind``, or ``None`` where it does not fit."""
    if value is None:
        return None
    if kind is ColumnType.STRING:
        return _text(value)
    if isinstance(value, bool):
        return value if kind is ColumnType.BOOL else None
    if kind is ColumnType.INT64:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return value if isinstance(value, int) and INT64_MIN <= value <= INT64_MAX else None
    if kind is ColumnType.FLOAT64 and isinstance(value, (int, float)):
        return float(value)
    return None


def _columns(
    keywords: tuple[str, ...], keyword_types: Mapping[str, ColumnType | str] | None
) -> list[tuple[str, ColumnType]]:
    return [
        *FIXED_COLUMNS,
        *((name, keyword_type(name, keyword_types)) for name in keywords),
        (HEADER_COLUMN, ColumnType.STRING),
        *ERROR_COLUMNS,
    ]


def _frame(rows: list[dict[str, Any]], columns: list[tuple[str, ColumnType]]) -> DataFrame:
    import pyarrow as pa

    pd: Any = importlib.import_module("pandas")
    arrays = [
        pa.array([_fit(row.get(name), kind) for row in rows], type=_arrow_type(kind))
        for name, kind in columns
    ]
    table = pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _fixed_keywords(keywords: Keywords) -> tuple[str, ...]:
    if keywords == ALL:
        raise ConfigurationError(
            "keywords='all' cannot be declared before the scan: name the keywords "
            "(the full header is in the 'header' column), or use index_on_dask"
        )
    return tuple(keywords)


def catalog_meta(
    keywords: Iterable[str] | str | None = None,
    keyword_types: Mapping[str, ColumnType | str] | None = None,
) -> DataFrame:
    """The empty DataFrame that describes :func:`scan_dataframe`'s columns and types."""
    names = _fixed_keywords(normalize_keywords(keywords))
    return _frame([], _columns(names, keyword_types))


def partition_frame(
    partition: Partition,
    *,
    keywords: tuple[str, ...],
    keyword_types: Mapping[str, ColumnType | str] | None,
    options: Options,
) -> DataFrame:
    """One partition's rows (runs inside a worker): catalog rows, then one row per failure."""
    scanned = scan_partition(partition, keywords, options)
    rows = list(scanned.rows)
    for failure in scanned.failures:
        rows.append(
            {
                "url": failure.url,
                "error": failure.error,
                "error_message": failure.message,
                "error_offset": failure.offset,
            }
        )
    return _frame(rows, _columns(keywords, keyword_types))


def scan_dataframe(
    sources: Sources,
    *,
    keywords: Iterable[str] | str | None = None,
    keyword_types: Mapping[str, ColumnType | str] | None = None,
    objects_per_partition: int = 1000,
    options: Options | None = None,
    **option_kwargs: Any,
) -> dask.dataframe.DataFrame:
    """The catalog of ``sources`` as a lazy Dask DataFrame, one partition per
    ``objects_per_partition`` objects.

    Sources are expanded here, on the client (prefixes and folders listed); each partition is
    scanned inside a worker when the DataFrame is computed. Options are those of
    :class:`~astro_cloud_async.Options` (the command line's); HTTP headers and auth cannot be
    sent to workers (see :mod:`.partitions`). ``keywords="all"`` is refused: columns must be
    known in advance. Failed objects are rows with ``error`` set::

        ddf = scan_dataframe(["s3://bucket/prefix/"], keywords=["EXPTIME", "FILTER"])
        catalog = ddf[ddf["error"].isna()].drop(columns=["error", "error_message",
                                                         "error_offset"])
        catalog.to_parquet("catalog/", write_index=False)
    """
    dd: Any = importlib.import_module("dask.dataframe")
    settings = options_for_workers(Options.from_kwargs(options, **option_kwargs))
    names = _fixed_keywords(normalize_keywords(keywords))
    meta = _frame([], _columns(names, keyword_types))
    listed = list_partitions(sources, settings, objects_per_partition=objects_per_partition)
    frame: dask.dataframe.DataFrame = dd.from_map(
        partition_frame,
        list(listed.partitions),
        meta=meta,
        label="scan-fits-headers",
        keywords=names,
        keyword_types=dict(keyword_types) if keyword_types else None,
        options=settings,
        enforce_metadata=False,
    )
    return frame
