"""Azure Blob error answers as typed errors: a table keyed by the service's error code.

The code comes from the ``x-ms-error-code`` header, else the ``<Code>`` of the XML body; the
body's message is never passed on (an AuthenticationFailed body quotes the string to sign).
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
from ..service_errors import service_error

__all__ = ["azure_error"]

# Blob service error code -> error class; other codes fall back to the HTTP status.
_CODE_ERRORS: dict[str, type[FetchError]] = {
    "BlobNotFound": ObjectNotFoundError,
    "ContainerNotFound": ObjectNotFoundError,
    "ResourceNotFound": ObjectNotFoundError,
    "AuthenticationFailed": AccessDeniedError,
    "AuthorizationFailure": AccessDeniedError,
    "AuthorizationPermissionMismatch": AccessDeniedError,
    "AuthorizationResourceTypeMismatch": AccessDeniedError,
    "AuthorizationServiceMismatch": AccessDeniedError,
    "AuthorizationSourceIPMismatch": AccessDeniedError,
    "AuthorizationProtocolMismatch": AccessDeniedError,
    "NoAuthenticationInformation": AccessDeniedError,
    "InsufficientAccountPermissions": AccessDeniedError,
    "AccountIsDisabled": AccessDeniedError,
    "PublicAccessNotPermitted": AccessDeniedError,
    "BlobArchived": AccessDeniedError,
    "ConditionNotMet": ObjectChangedError,
    "TargetConditionNotMet": ObjectChangedError,
    "ServerBusy": ThrottledError,
    "OperationTimedOut": FetchTimeoutError,
    "InternalError": ServerError,
}


def azure_error(
    status: int, code: str | None, url: str, offset: int, *, retry_after: float | None = None
) -> FetchError:
    """The typed error for an Azure Blob error answer."""
    return service_error("Azure", _CODE_ERRORS, status, code, url, offset, retry_after=retry_after)
