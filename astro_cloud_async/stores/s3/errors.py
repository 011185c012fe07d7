"""S3 error answers as typed errors: a table keyed by the S3 error code, then the HTTP status.

Error bodies are read for their ``Code`` (and a region hint) only: a SignatureDoesNotMatch body
echoes the string to sign, so nothing else of it ever reaches a message.
"""

from __future__ import annotations

from ...errors import (
    AccessDeniedError,
    FetchError,
    FetchTimeoutError,
    ObjectChangedError,
    ObjectNotFoundError,
    ServerError,
    ThrottledError,
)
from ..answers import error_for_status

__all__ = ["REGION_CODES", "s3_error"]

# S3 error code -> error class. Codes absent here fall back to the HTTP status table.
_CODE_ERRORS: dict[str, type[FetchError]] = {
    "NoSuchKey": ObjectNotFoundError,
    "NoSuchBucket": ObjectNotFoundError,
    "NoSuchVersion": ObjectNotFoundError,
    "AccessDenied": AccessDeniedError,
    "AllAccessDisabled": AccessDeniedError,
    "InvalidAccessKeyId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "InvalidToken": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "TokenRefreshRequired": AccessDeniedError,
    "AccountProblem": AccessDeniedError,
    "InvalidObjectState": AccessDeniedError,
    "RequestTimeTooSkewed": AccessDeniedError,
    "SlowDown": ThrottledError,
    "Throttling": ThrottledError,
    "ThrottlingException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "ServiceUnavailable": ThrottledError,
    "InternalError": ServerError,
    "RequestTimeout": FetchTimeoutError,
    "PreconditionFailed": ObjectChangedError,
}

REGION_CODES = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocation"})
"""Codes whose answer names the bucket's real region."""


def s3_error(
    status: int, code: str | None, url: str, offset: int, *, retry_after: float | None = None
) -> FetchError:
    """The typed error for an S3 error answer (``retry_after``: the seconds its
    ``Retry-After`` header asked for, kept on a throttling error)."""
    cls = _CODE_ERRORS.get(code or "")
    if cls is None:
        if status != 503:
            return error_for_status(status, url, offset, code=code, retry_after=retry_after)
        cls = ThrottledError
    return cls(
        f"S3 {code or status}",
        url=url,
        offset=offset,
        status=status,
        code=code,
        retry_after=retry_after,
    )
