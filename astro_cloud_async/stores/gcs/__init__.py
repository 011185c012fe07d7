"""Google Cloud Storage: URL forms, Application Default Credentials, listing, the store.

Only :mod:`.store` needs aiohttp, and only :mod:`.credentials` (on the first signed request)
imports google-auth; this face imports nothing until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import attach

if TYPE_CHECKING:
    from .store import GCSStore as GCSStore
    from .store import gcs_endpoint as gcs_endpoint
    from .urls import GCSLocation as GCSLocation
    from .urls import is_gcs_https as is_gcs_https
    from .urls import parse_gcs_https as parse_gcs_https
    from .urls import parse_gcs_url as parse_gcs_url

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "GCSLocation": ".urls",
        "GCSStore": ".store",
        "gcs_endpoint": ".store",
        "is_gcs_https": ".urls",
        "parse_gcs_https": ".urls",
        "parse_gcs_url": ".urls",
    },
)
