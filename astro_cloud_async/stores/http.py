"""HTTP(S) range reads over aiohttp, against any server that honours (or ignores) Range.

The answer checks live in :mod:`.answers` and the aiohttp plumbing in :mod:`.transport`, shared
with the object-store transports; this module adds what belongs to plain HTTP: the caller's
extra headers and credentials, ``If-Match`` pinning and, where a server gives no ETag, the
``Last-Modified`` that tells versions apart. Three ways to read, chosen by the walk from what
each host has shown it does with Range (:class:`~.capabilities.HostRanges`, fed by every
answer here): one range (:meth:`HTTPStore.get_range`), several in one request
(:meth:`HTTPStore.get_ranges`, answered as :mod:`.multirange` describes), and a body kept open
and read in order (:meth:`HTTPStore.open_stream`) for servers that ignore Range. Retrying is
the pool's business, not ours.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import aiohttp

from ..errors import ConfigurationError
from ..options import Options
from .answers import check_if_match, error_for_status, retry_after, xml_field
from .base import (
    ListPage,
    RangeResult,
    SourceKind,
    StoreBase,
    body_range,
    check_range,
    range_header,
)
from .body import BodyStream, Closer, body_of, open_body, over_budget
from .capabilities import Answer, HostRanges, RangesResult, RangeSupport
from .http1 import Http1Client, basic_auth
from .multirange import multi_range_header, read_ranges_response
from .transport import (
    client_timeout,
    lean_client,
    map_client_errors,
    read_error_body,
    read_range_response,
    refuse_encoded,
)

__all__ = ["HTTPStore", "authorization_header"]


def authorization_header(auth: object) -> str | None:
    """The ``Authorization`` value for ``Options.auth``: a ``(login, password)`` pair, an
    ``aiohttp.BasicAuth``, or a ready header value such as ``"Bearer ..."``."""
    if auth is None:
        return None
    if isinstance(auth, str):
        return auth
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(x, str) for x in auth):
        return basic_auth(*auth)
    encode = getattr(auth, "encode", None)
    if callable(encode):  # aiohttp.BasicAuth
        value = encode()
        if isinstance(value, str):
            return value
    raise ConfigurationError(
        "auth must be a (login, password) pair, an aiohttp.BasicAuth or a header value"
    )


async def _refuse_status(resp: aiohttp.ClientResponse, url: str, offset: int) -> None:
    """Raise the typed error of an answer that is not 200, 206 or 416."""
    if resp.status not in (200, 206, 416):
        # S3-compatible servers reached over plain HTTP(S) say why in XML.
        code = xml_field(await read_error_body(resp), "Code")
        wait = retry_after(resp.headers)
        raise error_for_status(resp.status, url, offset, code=code, retry_after=wait)


class HTTPStore(StoreBase):
    """Ranged GETs against any HTTP(S) server honouring (or ignoring) Range.

    ``session`` (an aiohttp session) or ``client`` (a :class:`~.http1.Http1Client`) is shared
    and never closed here when given; without either the store sends its GETs with a lean
    client of its own, made on first use and closed in :meth:`aclose`. ``hosts`` keeps what
    each host does with Range (one per store by default); the configured ``endpoint_url``
    counts as an object store, never asked for several ranges at once.
    """

    times_itself = True
    """The client bounds every wait of a request (connecting, the answer, each read of its
    body) by the options' time-outs, so the pool adds no timer of its own around each request."""

    def __init__(
        self,
        options: Options,
        session: aiohttp.ClientSession | None = None,
        *,
        hosts: HostRanges | None = None,
        client: Http1Client | None = None,
    ):
        self._options = options
        self._session = session
        self._client = client
        self._owns_client = False
        self._headers: dict[str, str] = dict(options.headers)
        self._headers["Accept-Encoding"] = "identity"
        authorization = authorization_header(options.auth)
        if authorization is not None:
            self._headers["Authorization"] = authorization
        self._timeout = client_timeout(options)
        stores = (options.endpoint_url,) if options.endpoint_url else ()
        self.hosts = hosts if hosts is not None else HostRanges(object_stores=stores)
        self._closed = False

    def _get_client(self) -> Http1Client:
        if self._client is None:
            if self._closed:
                raise ConfigurationError("HTTPStore used after aclose()")
            self._client = lean_client(self._options)
            self._owns_client = True
        return self._client

    def _get(self, url: str, headers: dict[str, str]) -> Any:
        """The GET of ``url``, entered with ``async with`` for its answer."""
        if self._session is None:
            return (self._client or self._get_client()).get(url, headers)
        return self._session.get(
            url,
            headers=headers,
            timeout=self._timeout,
            raise_for_status=False,
            auto_decompress=False,
        )

    def _request_headers(self, range_value: str, if_match: str | None) -> dict[str, str]:
        headers = self._headers.copy()
        headers["Range"] = range_value
        if if_match is not None and not if_match.startswith("W/"):
            headers["If-Match"] = if_match  # weak tags never match If-Match; checked after
        return headers

    def range_support(self, url: str) -> RangeSupport:
        """What the host of ``url`` has shown it does with Range (several ranges are only
        asked for when the ``multi_range`` option is on)."""
        support = self.hosts.support(url)
        if not self._options.multi_range and support.multi_allowed:
            return RangeSupport.SINGLE
        return support

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        check_range(url, start, end)
        headers = self._request_headers(range_header(start, end), if_match)
        with map_client_errors(url, start):
            async with self._get(url, headers) as resp:
                await _refuse_status(resp, url, start)
                result = await read_range_response(resp, url, start, end)
                status = resp.status
                if status != 416:
                    answer = Answer.PARTIAL if status == 206 else Answer.FULL
                    self.hosts.record(url, answer, resp.headers)
                if result.etag is None and "Last-Modified" in resp.headers:
                    result = dataclasses.replace(
                        result, last_modified=resp.headers["Last-Modified"]
                    )
        check_if_match(url, start, if_match, result.etag)
        return result

    async def get_ranges(
        self, url: str, ranges: Sequence[tuple[int, int]], *, if_match: str | None = None
    ) -> RangesResult:
        """Several ranges of ``url`` in one request where its host answers them.

        What the answer did not give (a server that answers one range, a range beyond the
        request's bounds) comes back in ``missing``. A host that has not shown it honours
        several ranges, or an object store, is asked for the first range only.
        """
        if not ranges:
            raise ConfigurationError("no byte range asked for", url=url)
        for start, end in ranges:
            check_range(url, start, end)
        ranges = sorted(ranges)
        if len(ranges) > 1 and self.range_support(url).multi_allowed:
            value, count = multi_range_header(ranges)
        else:
            count = 1
        if count == 1:
            one = await self.get_range(url, *ranges[0], if_match=if_match)
            return RangesResult((one,), tuple(ranges[1:]))
        asked = ranges[:count]
        start = asked[0][0]
        headers = self._request_headers(value, if_match)
        with map_client_errors(url, start):
            async with self._get(url, headers) as resp:
                await _refuse_status(resp, url, start)
                refuse_encoded(resp, url, start)
                result, answer = await read_ranges_response(resp, url, asked)
                if answer is not None:
                    self.hosts.record(url, answer, resp.headers)
                modified = resp.headers.get("Last-Modified")
        etag = result.parts[0].etag if result.parts else None
        check_if_match(url, start, if_match, etag)
        if etag is None and modified is not None:
            parts = tuple(dataclasses.replace(p, last_modified=modified) for p in result.parts)
            result = dataclasses.replace(result, parts=parts)
        if count < len(ranges):
            result = dataclasses.replace(result, missing=result.missing + tuple(ranges[count:]))
        return result

    async def open_stream(
        self,
        url: str,
        start: int,
        end: int | None = None,
        *,
        if_match: str | None = None,
        prefetch: int | None = None,
    ) -> BodyStream:
        """The body of ``url`` from byte ``start`` (to ``end``, or the end), kept open to be
        read in order; the caller closes it.

        A server that ignores Range answers with the whole object: the body then starts at
        byte 0 (``ranged`` is False). With ``end``, the bytes ``[start, end)`` (the first
        ``prefetch`` of them, when given) are read before this returns (skipping to them in a
        whole body, at most ``max_stream_bytes`` of it), so a failure on the way is the
        request's, and the body is at ``start``.
        """
        headers = self._request_headers(body_range(url, start, end), if_match)
        budget = self._options.max_stream_bytes

        async def answer(resp: aiohttp.ClientResponse, closer: Closer) -> BodyStream:
            body = await self._body(resp, url, start, end, closer)
            if end is not None and not body.ranged and end > budget:
                raise over_budget(url, start, end, budget)
            return body

        with map_client_errors(url, start):
            return await open_body(
                self._get(url, headers),
                url,
                start,
                end,
                if_match=if_match,
                prefetch=prefetch,
                answer=answer,
            )

    async def _body(
        self,
        resp: aiohttp.ClientResponse,
        url: str,
        start: int,
        end: int | None,
        closer: Closer,
    ) -> BodyStream:
        with map_client_errors(url, start):
            await _refuse_status(resp, url, start)
        headers = resp.headers
        etag = headers.get("ETag")
        modified = headers.get("Last-Modified") if etag is None else None
        body = await body_of(
            resp, url, start, end, etag=etag, last_modified=modified, closer=closer
        )
        if resp.status != 416:
            answer = Answer.PARTIAL if resp.status == 206 else Answer.FULL
            self.hosts.record(url, answer, headers)
        return body

    def source_kind(self, source: str) -> SourceKind:
        """An HTTP(S) URL always names one object: plain servers have no listing."""
        return SourceKind.OBJECT

    async def list_page(
        self,
        url_prefix: str,
        token: str | None = None,
        *,
        suffixes: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> ListPage:
        raise ConfigurationError("HTTP(S) locations cannot be listed", url=url_prefix)

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.close()

    def __repr__(self) -> str:
        if self._session is not None:
            sends = "the caller's aiohttp session"
        else:
            own = self._client is None or self._owns_client
            sends = "its own client" if own else "a shared client"
        return f"<HTTPStore sending with {sends} {self.hosts!r}>"
