"""A small HTTP/1.1 client for the GETs of plain HTTP(S) stores, on ``asyncio.Protocol``.

A scan's GETs are all alike: small ranged reads over keep-alive connections, thousands a
second on one core. aiohttp spends about 0.15 ms of CPU on each (URL objects, request and
response objects, tracing hooks, a timer per read); this client does the same work in a
fraction of that and gives the stores the same face: ``get(url, headers)`` is entered with
``async with`` for a response with ``status``, ``headers`` (case-insensitive), ``content_length``,
``content`` (``read``, ``readany``, ``at_eof``), ``read()``, ``release()`` and ``close()``.

What it does, as aiohttp would for these requests: a keep-alive pool per origin bounded per
host and overall (connections waiting idle are not counted), idle connections dropped after
:data:`KEEPALIVE` seconds, one retry of a request whose connection died before its answer
began, redirects (at most :data:`MAX_REDIRECTS`, ``Authorization`` dropped across origins),
``Content-Length``, chunked and read-to-close bodies, reading paused while a body's unread
bytes exceed :data:`HIGH_WATER`, TLS through the event loop, a connect time-out and a read
time-out between bytes (one timer per connection, moved, never remade per read), credentials
in the URL sent as Basic auth. Failures are raised as the aiohttp exceptions the stores'
error mapping already types (:func:`.transport.map_client_errors`); a malformed answer is a
:class:`MalformedAnswer`. No cookies, proxies or decompression: stores want none of them.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
from collections import deque
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urljoin

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .. import __version__

__all__ = [
    "CLOSE_WAIT",
    "HIGH_WATER",
    "KEEPALIVE",
    "MAX_HEAD",
    "MAX_REDIRECTS",
    "BodyReader",
    "Http1Client",
    "Http1Response",
    "MalformedAnswer",
    "basic_auth",
    "split_url",
]

KEEPALIVE = 15.0
"""Seconds an idle connection is kept for reuse (aiohttp's default)."""
MAX_REDIRECTS = 10
CLOSE_WAIT = 2.0
"""Seconds :meth:`Http1Client.close` waits for its connections to be closed."""
MAX_HEAD = 64 * 1024
"""Bytes allowed for an answer's status line and headers."""
HIGH_WATER = 256 * 1024
"""Unread body bytes at which the connection stops reading until the consumer catches up."""
_LOW_WATER = HIGH_WATER // 4
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = f"astro_cloud_async/{__version__}"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_REST = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*\Z")
"""A path and query sent as they are: no ``%``, ``#``, spaces or non-ASCII (yarl's work)."""
_SAFE_AUTHORITY = re.compile(r"[A-Za-z0-9\-._:\[\]]+\Z")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: (.*))?\Z")


class MalformedAnswer(Exception):
    """The server's answer is not HTTP/1.x as it must be: a bad status line, headers too
    long, a broken chunk. Carries no bytes of the answer."""


# --- URLs ---------------------------------------------------------------------------------


class _Origin:
    """Where requests go (scheme, host, port) and the connections kept to it."""

    __slots__ = ("busy", "host", "host_header", "idle", "key", "port", "tls", "waiters")

    def __init__(self, key: str, tls: bool, host: str, port: int, host_header: str) -> None:
        self.key = key
        self.tls = tls
        self.host = host
        self.port = port
        self.host_header = host_header
        self.idle: list[_Connection] = []
        self.busy = 0
        self.waiters: deque[asyncio.Future[None]] = deque()


