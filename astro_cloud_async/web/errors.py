"""The errors of the web app's API, and how any error becomes the JSON the page shows.

Each is an :class:`~astro_cloud_async.errors.AstroCloudError` with the builtin a caller would
catch and the HTTP status the API answers with. :func:`error_json` is the one place an
exception becomes a message for the page: the type name, the message, the URL (credentials
already removed by the error itself) and the byte offset; never a traceback.
"""

from __future__ import annotations

from typing import Any

from ..errors import AstroCloudError

__all__ = [
    "BadRequestError",
    "NotFoundError",
    "TokenError",
    "WebError",
    "error_json",
    "http_status",
]


class WebError(AstroCloudError):
    """An API request that cannot be served; ``status`` is the HTTP answer."""

    status = 400


class BadRequestError(WebError, ValueError):
    """A request with missing or malformed parameters (a bad filter, an unknown column)."""


class NotFoundError(WebError, LookupError):
    """No such table, row, scan or file session (it may have expired)."""

    status = 404


class TokenError(WebError, PermissionError):
    """The request does not carry the server's token."""

    status = 403


def http_status(error: BaseException) -> int:
    """The status the API answers ``error`` with."""
    if isinstance(error, WebError):
        return error.status
    if isinstance(error, FileNotFoundError):
        return 404
    if isinstance(error, PermissionError):
        return 403
    if isinstance(error, AstroCloudError):
        return 422  # the request was understood; the data could not be read
    return 500


def error_json(error: BaseException) -> dict[str, Any]:
    """What the page shows of ``error``: its type, message, URL and byte offset."""
    if isinstance(error, AstroCloudError):
        return {
            "type": type(error).__name__,
            "message": error.message,
            "url": error.url,
            "offset": error.offset,
        }
    return {
        "type": "InternalError",
        "message": "the server could not complete this request (see its log)",
        "url": None,
        "offset": None,
    }
