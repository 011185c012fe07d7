"""Scale-out with Dask: a scan as a partitioned DataFrame, and the index job on a cluster.

Import it as ``astro_cloud_async.dask`` (it needs ``dask[dataframe]``, ``distributed`` and
``pyarrow``: the ``dask`` extra)::

    from astro_cloud_async.dask import scan_dataframe

    ddf = scan_dataframe(["s3://bucket/survey/"], keywords=["EXPTIME", "FILTER"],
                         objects_per_partition=2000, anon=True)
    ddf.to_parquet("catalog/", write_index=False)

:func:`scan_dataframe` lists the sources on the client and scans each partition inside a
worker (its own event loop, the same scan as in a single process); failures are rows with the
``error`` columns set. :func:`index_on_dask` is what ``astro-cloud-async index
--dask-scheduler ADDRESS`` runs: the same catalog and failure report as a single-process run,
written by the workers. Credentials never travel in the task graph: see
:mod:`.partitions`.
"""

from __future__ import annotations

from .frame import (
    ERROR_COLUMNS,
    STANDARD_KEYWORD_TYPES,
    catalog_meta,
    keyword_type,
    partition_frame,
    scan_dataframe,
)
from .index import PartitionReport, index_on_dask, index_partition
from .partitions import (
    HEADERS_ENV,
    ListedSources,
    Partition,
    ScannedPartition,
    list_partitions,
    scan_partition,
)

__all__ = [
    "ERROR_COLUMNS",
    "HEADERS_ENV",
    "STANDARD_KEYWORD_TYPES",
    "ListedSources",
    "Partition",
    "PartitionReport",
    "ScannedPartition",
    "catalog_meta",
    "index_on_dask",
    "index_partition",
    "keyword_type",
    "list_partitions",
    "partition_frame",
    "scan_dataframe",
    "scan_partition",
]
