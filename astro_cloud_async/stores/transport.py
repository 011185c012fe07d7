"""aiohttp plumbing shared by the stores that speak HTTP: the session, exception mapping, and
reading a ranged answer's body.

Every answer is checked against what was asked rather than trusted (:mod:`.answers` holds the
rules): a 206 must carry a Content-Range starting at ``start``; a 416 is the end of the object
(``bytes */N`` when the server says N); a 200 means the server ignored Range, so only the first
``end`` bytes of the body are read and the connection is then closed instead of being returned
to the pool (reading on would download the whole object). Transport exceptions become typed
errors through one mapping, never by reading message text.
"""

from __future__ import annotations

import asyncio
import ssl
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from ..errors import (
    AstroCloudError,
    ConfigurationError,
    ConnectionFailedError,
    FetchTimeoutError,
    ResponseError,
)
from ..options import Options
from .answers import (
    INCOMPLETE_BODY,
    check_partial,
    error_for_status,
    parse_content_range,
    past_end,
    short_body,
)
from .base import RangeResult
from .http1 import Http1Client, MalformedAnswer

__all__ = [
    "client_timeout",
    "encoded_get",
    "lean_client",
    "make_session",
    "map_client_errors",
    "read_error_body",
    "read_range_response",
    "read_up_to",
    "refuse_encoded",
    "skip_bytes",
]

_SKIP_CHUNK = 1 << 20
_ERROR_BODY_LIMIT = 64 * 1024


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
        limit_per_host=options.host_limits[1],
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


def lean_client(options: Options) -> Http1Client:
    """The lean HTTP/1.1 client for ranged GETs, bounded as ``options`` say (it takes the
    loop of its first request)."""
    return Http1Client(
        limit=options.concurrency,
        limit_per_host=options.host_limits[1],
        connect_timeout=options.connect_timeout,
        read_timeout=options.timeout,
    )


def encoded_get(
    session: aiohttp.ClientSession | None,
    client: Http1Client | None,
    url: str,
    headers: dict[str, str],
    timeout: aiohttp.ClientTimeout,
) -> Any:
    """An object store's GET of an encoded (maybe signed) URL, entered with ``async with``:
    through the caller's aiohttp ``session`` when given, else ``client``; sent exactly as
    built, redirects not followed."""
    if session is not None:
        return session.get(
            URL(url, encoded=True),
            headers=headers,
            allow_redirects=False,
            timeout=timeout,
            raise_for_status=False,
            auto_decompress=False,
        )
    if client is None:
        raise ConfigurationError("the store was closed, or never given a client", url=url)
    return client.get(url, headers, redirects=False, encoded=True)


class map_client_errors:  # named as the function it replaced: ``with map_client_errors(...)``
    """Turn aiohttp and socket exceptions raised inside the block into typed errors.

    A class rather than a generator-based context manager: it wraps every request, and this
    costs a fraction of what ``@contextmanager`` does."""

    __slots__ = ("offset", "url")

    def __init__(self, url: str, offset: int) -> None:
        self.url = url
        self.offset = offset

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, AstroCloudError) or not isinstance(exc, Exception):
            return  # nothing raised, or nothing to translate: it goes on as it is
        typed = _typed(exc, self.url, self.offset)
        if typed is not None:  # else not aiohttp's nor a socket's: a defect, raised as it is
            raise typed from exc


def _typed(e: Exception, url: str, offset: int) -> Exception | None:
    """The typed error for an exception raised by aiohttp or a socket (None if neither)."""
    if isinstance(e, aiohttp.ClientPayloadError):
        return ResponseError(
            "response body ended early", url=url, offset=offset, code=INCOMPLETE_BODY
        )
    if isinstance(e, MalformedAnswer):
        return ResponseError(f"malformed answer: {e}", url=url, offset=offset)
    if isinstance(e, aiohttp.TooManyRedirects):
        return ResponseError("too many redirects", url=url, offset=offset, status=e.status)
    if isinstance(e, aiohttp.ClientResponseError):  # a session made with raise_for_status=True
        return error_for_status(e.status, url, offset)
    if isinstance(e, ssl.SSLError):  # before ValueError: a certificate error is both
        reason = getattr(e, "reason", None) or type(e).__name__
        return ConnectionFailedError(f"TLS failed: {reason}", url=url, offset=offset)
    if isinstance(e, aiohttp.InvalidURL):
        return ConfigurationError("invalid URL", url=url, offset=offset)
    if isinstance(e, ValueError):
        # aiohttp refuses to build some requests (credentials in the URL and an Authorization
        # header at once); its message is not passed on, as it may quote the request.
        return ConfigurationError(
            "the request cannot be sent as configured (conflicting credentials?)",
            url=url,
            offset=offset,
        )
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):  # aiohttp's time-outs are these
        return FetchTimeoutError(f"timed out ({type(e).__name__})", url=url, offset=offset)
    if isinstance(e, (aiohttp.ClientConnectionError, OSError)):
        reason = getattr(e, "strerror", None) or type(e).__name__
        return ConnectionFailedError(f"connection failed: {reason}", url=url, offset=offset)
    if isinstance(e, aiohttp.ClientError):
        return ResponseError(f"request failed: {type(e).__name__}", url=url, offset=offset)
    return None


