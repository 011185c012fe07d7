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
``AWSAuth``) is exported here too; ``AWSAuth`` imports ``requests`` on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import Client, scan
from .compat import CloudService, FITSHeader, PaymentSolution, load_headers
from .errors import (
    AccessDeniedError,
    AstroCloudError,
    ConfigurationError,
    ConnectionFailedError,
    FetchError,
    FetchTimeoutError,
    FITSError,
    HeaderTooLargeError,
    InvalidHeaderError,
    NotFITSError,
    ObjectChangedError,
    ObjectNotFoundError,
    RangeNotSatisfiableError,
    ResponseError,
    ServerError,
    ThrottledError,
    TooManyHDUsError,
    TruncatedHeaderError,
)
from .options import Options
from .records import HDURecord, ObjectFailed, ScanResult
from .stats import PoolStats, StatsSnapshot
from .sync import read_headers

if TYPE_CHECKING:
    from .compat import AWSAuth

__version__ = "0.1.0"

__all__ = [
    "AWSAuth",
    "AccessDeniedError",
    "AstroCloudError",
    "Client",
    "CloudService",
    "ConfigurationError",
    "ConnectionFailedError",
    "FITSError",
    "FITSHeader",
    "FetchError",
    "FetchTimeoutError",
    "HDURecord",
    "HeaderTooLargeError",
    "InvalidHeaderError",
    "NotFITSError",
    "ObjectChangedError",
    "ObjectFailed",
    "ObjectNotFoundError",
    "Options",
    "PaymentSolution",
    "PoolStats",
    "RangeNotSatisfiableError",
    "ResponseError",
    "ScanResult",
    "ServerError",
    "StatsSnapshot",
    "ThrottledError",
    "TooManyHDUsError",
    "TruncatedHeaderError",
    "__version__",
    "load_headers",
    "read_headers",
    "scan",
]


def __getattr__(name: str) -> Any:
    if name == "AWSAuth":  # built on first access: it subclasses requests' AuthBase
        from . import compat

        return compat.AWSAuth
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