def split_url(url: str, encoded: bool = False) -> tuple[str, str, str, int, str, str, str | None]:
    """``(scheme, host, host_header, port, origin_key, target, userinfo)`` of an absolute
    http(s) URL, as aiohttp would send it: the path and query requoted by yarl unless already
    plain (or ``encoded``: sent as they are), the fragment dropped, ``/`` for an empty path.
    Raises ``aiohttp.InvalidURL``."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        raise aiohttp.InvalidURL(url)
    slash = rest.find("/")
    query = rest.find("?")
    cut = slash if query < 0 or 0 <= slash < query else query
    authority, target = (rest, "/") if cut < 0 else (rest[:cut], rest[cut:])
    if target[0] == "?":
        target = "/" + target
    userinfo: str | None = None
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
    if encoded:
        if " " in target or not target.isascii():
            raise aiohttp.InvalidURL(url)
        if not authority or not _SAFE_AUTHORITY.match(authority):
            raise aiohttp.InvalidURL(url)
    elif (
        not authority
        or not _SAFE_AUTHORITY.match(authority)
        or not _SAFE_REST.match(target)
        or "/." in target
    ):
        return _split_with_yarl(url)
    if authority[0] == "[":
        close = authority.find("]")
        host, port_text = authority[1:close], authority[close + 1 :].lstrip(":")
        shown = authority[: close + 1]
    else:
        host, _, port_text = authority.partition(":")
        shown = host
    host = host.lower()
    try:
        port = int(port_text) if port_text else _DEFAULT_PORTS[scheme]
    except ValueError:
        raise aiohttp.InvalidURL(url) from None
    if not 0 < port < 65536 or not host:
        raise aiohttp.InvalidURL(url)
    shown = shown.lower()
    header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    return scheme, host, header, port, f"{scheme}://{header}", target, userinfo


def _split_with_yarl(url: str) -> tuple[str, str, str, int, str, str, str | None]:
    try:
        parsed = URL(url)
        host, port, scheme = parsed.raw_host, parsed.port, parsed.scheme
    except (ValueError, TypeError):
        raise aiohttp.InvalidURL(url) from None
    if not host or port is None or scheme not in _DEFAULT_PORTS:
        raise aiohttp.InvalidURL(url)
    shown = f"[{host}]" if ":" in host else host
    header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    userinfo = None
    if parsed.raw_user is not None:
        userinfo = parsed.raw_user + (
            ":" + parsed.raw_password if parsed.raw_password is not None else ""
        )
    target = parsed.raw_path_qs or "/"
    return scheme, host, header, port, f"{scheme}://{header}", target, userinfo


def basic_auth(login: str, password: str) -> str:
    """The ``Authorization`` value of HTTP Basic auth (latin-1 where it fits, else UTF-8)."""
    raw = f"{login}:{password}"
    try:
        encoded = raw.encode("latin1")
    except UnicodeEncodeError:
        encoded = raw.encode("utf-8")
    return "Basic " + base64.b64encode(encoded).decode("ascii")


def _basic(userinfo: str) -> str:
    login, _, password = userinfo.partition(":")
    return basic_auth(unquote(login), unquote(password))


# --- bodies -------------------------------------------------------------------------------


class BodyReader:
    """The body of one answer as it arrives: ``read(n)``, ``readany()``, ``at_eof()``."""

    __slots__ = ("_chunks", "_connection", "_eof", "_error", "_offset", "_size", "_waiter")

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes of the first chunk already read
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    # fed by the connection
    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)
        if self._size > HIGH_WATER:
            self._connection.pause()
        self._wake()

    def feed_eof(self) -> None:
        self._eof = True
        self._wake()

    def fail(self, error: BaseException) -> None:
        if not self._eof:
            self._error = error
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # read by the consumer
    def at_eof(self) -> bool:
        """Whether the whole body has been read."""
        return self._eof and not self._chunks

    def is_eof(self) -> bool:
        """Whether the body has ended (some of it may still be unread)."""
        return self._eof

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        waiter = self._connection.loop.create_future()
        self._waiter = waiter
        try:
            await waiter
        finally:
            self._waiter = None
        if self._error is not None and not self._chunks:
            raise self._error

    def _taken(self, size: int) -> None:
        self._size -= size
        if self._size < _LOW_WATER:
            self._connection.resume()

    async def readany(self) -> bytes:
        """What has arrived (waiting for something), or ``b""`` at the end."""
        while not self._chunks:
            if self._eof:
                return b""
            await self._wait()
        chunk = self._chunks.popleft()
        if self._offset:
            chunk = chunk[self._offset :]
            self._offset = 0
        self._taken(len(chunk))
        return chunk

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes as soon as some have arrived (``b""`` at the end); with ``n < 0``
        the rest of the body."""
        if n < 0:
            parts: list[bytes] = []
            while True:
                chunk = await self.readany()
                if not chunk:
                    return b"".join(parts)
                parts.append(chunk)
        while not self._chunks:
            if self._eof:
                return b""
            await self._wait()
        parts = []
        want = n
        chunks = self._chunks
        while chunks and want > 0:  # a chunk read in part is not copied again: an offset moves
            chunk, offset = chunks[0], self._offset
            left = len(chunk) - offset
            if left > want:
                parts.append(chunk[offset : offset + want])
                self._offset = offset + want
                want = 0
                break
            chunks.popleft()
            self._offset = 0
            parts.append(chunk[offset:] if offset else chunk)
            want -= left
        self._taken(n - want)
        return parts[0] if len(parts) == 1 else b"".join(parts)


# --- answers ------------------------------------------------------------------------------


