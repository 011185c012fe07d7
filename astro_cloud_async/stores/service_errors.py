"""A service's error answer as a typed error: its error code through the service's table, then
the HTTP status through the common one.

Shared by the Google Cloud Storage and Azure Blob stores, whose answers name the error in a
code of their own (``notFound``, ``BlobNotFound``) the way S3's do. A throttling answer's
``Retry-After`` (read by :func:`~.answers.retry_after`) is kept on the error, where the pool
waits it out, and in its message.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import FetchError, ThrottledError
from .answers import error_for_status

__all__ = ["service_error"]


def service_error(
    service: str,
    table: Mapping[str, type[FetchError]],
    status: int,
    code: str | None,
    url: str,
    offset: int,
    *,
    retry_after: float | None = None,
) -> FetchError:
    """The typed error for an error answer of ``service`` (``"GCS"``, ``"Azure"``)."""
    cls = table.get(code or "")
    if cls is None:
        error = error_for_status(status, url, offset, code=code)
        cls = type(error)
    message = f"{service} {status}" + (f" {code}" if code else "")
    if issubclass(cls, ThrottledError) and retry_after is not None:
        message += f" (retry after {retry_after:g} s)"
    return cls(message, url=url, offset=offset, status=status, code=code, retry_after=retry_after)
