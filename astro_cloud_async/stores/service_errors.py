"""A service's error answer as a typed error: its error code through the service's table, then
the HTTP status through the common one.

Shared by the Google Cloud Storage and Azure Blob stores, whose answers name the error in a
code of their own (``notFound``, ``BlobNotFound``) the way S3's do. The throttling answer's
``Retry-After`` (seconds or an HTTP date) is kept in the message, so whoever reads a
:class:`~astro_cloud_async.errors.ThrottledError` sees how long the service asked for.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from ..errors import FetchError, ThrottledError
from .answers import error_for_status

__all__ = ["parse_retry_after", "service_error"]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def service_error(
    service: str,
    table: Mapping[str, type[FetchError]],
    status: int,
    code: str | None,
    url: str,
    offset: int,
    *,
    retry_after: str | None = None,
) -> FetchError:
    """The typed error for an error answer of ``service`` (``"GCS"``, ``"Azure"``)."""
    cls = table.get(code or "")
    if cls is None:
        error = error_for_status(status, url, offset, code=code)
        cls = type(error)
    message = f"{service} {status}" + (f" {code}" if code else "")
    if issubclass(cls, ThrottledError):
        wait = parse_retry_after(retry_after)
        if wait is not None:
            message += f" (retry after {wait:g} s)"
    return cls(message, url=url, offset=offset, status=status, code=code)
