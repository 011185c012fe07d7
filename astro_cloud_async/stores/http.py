"""HTTP(S) range reads over aiohttp, and the answer checks the S3 transport shares.

Every answer is checked against what was asked rather than trusted: a 206 must carry a
Content-Range starting at ``start``; a 416 is the end of the object (``bytes */N`` when the
server says N); a 200 means the server ignored Range, so only the first ``end`` bytes of the
body are read and the connection is then closed instead of being returned to the pool (reading
on would download the whole object). Statuses and transport exceptions become typed errors
through tables, never by reading message text. Retrying is the pool's business, not ours.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp

from ..errors import (
    AccessDeniedError,
    AstroCloudError,
    ConfigurationError,
    ConnectionFailedError,
    FetchError,
    FetchTimeoutError,
    ObjectChangedError,
    ObjectNotFoundError,
    RangeNotSatisfiableError,
    ResponseError,
    ServerError,
    ThrottledError,
)
from ..options import Options
from .base import (
    INCOMPLETE_BODY,
    ObjectInfo,
    RangeResult,
    StoreBase,
    check_range,
    etags_match,
    parse_content_range,
    range_header,
)

__all__ = [
    "HTTPStore",
    "authorization_header",
    "client_timeout",
    "error_for_status",
    "make_session",
    "map_client_errors",
    "past_end",
    "read_error_body",
    "read_range_response",
]

_SKIP_CHUNK = 1 << 20
_ERROR_BODY_LIMIT = 64 * 1024

# Status -> error class for answers that are not 200/206/416.
_STATUS_ERRORS: dict[int, type[FetchError]] = {
    401: AccessDeniedError,
    403: AccessDeniedError,
    404: ObjectNotFoundError,
    408: FetchTimeoutError,
    410: ObjectNotFoundError,
    412: ObjectChangedError,
    416: RangeNotSatisfiableError,
    429: ThrottledError,
    503: ThrottledError,
}


def error_for_status(
    status: int, url: str, offset: int, *, code: str | None = None, detail: str = ""
) -> FetchError:
    """The typed error for an HTTP status (``code`` is the S3 error code when there is one)."""
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ResponseError
    message = f"HTTP {status}" + (f" {code}" if code else "") + (f": {detail}" if detail else "")
    return cls(message, url=url, offset=offset, status=status, code=code)


def client_timeout(options: Options) -> aiohttp.ClientTimeout:
    """Socket-level time-outs; the pool bounds each request's total time."""
    return aiohttp.ClientTimeout(
        total=None, sock_connect=options.connect_timeout, sock_read=options.timeout
    )


