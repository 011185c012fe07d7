"""The token guard and the error boundary of the app, as one aiohttp middleware.

As Jupyter does, ``serve`` makes a random token and prints the page's URL with it; the page
sends it back with every API request (the ``X-Token`` header, or ``?token=`` where a header
cannot be set: event streams, downloads, images). A request to the API or the page without
the right token is refused with 403 before any handler runs. Tokens are compared in constant
time.

Every error a handler raises becomes an answer here: JSON with the error's type, message, URL
and byte offset for the API (:func:`~.errors.error_json`), a short text for the page. An error
this package did not expect is logged on the server and answered with a plain message; no
traceback ever reaches the page. Answers carry headers that keep the page to its own scripts
and the token out of referrers.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from .errors import TokenError, error_json, http_status

__all__ = ["TOKEN", "TOKEN_HEADER", "guard_middleware", "request_token"]

TOKEN = web.AppKey("token", str)
"""The app's token (set by whoever builds the app)."""

TOKEN_HEADER = "X-Token"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

log = logging.getLogger("astro_cloud_async.web")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_token(request: web.Request) -> str:
    """The token a request carries ("" if none)."""
    return request.headers.get(TOKEN_HEADER) or request.query.get("token", "")


def _guarded(path: str) -> bool:
    return path == "/" or path.startswith("/api/")


def _check(request: web.Request) -> None:
    expected = request.app[TOKEN]
    given = request_token(request)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise TokenError(
            "this server needs its token: open the URL that `astro-cloud-async serve` printed"
        )


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    api = request.path.startswith("/api/")
    try:
        if _guarded(request.path):
            _check(request)
        response = await handler(request)
    except web.HTTPException as err:
        if not api or err.status < 400:
            raise
        response = web.json_response(
            {"error": {"type": "HTTPError", "message": err.reason, "url": None, "offset": None}},
            status=err.status,
        )
    except Exception as err:
        status = http_status(err)
        if status >= 500:
            log.exception("%s %s failed", request.method, request.path)
        body = error_json(err)
        if api:
            response = web.json_response({"error": body}, status=status)
        else:
            response = web.Response(text=f"{body['type']}: {body['message']}\n", status=status)
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
    return response
