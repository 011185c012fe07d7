"""Index the headers of FITS files where they live: S3 buckets, HTTP servers, local disks.

::

    import astro_cloud_async as aca

    async for result in aca.scan(["s3://bucket/prefix/"], anon=True):
        if isinstance(result, aca.ObjectFailed):
            print("failed:", result.url, result.error)
        else:
            print(result.url, result.index, result.header.get("OBJECT"))

    records = aca.read_headers("https://archive.example/file.fits")   # blocking

Every entry point takes the same option names (:class:`Options`). The compatibility layer of
the original ``astro-cloud`` package (``load_headers``, ``CloudService``, ``PaymentSolution``,
``AWSAuth``) is exported here too.

The data path, layer by layer (each imports only those below it): :mod:`.fits` (the I/O-free
core) -> :mod:`.stores` (fetch byte ranges, list keys) -> :mod:`.pool` (concurrency, retries,
statistics) -> :mod:`.scanner` (drive walkers) -> :class:`Client` -> :mod:`.catalog`,
:mod:`.sections`, :mod:`.dask` -> :mod:`.indexing` -> :mod:`.cli`. This package is a lazy
face: a name's module is imported when the name is first used, so ``import
astro_cloud_async.fits`` loads neither aiohttp nor aiobotocore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import attach

if TYPE_CHECKING:
    from .client import Client as Client
    from .client import scan as scan
    from .compat import AWSAuth as AWSAuth
    from .compat import CloudService as CloudService
    from .compat import FITSHeader as FITSHeader
    from .compat import PaymentSolution as PaymentSolution
    from .compat import load_headers as load_headers
    from .errors import AccessDeniedError as AccessDeniedError
    from .errors import AstroCloudError as AstroCloudError
    from .errors import CompressedDataError as CompressedDataError
    from .errors import CompressedObjectError as CompressedObjectError
    from .errors import CompressedStreamLimitError as CompressedStreamLimitError
    from .errors import ConfigurationError as ConfigurationError
    from .errors import ConnectionFailedError as ConnectionFailedError
    from .errors import FetchError as FetchError
    from .errors import FetchTimeoutError as FetchTimeoutError
    from .errors import FITSError as FITSError
    from .errors import HeaderTooLargeError as HeaderTooLargeError
    from .errors import InvalidHeaderError as InvalidHeaderError
    from .errors import NotFITSError as NotFITSError
    from .errors import ObjectChangedError as ObjectChangedError
    from .errors import ObjectNotFoundError as ObjectNotFoundError
    from .errors import RangeNotSatisfiableError as RangeNotSatisfiableError
    from .errors import RangeNotSupportedError as RangeNotSupportedError
    from .errors import ResponseError as ResponseError
    from .errors import ServerError as ServerError
    from .errors import ThrottledError as ThrottledError
    from .errors import TooManyHDUsError as TooManyHDUsError
    from .errors import TruncatedHeaderError as TruncatedHeaderError
    from .options import Options as Options
    from .pool.stats import PoolStats as PoolStats
    from .pool.stats import StatsSnapshot as StatsSnapshot
    from .records import HDURecord as HDURecord
    from .records import ObjectFailed as ObjectFailed
    from .records import ScanResult as ScanResult
    from .sync import read_headers as read_headers

__version__ = "0.1.0"

_ERRORS = (
    "AccessDeniedError",
    "AstroCloudError",
    "CompressedDataError",
    "CompressedObjectError",
    "CompressedStreamLimitError",
    "ConfigurationError",
    "ConnectionFailedError",
    "FITSError",
    "FetchError",
    "FetchTimeoutError",
    "HeaderTooLargeError",
    "InvalidHeaderError",
    "NotFITSError",
    "ObjectChangedError",
    "ObjectNotFoundError",
    "RangeNotSatisfiableError",
    "RangeNotSupportedError",
    "ResponseError",
    "ServerError",
    "ThrottledError",
    "TooManyHDUsError",
    "TruncatedHeaderError",
)

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        **dict.fromkeys(_ERRORS, ".errors"),
        "AWSAuth": ".compat",
        "Client": ".client",
        "CloudService": ".compat",
        "FITSHeader": ".compat",
        "HDURecord": ".records",
        "ObjectFailed": ".records",
        "Options": ".options",
        "PaymentSolution": ".compat",
        "PoolStats": ".pool.stats",
        "ScanResult": ".records",
        "StatsSnapshot": ".pool.stats",
        "load_headers": ".compat",
        "read_headers": ".sync",
        "scan": ".client",
    },
)
__all__ += ["__version__"]
