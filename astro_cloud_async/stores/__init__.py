"""Stores fetch byte ranges and list keys: HTTP(S), S3 (and S3-compatible), local files.

Concurrency, retries and statistics are not here but in :mod:`astro_cloud_async.pool`. This
face imports nothing until a name is used, so code that needs only the store types does not
load aiohttp or aiobotocore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .base import Lister as Lister
    from .base import ListPage as ListPage
    from .base import ObjectInfo as ObjectInfo
    from .base import RangeReader as RangeReader
    from .base import RangeResult as RangeResult
    from .base import SourceKind as SourceKind
    from .base import Store as Store
    from .base import range_header as range_header
    from .http import HTTPStore as HTTPStore
    from .local import LocalStore as LocalStore
    from .registry import Stores as Stores
    from .registry import url_scheme as url_scheme
    from .s3 import Credentials as Credentials
    from .s3 import S3Location as S3Location
    from .s3 import S3Store as S3Store
    from .s3 import SigV4Signer as SigV4Signer
    from .s3 import parse_s3_https as parse_s3_https
    from .s3 import parse_s3_url as parse_s3_url
    from .s3 import s3_url_from_https as s3_url_from_https

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Credentials": ".s3",
        "HTTPStore": ".http",
        "ListPage": ".base",
        "Lister": ".base",
        "LocalStore": ".local",
        "ObjectInfo": ".base",
        "RangeReader": ".base",
        "RangeResult": ".base",
        "S3Location": ".s3",
        "S3Store": ".s3",
        "SigV4Signer": ".s3",
        "SourceKind": ".base",
        "Store": ".base",
        "Stores": ".registry",
        "parse_s3_https": ".s3",
        "parse_s3_url": ".s3",
        "range_header": ".base",
        "s3_url_from_https": ".s3",
        "url_scheme": ".registry",
    },
)
