"""S3 and S3-compatible services: URL forms, SigV4 signing, configuration, listing, the store.

Only :mod:`.config` and :mod:`.store` need aiohttp and botocore (botocore's credential chain,
for signed access only); the URL forms and the signer are plain Python, and this face imports
nothing until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import attach

if TYPE_CHECKING:
    from .sigv4 import Credentials as Credentials
    from .sigv4 import SigV4Signer as SigV4Signer
    from .store import S3Store as S3Store
    from .urls import S3Location as S3Location
    from .urls import parse_s3_https as parse_s3_https
    from .urls import parse_s3_url as parse_s3_url
    from .urls import s3_url_from_https as s3_url_from_https

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Credentials": ".sigv4",
        "S3Location": ".urls",
        "S3Store": ".store",
        "SigV4Signer": ".sigv4",
        "parse_s3_https": ".urls",
        "parse_s3_url": ".urls",
        "s3_url_from_https": ".urls",
    },
)