def make_session(options: Options) -> aiohttp.ClientSession:
    """A ClientSession with a keep-alive pool sized by ``options``. Call inside a running loop.

    Bodies are never decompressed (byte offsets must be those of the stored object) and no
    default headers or auth are set: those belong to HTTP stores, never to S3 requests.
    """
    connector = aiohttp.TCPConnector(
        limit=options.concurrency,
        limit_per_host=options.connections_per_host,
        ttl_dns_cache=300,
        enable_cleanup_closed=False,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=client_timeout(options),
        auto_decompress=False,
        raise_for_status=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


@contextmanager
def map_client_errors(url: str, offset: int) -> Iterator[None]:
    """Turn aiohttp and socket exceptions raised inside the block into typed errors."""
    try:
        yield
    except AstroCloudError:
        raise
    except aiohttp.ClientPayloadError as e:
        raise ResponseError(
            "response body ended early", url=url, offset=offset, code=INCOMPLETE_BODY
        ) from e
    except aiohttp.ClientResponseError as e:  # a session created with raise_for_status=True
        raise error_for_status(e.status, url, offset) from e
    except aiohttp.InvalidURL as e:
        raise ConfigurationError("invalid URL", url=url, offset=offset) from e
    except ValueError as e:
        # aiohttp refuses to build some requests (credentials in the URL and an Authorization
        # header at once); its message is not passed on, as it may quote the request.
        raise ConfigurationError(
            "the request cannot be sent as configured (conflicting credentials?)",
            url=url,
            offset=offset,
        ) from e
    except (asyncio.TimeoutError, TimeoutError) as e:  # aiohttp's time-outs derive from these
        raise FetchTimeoutError(f"timed out ({type(e).__name__})", url=url, offset=offset) from e
    except (aiohttp.ClientConnectionError, OSError) as e:
        reason = getattr(e, "strerror", None) or type(e).__name__
        raise ConnectionFailedError(f"connection failed: {reason}", url=url, offset=offset) from e
    except aiohttp.ClientError as e:
        raise ResponseError(f"request failed: {type(e).__name__}", url=url, offset=offset) from e


async def _read_up_to(content: aiohttp.StreamReader, n: int) -> bytes:
    """Read ``n`` bytes, or fewer if the body ends first."""
    parts: list[bytes] = []
    got = 0
    while got < n:
        chunk = await content.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def _skip(content: aiohttp.StreamReader, n: int) -> int:
    """Read and drop ``n`` bytes, in bounded chunks; return how many there were."""
    skipped = 0
    while skipped < n:
        chunk = await content.read(min(n - skipped, _SKIP_CHUNK))
        if not chunk:
            break
        skipped += len(chunk)
    return skipped


def xml_field(body: bytes, name: str) -> str | None:
    """The text of the first ``<name>`` element of an (S3-style XML) error body, if short."""
    m = re.search(rb"<" + name.encode() + rb">([^<]{1,256})</" + name.encode() + rb">", body)
    return m.group(1).decode("utf-8", "replace").strip() if m else None


async def read_error_body(resp: aiohttp.ClientResponse) -> bytes:
    """The (bounded) body of an error answer; drops the connection if it is large."""
    length = resp.content_length
    if length is not None and length > _ERROR_BODY_LIMIT:
        resp.close()
        return b""
    body = await _read_up_to(resp.content, _ERROR_BODY_LIMIT)
    if not resp.content.at_eof():
        resp.close()
    return body


def _short(url: str, offset: int, got: int, expected: int) -> ResponseError:
    return ResponseError(
        f"response body ended after {got} of {expected} bytes",
        url=url,
        offset=offset,
        code=INCOMPLETE_BODY,
    )


async def read_range_response(
    resp: aiohttp.ClientResponse, url: str, start: int, end: int
) -> RangeResult:
    """Read ``[start, end)`` from a 200, 206 or 416 answer to a ranged GET, checking it."""
    status = resp.status
    headers = resp.headers
    etag = headers.get("ETag")
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "") and status in (200, 206):
        resp.close()
        raise ResponseError(
            f"server sent a {encoding}-encoded body; byte offsets would be wrong",
            url=url,
            offset=start,
            status=status,
        )

    if status == 206:
        raw = headers.get("Content-Range")
        cr = parse_content_range(raw)
        if cr is None or cr.first is None or cr.last is None:
            resp.close()
            raise ResponseError(
                f"206 answer without a usable Content-Range ({raw!r})",
                url=url,
                offset=start,
                status=206,
            )
        # With an unknown total ('bytes a-b/*') a shorter answer can only mean the end.
        wanted_last = cr.last if cr.total is None else min(end, cr.total) - 1
        if cr.first != start or cr.last < wanted_last:
            resp.close()
            raise ResponseError(
                f"asked bytes {start}-{end - 1}, answer holds {cr.first}-{cr.last}",
                url=url,
                offset=start,
                status=206,
            )
        sent = cr.last - cr.first + 1
        take = min(sent, end - start)
        if take == sent and resp.content_length in (None, sent):
            data = await resp.read()
        else:
            data = await _read_up_to(resp.content, take)
            if not resp.content.at_eof():
                resp.close()
        if len(data) != take:
            raise _short(url, start, len(data), take)
        return RangeResult(data, start, cr.total, etag)

    if status == 416:
        cr = parse_content_range(headers.get("Content-Range"))
        await read_error_body(resp)
        return past_end(url, start, cr.total if cr is not None else None, etag)

    if status == 200:
        return await _read_from_full_body(resp, url, start, end, etag)

    resp.close()
    raise ResponseError(f"unexpected HTTP {status}", url=url, offset=start, status=status)