class Http1Response:
    """One answer: status, headers and a body read from :attr:`content`."""

    __slots__ = ("_connection", "_done", "content", "headers", "reason", "status", "url", "version")

    def __init__(
        self,
        connection: _Connection,
        url: str,
        status: int,
        reason: str,
        version: int,
        headers: CIMultiDictProxy[str],
    ) -> None:
        self._connection = connection
        self.url = url
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.content = connection.body
        self._done = False

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value is not None and value.isdigit() else None

    async def read(self) -> bytes:
        """The whole (rest of the) body; the connection goes back to the pool."""
        data = await self.content.read()
        self.release()
        return data

    def release(self) -> None:
        """Done with this answer: its connection is kept if the body was read to its end
        and the server keeps it open, else closed."""
        if not self._done:
            self._done = True
            self._connection.finish(keep=True)

    def close(self) -> None:
        """Hang up: the rest of the body is not read."""
        if not self._done:
            self._done = True
            self._connection.finish(keep=False)

    async def __aenter__(self) -> Http1Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<Http1Response {self.status} {self.url}>"


# --- connections --------------------------------------------------------------------------

_IDLE, _HEAD, _BODY, _DONE = range(4)
_NO_BODY, _LENGTH, _CHUNKED, _TO_CLOSE = range(4)


