"""The client: a keep-alive pool per origin, requests, redirects and the retry of a request
whose kept connection had died.

Bookkeeping is synchronous: a request takes a turn (at most ``limit_per_host`` to an origin,
``limit`` overall; idle connections do not count), reuses the connection that went idle last
or opens one, and gives its turn back when its answer is released. A freed turn wakes the
oldest waiter of the same origin first.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from types import TracebackType
from urllib.parse import urljoin

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .connection import Connection, Http1Response, Origin
from .urls import request_head, split_url, url_credentials

__all__ = ["CLOSE_WAIT", "KEEPALIVE", "MAX_REDIRECTS", "Http1Client"]

KEEPALIVE = 15.0
"""Seconds an idle connection is kept for reuse (aiohttp's default)."""
MAX_REDIRECTS = 10
CLOSE_WAIT = 2.0
"""Seconds :meth:`Http1Client.close` waits for its connections to be closed."""
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Request:
    """``async with client.get(url, headers) as response``."""

    __slots__ = ("_client", "_encoded", "_headers", "_redirects", "_response", "_url")

    def __init__(
        self,
        client: Http1Client,
        url: str,
        headers: dict[str, str],
        redirects: bool,
        encoded: bool,
    ) -> None:
        self._client = client
        self._url = url
        self._headers = headers
        self._redirects = redirects
        self._encoded = encoded
        self._response: Http1Response | None = None

    async def __aenter__(self) -> Http1Response:
        self._response = await self._client.request(
            self._url, self._headers, redirects=self._redirects, encoded=self._encoded
        )
        return self._response

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            self._response.release()  # kept only if its body was read to the end


class Http1Client:
    """Keep-alive connections to any number of origins; GET only; one event loop's.

    ``limit_per_host`` and ``limit`` bound the requests in flight (to one origin, overall);
    ``connect_timeout`` bounds making a connection (TLS included) and ``read_timeout`` each
    wait for bytes of an answer.
    """

    def __init__(
        self,
        *,
        limit: int,
        limit_per_host: int,
        connect_timeout: float,
        read_timeout: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self.limit = limit
        self.limit_per_host = limit_per_host
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._ssl = ssl_context
        self._origins: dict[str, Origin] = {}
        self._busy = 0
        self._closed = False
        self._open: set[Connection] = set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop of the first request (the client may be made outside a loop)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        return loop

    @property
    def closed(self) -> bool:
        return self._closed

    def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        redirects: bool = True,
        encoded: bool = False,
    ) -> _Request:
        """The GET of ``url``, entered with ``async with`` for its answer.

        ``redirects``: follow them (else a 3xx is the answer); ``encoded``: the URL's path and
        query are sent exactly as given (a signed request's), never requoted."""
        return _Request(self, url, headers or {}, redirects, encoded)

    async def request(
        self,
        url: str,
        headers: dict[str, str],
        *,
        redirects: bool = True,
        encoded: bool = False,
    ) -> Http1Response:
        """Send a GET of ``url`` and wait for its answer's head (see :meth:`get`)."""
        if self._closed:
            raise aiohttp.ClientConnectionError("the client is closed")
        for _ in range(MAX_REDIRECTS + 1):
            scheme, host, host_header, port, key, target, userinfo = split_url(url, encoded)
            if userinfo is not None:
                if any(name.lower() == "authorization" for name in headers):
                    raise ValueError("credentials in the URL and an Authorization header")
                headers = {**headers, "Authorization": url_credentials(userinfo)}
            origin = self._origins.get(key)
            if origin is None:
                origin = self._origins[key] = Origin(
                    key, scheme == "https", host, port, host_header
                )
            response = await self._exchange(origin, url, request_head(target, host_header, headers))
            if not redirects or response.status not in _REDIRECTS:
                return response
            location = response.headers.get("Location")
            if location is None:
                return response
            response.release()  # kept if its body has all come, else closed
            new_url = urljoin(url, location.strip())
            try:
                new_key = split_url(new_url)[4]
            except aiohttp.InvalidURL:
                raise aiohttp.InvalidUrlRedirectClientError(
                    location, "not an HTTP(S) URL"
                ) from None
            if new_key != key:
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = new_url
        raise aiohttp.TooManyRedirects(
            aiohttp.RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict())),
            (),
            status=response.status,
            message="too many redirects",
        )

    async def _exchange(self, origin: Origin, url: str, request: bytes) -> Http1Response:
        """One request on one connection; once more on a new one if the connection died
        before any answer came (a kept connection the server had just closed)."""
        retried = False
        while True:
            connection = await self._acquire(origin)
            try:
                head = await connection.send(request)
            except (aiohttp.ServerDisconnectedError, ConnectionError):
                connection.finish(keep=False)
                if retried:
                    raise
                retried = True
                continue
            except BaseException:
                connection.finish(keep=False)
                raise
            status, reason, version, headers = head
            return Http1Response(connection, url, status, reason, version, headers)

    # --- the pool
    async def _acquire(self, origin: Origin) -> Connection:
        while origin.busy >= self.limit_per_host or self._busy >= self.limit:
            waiter = self.loop.create_future()
            origin.waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in origin.waiters:
                    origin.waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake(origin)  # pass the turn on
                raise
        origin.busy += 1
        self._busy += 1
        idle = origin.idle
        now = self.loop.time()
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            if now - connection.idle_since > KEEPALIVE:
                connection._hang_up()
                continue
            return connection
        try:
            return await self._connect(origin)
        except BaseException:
            origin.busy -= 1
            self._busy -= 1
            self._wake(origin)
            raise

    async def _connect(self, origin: Origin) -> Connection:
        connection = Connection(self, origin)
        tls: ssl.SSLContext | None = None
        if origin.tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            tls = self._ssl
        opening = self.loop.create_connection(
            lambda: connection,
            origin.host,
            origin.port,
            ssl=tls,
            server_hostname=origin.host if tls is not None else None,
        )
        try:
            await asyncio.wait_for(opening, self.connect_timeout)
        except asyncio.TimeoutError:
            raise aiohttp.ConnectionTimeoutError(
                f"Connection timeout to host {origin.key}"
            ) from None
        self._open.add(connection)
        return connection

    def _release(self, connection: Connection, *, reuse: bool) -> None:
        origin = connection.origin
        origin.busy -= 1
        self._busy -= 1
        if reuse and not self._closed:
            connection.idle_since = self.loop.time()
            origin.idle.append(connection)
        self._wake(origin)

    def _lost(self, connection: Connection) -> None:
        self._open.discard(connection)

    def _wake(self, origin: Origin) -> None:
        """Give a freed turn to a request waiting for ``origin``, else (the overall bound
        may have held it) to one waiting for another origin."""
        if _wake_one(origin.waiters) or len(self._origins) == 1:
            return
        for other in self._origins.values():
            if _wake_one(other.waiters):
                return

    async def close(self) -> None:
        """Close every connection and wait (a little) until they are; requests in flight
        fail."""
        self._closed = True
        for origin in self._origins.values():
            origin.idle.clear()
        gone = []
        for connection in list(self._open):
            connection._hang_up()
            gone.append(connection.lost())
        if gone:
            await asyncio.wait(gone, timeout=CLOSE_WAIT)
        self._open.clear()

    async def __aenter__(self) -> Http1Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<Http1Client origins={len(self._origins)} busy={self._busy}>"


def _wake_one(waiters: deque[asyncio.Future[None]]) -> bool:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return True
    return False