def past_end(url: str, start: int, total: int | None, etag: str | None) -> RangeResult:
    """The empty answer for a range starting at or after the end (HTTP 416).

    ``total`` is the object size if the server said it; a 416 for a range starting inside a
    known size is an error, not the end of the object.
    """
    if total is None and start == 0:
        total = 0  # nothing satisfies bytes=0-...: the object is empty
    if total is not None and start < total:
        raise RangeNotSatisfiableError(
            f"416 although the object holds {total} bytes", url=url, offset=start, status=416
        )
    return RangeResult(b"", start, total, etag)


async def _read_from_full_body(
    resp: aiohttp.ClientResponse, url: str, start: int, end: int, etag: str | None
) -> RangeResult:
    """The server ignored Range: skip to ``start``, read up to ``end``, then hang up."""
    length = resp.content_length
    if length is not None and start >= length:
        resp.close()
        return RangeResult(b"", start, length, etag)
    content = resp.content
    skipped = await _skip(content, start)
    data = await _read_up_to(content, end - start) if skipped == start else b""
    eof = content.at_eof()
    got = skipped + len(data)
    size = length if length is not None else (got if eof else None)
    if size is not None and got < min(end, size):
        raise _short(url, start, got, min(end, size))
    if not eof:
        resp.close()  # do not download the rest of the object
    return RangeResult(data, start, size, etag, discarded=skipped)


def authorization_header(auth: object) -> str | None:
    """The ``Authorization`` value for ``Options.auth``: a ``(login, password)`` pair, an
    ``aiohttp.BasicAuth``, or a ready header value such as ``"Bearer ..."``."""
    if auth is None:
        return None
    if isinstance(auth, str):
        return auth
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(x, str) for x in auth):
        raw = f"{auth[0]}:{auth[1]}"
        try:
            encoded = raw.encode("latin1")
        except UnicodeEncodeError:
            encoded = raw.encode("utf-8")
        return "Basic " + base64.b64encode(encoded).decode("ascii")
    encode = getattr(auth, "encode", None)
    if callable(encode):  # aiohttp.BasicAuth
        value = encode()
        if isinstance(value, str):
            return value
    raise ConfigurationError(
        "auth must be a (login, password) pair, an aiohttp.BasicAuth or a header value"
    )


class HTTPStore(StoreBase):
    """Ranged GETs against any HTTP(S) server honouring (or ignoring) Range.

    ``session`` is shared and never closed here when given; without one the store makes its
    own on first use and closes it in :meth:`aclose`.
    """

    def __init__(self, options: Options, session: aiohttp.ClientSession | None = None):
        self._options = options
        self._session = session
        self._owns_session = session is None
        self._headers: dict[str, str] = dict(options.headers)
        self._headers["Accept-Encoding"] = "identity"
        authorization = authorization_header(options.auth)
        if authorization is not None:
            self._headers["Authorization"] = authorization
        self._timeout = client_timeout(options)

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = make_session(self._options)
        return self._session

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        check_range(url, start, end)
        headers = dict(self._headers)
        headers["Range"] = range_header(start, end)
        if if_match is not None and not if_match.startswith("W/"):
            headers["If-Match"] = if_match  # weak tags never match If-Match; checked below
        session = self._get_session()
        with map_client_errors(url, start):
            async with session.get(
                url,
                headers=headers,
                timeout=self._timeout,
                raise_for_status=False,
                auto_decompress=False,
            ) as resp:
                if resp.status not in (200, 206, 416):
                    # S3-compatible servers reached over plain HTTP(S) say why in XML.
                    code = xml_field(await read_error_body(resp), "Code")
                    raise error_for_status(resp.status, url, start, code=code)
                result = await read_range_response(resp, url, start, end)
                if result.etag is None and "Last-Modified" in resp.headers:
                    result = dataclasses.replace(
                        result, last_modified=resp.headers["Last-Modified"]
                    )
        if if_match is not None and not etags_match(if_match, result.etag):
            raise ObjectChangedError(
                f"ETag is now {result.etag}, expected {if_match}", url=url, offset=start
            )
        return result

    async def list(
        self, url_prefix: str, *, suffixes: tuple[str, ...] | None = None
    ) -> AsyncIterator[ObjectInfo]:
        raise ConfigurationError("HTTP(S) locations cannot be listed", url=url_prefix)
        yield  # pragma: no cover  (makes this an async generator)

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def __repr__(self) -> str:
        return f"<HTTPStore session={'own' if self._owns_session else 'shared'}>"