class _Connection(asyncio.Protocol):
    """One keep-alive connection, answering one request at a time."""

    def __init__(self, client: Http1Client, origin: _Origin) -> None:
        self.client = client
        self.origin = origin
        self.loop = client.loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self.state = _IDLE
        self.body = BodyReader(self)
        self._head = bytearray()
        self._head_future: asyncio.Future[tuple[int, str, int, CIMultiDictProxy[str]]] | None
        self._head_future = None
        self._framing = _NO_BODY
        self._left = 0  # body bytes to come (LENGTH), or of the current chunk (CHUNKED)
        self._chunk_state = 0  # 0: size line, 1: data, 2: CRLF after data, 3: trailers
        self._pending = b""  # a chunked body's partial line
        self._keep = False
        self._paused = False
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._gone: asyncio.Future[None] | None = None

    # --- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        state = self.state
        if state == _BODY:
            self._deadline = self.loop.time() + self.client.read_timeout
            self._body_data(data)
        elif state == _HEAD:
            self._deadline = self.loop.time() + self.client.read_timeout
            self._head_data(data)
        else:  # bytes nobody asked for: the connection cannot be trusted any more
            self._keep = False
            self._hang_up()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        self._stop_timer()
        state = self.state
        if state == _IDLE and self in self.origin.idle:
            self.origin.idle.remove(self)
        elif state == _HEAD:
            self._fail_head(aiohttp.ServerDisconnectedError())
        elif state == _BODY:
            if self._framing == _TO_CLOSE:
                self._end_body()
            else:
                self.body.fail(aiohttp.ClientPayloadError("Response payload is not completed"))
        self.client._lost(self)
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)

    def lost(self) -> asyncio.Future[None]:
        """Done once the connection is closed."""
        if self._gone is None:
            self._gone = self.loop.create_future()
            if self.transport is None and self.closed:
                self._gone.set_result(None)
        return self._gone

    # --- flow control, timer
    def pause(self) -> None:
        if not self._paused and self.transport is not None and self.state == _BODY:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            if self.transport is not None:
                self.transport.resume_reading()
                self._arm()

    def _arm(self) -> None:
        self._deadline = self.loop.time() + self.client.read_timeout
        if self._timer is None:
            self._timer = self.loop.call_at(self._deadline, self._on_timer)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        """Fired at a deadline: moved on if bytes came since, a time-out if none did; an
        idle or paused connection lets the timer go (the next wait makes one)."""
        self._timer = None
        if self.state not in (_HEAD, _BODY) or self._paused or self.closed:
            return
        if self.loop.time() < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._on_timer)
            return
        error = aiohttp.SocketTimeoutError("Timeout on reading data from socket")
        if self.state == _HEAD:
            self._fail_head(error)
        else:
            self.body.fail(error)
        self._keep = False
        self._hang_up()

    # --- one request
    def send(self, request: bytes) -> asyncio.Future[tuple[int, str, int, CIMultiDictProxy[str]]]:
        """Write ``request``; the future gives the answer's head."""
        if self.transport is None or self.closed:
            raise aiohttp.ServerDisconnectedError()
        self.state = _HEAD
        self.body = BodyReader(self)
        self._head.clear()
        self._head_future = future = self.loop.create_future()
        self._keep = True
        self._arm()
        self.transport.write(request)
        return future

    def finish(self, *, keep: bool) -> None:
        """The consumer is done with the answer: back to the pool or closed."""
        if keep and self.state == _DONE and self._keep and not self.closed:
            self.state = _IDLE
            self.client._release(self, reuse=True)
            return
        self.state = _IDLE if self.state == _DONE else self.state
        self._keep = False
        self._hang_up()
        self.client._release(self, reuse=False)

    def _hang_up(self) -> None:
        self._stop_timer()
        transport = self.transport
        if transport is not None and not self.closed:
            self.closed = True
            transport.close()

    def _fail_head(self, error: BaseException) -> None:
        future = self._head_future
        self._head_future = None
        self.state = _DONE
        self._keep = False
        if future is not None and not future.done():
            future.set_exception(error)

    # --- parsing
    def _head_data(self, data: bytes) -> None:
        head: bytes | bytearray = data
        end = -1
        if not self._head:  # most answers: the whole head (and body) in the first read
            end = data.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
        if end < 0:
            head = self._head
            searched = max(0, len(head) - 3)
            head += data
            end = head.find(b"\r\n\r\n", searched)
            if end < 0 or end > MAX_HEAD:
                if len(head) > MAX_HEAD:
                    self._malformed("the answer's head is too long")
                return
        rest = bytes(head[end + 4 :])
        try:
            parsed = self._parse_head(bytes(head[:end]))
        except MalformedAnswer as err:
            self._fail_head(err)
            self._hang_up()
            return
        status, _, version, headers = parsed
        if 100 <= status < 200 and status != 101:  # an interim answer: the real one follows
            self._head = bytearray()
            if rest:
                self._head_data(rest)
            return
        try:
            self._frame(status, version, headers)
        except MalformedAnswer as err:
            self._fail_head(err)
            self._hang_up()
            return
        future = self._head_future
        self._head_future = None
        self.state = _BODY
        if future is not None and not future.done():
            future.set_result(parsed)
        if self._framing == _NO_BODY:
            self._end_body()
            if rest:
                self._keep = False
        elif rest:
            self._body_data(rest)

    def _parse_head(self, raw: bytes) -> tuple[int, str, int, CIMultiDictProxy[str]]:
        lines = raw.split(b"\r\n")
        match = _STATUS_LINE.match(lines[0])
        if match is None:
            raise MalformedAnswer("the answer does not start with an HTTP/1.x status line")
        fields: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (b" ", b"\t") and fields:  # an obsolete folded line
                folded = line.strip().decode("utf-8", "surrogateescape")
                fields[-1] = (fields[-1][0], f"{fields[-1][1]} {folded}")
                continue
            raw_name, colon, raw_value = line.partition(b":")
            if not colon or not raw_name or raw_name != raw_name.strip():
                raise MalformedAnswer("a header line of the answer is malformed")
            value = raw_value.strip().decode("utf-8", "surrogateescape")
            fields.append((raw_name.decode("latin1"), value))
        reason = (match.group(3) or b"").decode("latin1")
        return (
            int(match.group(2)),
            reason,
            int(match.group(1)),
            CIMultiDictProxy(CIMultiDict(fields)),
        )

    def _frame(self, status: int, version: int, headers: CIMultiDictProxy[str]) -> None:
        connection = headers.get("Connection", "").lower()
        self._keep = "close" not in connection and (version == 1 or "keep-alive" in connection)
        if status in (204, 304) or status < 200:
            self._framing = _NO_BODY
            return
        coding = headers.get("Transfer-Encoding")
        if coding is not None:
            if coding.rsplit(",", 1)[-1].strip().lower() != "chunked":
                self._framing = _TO_CLOSE
                self._keep = False
                return
            self._framing = _CHUNKED
            self._chunk_state = 0
            self._pending = b""
            return
        lengths = headers.getall("Content-Length", [])
        if lengths:
            values = {v.strip() for v in lengths for v in v.split(",")}
            if len(values) != 1 or not next(iter(values)).isdigit():
                raise MalformedAnswer("the answer's Content-Length is malformed")
            self._left = int(values.pop())
            self._framing = _LENGTH if self._left else _NO_BODY
            return
        self._framing = _TO_CLOSE
        self._keep = False

    def _body_data(self, data: bytes) -> None:
        framing = self._framing
        if framing == _LENGTH:
            left = self._left
            if len(data) < left:
                self._left = left - len(data)
                self.body.feed(data)
                return
            if len(data) > left:
                self._keep = False  # the server sent more than it said
                data = data[:left]
            self._left = 0
            if data:
                self.body.feed(data)
            self._end_body()
        elif framing == _CHUNKED:
            self._chunked_data(data)
        elif framing == _TO_CLOSE:
            self.body.feed(data)
        else:
            self._keep = False

    def _chunked_data(self, data: bytes) -> None:
        if self._pending:
            data = self._pending + data
            self._pending = b""
        pos = 0
        size = len(data)
        while pos < size and self.state == _BODY:
            state = self._chunk_state
            if state == 1:  # data
                take = min(self._left, size - pos)
                self.body.feed(data[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._chunk_state = 2
                continue
            end = data.find(b"\r\n", pos)
            if end < 0:
                self._pending = data[pos:]
                if len(self._pending) > MAX_HEAD:
                    self._broken_chunk()
                return
            line = data[pos:end]
            pos = end + 2
            if state == 0:  # a size line, maybe with extensions
                text = line.split(b";", 1)[0].strip()
                try:
                    self._left = int(text, 16)
                except ValueError:
                    self._broken_chunk()
                    return
                self._chunk_state = 1 if self._left else 3
            elif state == 2:  # the CRLF after a chunk's data
                if line:
                    self._broken_chunk()
                    return
                self._chunk_state = 0
            elif not line:  # state 3: trailers end with an empty line
                if pos < size:
                    self._keep = False
                self._end_body()
                return

    def _broken_chunk(self) -> None:
        self.body.fail(MalformedAnswer("the answer's chunked body is malformed"))
        self.state = _DONE
        self._keep = False
        self._hang_up()

    def _malformed(self, reason: str) -> None:
        self._fail_head(MalformedAnswer(reason))
        self._hang_up()

    def _end_body(self) -> None:
        self.state = _DONE  # the timer stays: the next request moves its deadline
        self.body.feed_eof()
        if self._paused:
            self._paused = False
            if self.transport is not None:
                self.transport.resume_reading()


# --- the client ---------------------------------------------------------------------------


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

    def __await__(self) -> Any:
        request = self._client.request(
            self._url, self._headers, redirects=self._redirects, encoded=self._encoded
        )
        return request.__await__()


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
        self._origins: dict[str, _Origin] = {}
        self._busy = 0
        self._closed = False
        self._open: set[_Connection] = set()

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
        """The GET of ``url``, entered with ``async with`` (or awaited) for its answer.

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
                headers = {**headers, "Authorization": _basic(userinfo)}
            origin = self._origins.get(key)
            if origin is None:
                origin = self._origins[key] = _Origin(
                    key, scheme == "https", host, port, host_header
                )
            response = await self._exchange(
                origin, url, _request_bytes(target, host_header, headers)
            )
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

    async def _exchange(self, origin: _Origin, url: str, request: bytes) -> Http1Response:
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
    async def _acquire(self, origin: _Origin) -> _Connection:
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
            connection.reused = True
            return connection
        try:
            return await self._connect(origin)
        except BaseException:
            origin.busy -= 1
            self._busy -= 1
            self._wake(origin)
            raise

    async def _connect(self, origin: _Origin) -> _Connection:
        connection = _Connection(self, origin)
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

    def _release(self, connection: _Connection, *, reuse: bool) -> None:
        origin = connection.origin
        origin.busy -= 1
        self._busy -= 1
        if reuse and not self._closed:
            connection.idle_since = self.loop.time()
            origin.idle.append(connection)
        self._wake(origin)

    def _lost(self, connection: _Connection) -> None:
        self._open.discard(connection)

    def _wake(self, origin: _Origin) -> None:
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

    def __repr__(self) -> str:
        return f"<Http1Client origins={len(self._origins)} busy={self._busy}>"


def _wake_one(waiters: deque[asyncio.Future[None]]) -> bool:
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return True
    return False


def _request_bytes(target: str, host: str, headers: dict[str, str]) -> bytes:
    """The request's head: ``GET target HTTP/1.1`` and its headers; a header value holding a
    line break raises ``ValueError`` (it would smuggle another header or request)."""
    lines = [f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"]
    agent = accept = False
    for name, value in headers.items():
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
            raise ValueError("a request header holds a line break")
        lower = name.lower()
        if lower == "host":
            continue
        agent = agent or lower == "user-agent"
        accept = accept or lower == "accept"
        lines.append(f"{name}: {value}\r\n")
    if not agent:
        lines.append(f"User-Agent: {_USER_AGENT}\r\n")
    if not accept:
        lines.append("Accept: */*\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8")
