"""Catalogs of HDU records: one row per HDU, in Parquet, JSON Lines or CSV, and as tables.

::

    from astro_cloud_async import Client, ObjectFailed
    from astro_cloud_async.catalog import agroup_objects, open_catalog

    async with Client(anon=True) as client:
        with open_catalog("survey.parquet", keywords=["NAXIS1", "DATE-OBS"]) as catalog:
            async for item in agroup_objects(client.scan(["s3://bucket/prefix/"])):
                if not isinstance(item, ObjectFailed):
                    catalog.add(item)          # one whole object
                if catalog.pending_objects >= 1000:
                    catalog.flush()            # durable from here on

Most callers use :func:`write_catalog` (a whole scan's output at once) or
:func:`open_catalog` (an incremental writer fed whole objects); :func:`to_arrow` and
:func:`to_astropy` build tables in memory and :func:`read_catalog` reads any catalog back.
"""

from __future__ import annotations

from .columns import FIXED_COLUMNS, HEADER_COLUMN, ColumnType
from .failures import FailureEntry, FailureLog, failures_path
from .resume import catalog_format, completed_urls, url_key
from .rows import (
    ALL,
    DEFAULT_KEYWORDS,
    agroup_objects,
    group_objects,
    normalize_keywords,
    object_rows,
)
from .tables import arrow_to_astropy, read_catalog, to_arrow, to_astropy
from .writers import (
    CatalogWriter,
    CSVWriter,
    JSONLinesWriter,
    ParquetWriter,
    open_catalog,
    write_catalog,
)

__all__ = [
    "ALL",
    "DEFAULT_KEYWORDS",
    "FIXED_COLUMNS",
    "HEADER_COLUMN",
    "CSVWriter",
    "CatalogWriter",
    "ColumnType",
    "FailureEntry",
    "FailureLog",
    "JSONLinesWriter",
    "ParquetWriter",
    "agroup_objects",
    "arrow_to_astropy",
    "catalog_format",
    "completed_urls",
    "failures_path",
    "group_objects",
    "normalize_keywords",
    "object_rows",
    "open_catalog",
    "read_catalog",
    "to_arrow",
    "to_astropy",
    "url_key",
    "write_catalog",
]
