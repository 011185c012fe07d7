"""Scale-out with Dask: a scan as a partitioned DataFrame, and the index job on a cluster.

Import it as ``astro_cloud_async.dask`` (it needs ``dask[dataframe]``, ``distributed`` and
``pyarrow``: the ``dask`` extra)::

    from astro_cloud_async.dask import scan_dataframe

    ddf = scan_dataframe(["s3://bucket/survey/"], keywords=["EXPTIME", "FILTER"],
                         objects_per_partition=2000, anon=True)
    ddf.to_parquet("catalog/", write_index=False)

:func:`scan_dataframe` lists the sources on the client and scans each partition inside a
worker (its own event loop, the same scan as in a single process); failures are rows with the
``error`` columns set. The index job runs on a cluster through
:func:`astro_cloud_async.indexing.index_on_dask`, built on the same partitions. Credentials
never travel in the task graph: see :mod:`.partitions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .frame import ERROR_COLUMNS as ERROR_COLUMNS
    from .frame import STANDARD_KEYWORD_TYPES as STANDARD_KEYWORD_TYPES
    from .frame import catalog_meta as catalog_meta
    from .frame import keyword_type as keyword_type
    from .frame import partition_frame as partition_frame
    from .frame import scan_dataframe as scan_dataframe
    from .partitions import HEADERS_ENV as HEADERS_ENV
    from .partitions import ListedSources as ListedSources
    from .partitions import Partition as Partition
    from .partitions import ScannedPartition as ScannedPartition
    from .partitions import list_partitions as list_partitions
    from .partitions import scan_partition as scan_partition

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "ERROR_COLUMNS": ".frame",
        "HEADERS_ENV": ".partitions",
        "ListedSources": ".partitions",
        "Partition": ".partitions",
        "STANDARD_KEYWORD_TYPES": ".frame",
        "ScannedPartition": ".partitions",
        "catalog_meta": ".frame",
        "keyword_type": ".frame",
        "list_partitions": ".partitions",
        "partition_frame": ".frame",
        "scan_dataframe": ".frame",
        "scan_partition": ".partitions",
    },
)
