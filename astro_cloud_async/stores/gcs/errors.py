"""GCS error answers as typed errors: a table keyed by the JSON API's error ``reason``.

The JSON API answers ``{"error": {"code": 404, "errors": [{"reason": "notFound"}]}}``; only
the reason is read (messages can quote the request), and a body that is not such JSON falls
back to the HTTP status table.
"""

from __future__ import annotations

import json

from ...errors import (
    AccessDeniedError,
    FetchError,
    ObjectChangedError,
    ObjectNotFoundError,
    ServerError,
    ThrottledError,
)
from ..service_errors import service_error

__all__ = ["error_reason", "gcs_error"]

# JSON API error reason -> error class; other reasons fall back to the HTTP status.
_REASON_ERRORS: dict[str, type[FetchError]] = {
    "notFound": ObjectNotFoundError,
    "forbidden": AccessDeniedError,
    "accessDenied": AccessDeniedError,
    "authError": AccessDeniedError,
    "required": AccessDeniedError,
    "insufficientPermissions": AccessDeniedError,
    "userProjectMissing": AccessDeniedError,
    "userProjectAccountProblem": AccessDeniedError,
    "accountDisabled": AccessDeniedError,
    "conditionNotMet": ObjectChangedError,
    "rateLimitExceeded": ThrottledError,
    "userRateLimitExceeded": ThrottledError,
    "backendError": ServerError,
    "internalError": ServerError,
}


def error_reason(body: bytes) -> str | None:
    """The first ``reason`` of a JSON API error body, if it is one."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if not isinstance(error, dict):
        return None
    errors = error.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        if isinstance(reason, str) and len(reason) <= 64:
            return reason
    status = error.get("status")  # the newer form: {"error": {"status": "NOT_FOUND"}}
    return status if isinstance(status, str) and len(status) <= 64 else None


def gcs_error(
    status: int, reason: str | None, url: str, offset: int, *, retry_after: float | None = None
) -> FetchError:
    """The typed error for a GCS error answer."""
    return service_error(
        "GCS", _REASON_ERRORS, status, reason, url, offset, retry_after=retry_after
    )
