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

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .columns import FIXED_COLUMNS as FIXED_COLUMNS
    from .columns import HEADER_COLUMN as HEADER_COLUMN
    from .columns import ColumnType as ColumnType
    from .failures import FailureEntry as FailureEntry
    from .failures import FailureLog as FailureLog
    from .failures import failures_path as failures_path
    from .resume import catalog_format as catalog_format
    from .resume import completed_urls as completed_urls
    from .resume import url_key as url_key
    from .rows import ALL as ALL
    from .rows import DEFAULT_KEYWORDS as DEFAULT_KEYWORDS
    from .rows import agroup_objects as agroup_objects
    from .rows import group_objects as group_objects
    from .rows import normalize_keywords as normalize_keywords
    from .rows import object_rows as object_rows
    from .tables import arrow_to_astropy as arrow_to_astropy
    from .tables import read_catalog as read_catalog
    from .tables import to_arrow as to_arrow
    from .tables import to_astropy as to_astropy
    from .writers import CatalogWriter as CatalogWriter
    from .writers import CSVWriter as CSVWriter
    from .writers import JSONLinesWriter as JSONLinesWriter
    from .writers import ParquetWriter as ParquetWriter
    from .writers import open_catalog as open_catalog
    from .writers import write_catalog as write_catalog

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "ALL": ".rows",
        "CSVWriter": ".writers",
        "CatalogWriter": ".writers",
        "ColumnType": ".columns",
        "DEFAULT_KEYWORDS": ".rows",
        "FIXED_COLUMNS": ".columns",
        "FailureEntry": ".failures",
        "FailureLog": ".failures",
        "HEADER_COLUMN": ".columns",
        "JSONLinesWriter": ".writers",
        "ParquetWriter": ".writers",
        "agroup_objects": ".rows",
        "arrow_to_astropy": ".tables",
        "catalog_format": ".resume",
        "completed_urls": ".resume",
        "failures_path": ".failures",
        "group_objects": ".rows",
        "normalize_keywords": ".rows",
        "object_rows": ".rows",
        "open_catalog": ".writers",
        "read_catalog": ".tables",
        "to_arrow": ".tables",
        "to_astropy": ".tables",
        "url_key": ".resume",
        "write_catalog": ".writers",
    },
)
