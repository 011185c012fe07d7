"""Stores fetch byte ranges and list keys: HTTP(S), S3 (and S3-compatible), local files.

Concurrency, retries and statistics are not here but in :mod:`astro_cloud_async.pool`.
"""

from .base import Lister, ObjectInfo, RangeReader, RangeResult, Store, range_header
from .http import HTTPStore
from .local import LocalStore
from .resolve import Stores, url_scheme
from .s3 import S3Store, S3Transport
from .s3urls import S3Location, parse_s3_https, parse_s3_url, s3_url_from_https
from .sigv4 import Credentials, SigV4Signer

__all__ = [
    "Credentials",
    "HTTPStore",
    "Lister",
    "LocalStore",
    "ObjectInfo",
    "RangeReader",
    "RangeResult",
    "S3Location",
    "S3Store",
    "S3Transport",
    "SigV4Signer",
    "Store",
    "Stores",
    "parse_s3_https",
    "parse_s3_url",
    "range_header",
    "s3_url_from_https",
    "url_scheme",
]