async def read_up_to(content: aiohttp.StreamReader, n: int) -> bytes:
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


async def skip_bytes(content: aiohttp.StreamReader, n: int) -> int:
    """Read and drop ``n`` bytes, in bounded chunks; return how many there were."""
    skipped = 0
    while skipped < n:
        chunk = await content.read(min(n - skipped, _SKIP_CHUNK))
        if not chunk:
            break
        skipped += len(chunk)
    return skipped


async def read_error_body(resp: aiohttp.ClientResponse) -> bytes:
    """The (bounded) body of an error answer; drops the connection if it is large."""
    length = resp.content_length
    if length is not None and length > _ERROR_BODY_LIMIT:
        resp.close()
        return b""
    body = await read_up_to(resp.content, _ERROR_BODY_LIMIT)
    if not resp.content.at_eof():
        resp.close()
    return body


def refuse_encoded(resp: aiohttp.ClientResponse, url: str, start: int) -> None:
    """Hang up on a 200 or 206 whose body is content-encoded: its offsets are not the object's."""
    encoding = resp.headers.get("Content-Encoding")
    if encoding is None or resp.status not in (200, 206):
        return
    encoding = encoding.strip().lower()
    if encoding not in ("identity", ""):
        resp.close()
        raise ResponseError(
            f"server sent a {encoding}-encoded body; byte offsets would be wrong",
            url=url,
            offset=start,
            status=resp.status,
        )


async def read_range_response(
    resp: aiohttp.ClientResponse, url: str, start: int, end: int, *, stored: bool = False
) -> RangeResult:
    """Read ``[start, end)`` from a 200, 206 or 416 answer to a ranged GET, checking it.

    ``stored``: the answer holds the stored bytes whatever its ``Content-Encoding`` says (an
    object store, where that header is metadata kept with the object: S3, Azure)."""
    status = resp.status
    headers = resp.headers
    etag = headers.get("ETag")
    if not stored:
        refuse_encoded(resp, url, start)

    if status == 206:
        try:
            part = check_partial(headers.get("Content-Range"), url, start, end)
        except ResponseError:
            resp.close()
            raise
        take = part.take
        if take == part.sent and resp.content_length in (None, part.sent):
            data = await resp.read()
        else:
            data = await read_up_to(resp.content, take)
            if not resp.content.at_eof():
                resp.close()
        if len(data) != take:
            raise short_body(url, start, len(data), take)
        return RangeResult(data, start, part.total, etag)

    if status == 416:
        cr416 = parse_content_range(headers.get("Content-Range"))
        await read_error_body(resp)
        return past_end(url, start, cr416.total if cr416 is not None else None, etag)

    if status == 200:
        return await _read_from_full_body(resp, url, start, end, etag)

    resp.close()
    raise ResponseError(f"unexpected HTTP {status}", url=url, offset=start, status=status)


async def _read_from_full_body(
    resp: aiohttp.ClientResponse, url: str, start: int, end: int, etag: str | None
) -> RangeResult:
    """The server ignored Range: skip to ``start``, read up to ``end``, then hang up."""
    length = resp.content_length
    if length is not None and start >= length:
        resp.close()
        return RangeResult(b"", start, length, etag)
    content = resp.content
    skipped = await skip_bytes(content, start)
    data = await read_up_to(content, end - start) if skipped == start else b""
    eof = content.at_eof()
    got = skipped + len(data)
    size = length if length is not None else (got if eof else None)
    if size is not None and got < min(end, size):
        raise short_body(url, start, got, min(end, size))
    if not eof:
        resp.close()  # do not download the rest of the object
    return RangeResult(data, start, size, etag, discarded=skipped)
