"""One keep-alive connection (an ``asyncio.Protocol``) and the answers read from it.

The protocol parses as bytes arrive, in the callback that receives them: the head (status
line and headers, at most :data:`MAX_HEAD` bytes, interim 1xx answers skipped), then the body
framed by ``Content-Length``, chunks or the end of the connection, fed to a
:class:`~.body.BodyReader`. Its state is one of four (idle, head, body, done) and only a
connection back at idle, its answer read to the end and kept open by the server, is reused.
One timer per connection bounds each wait for bytes: data moves its deadline, and when it
fires early it is set again for the new deadline rather than remade per read.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import TYPE_CHECKING, cast

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from .body import BodyReader

if TYPE_CHECKING:
    from .client import Http1Client

__all__ = ["MAX_HEAD", "Connection", "Http1Response", "MalformedAnswer", "Origin"]

MAX_HEAD = 64 * 1024
"""Bytes allowed for an answer's status line and headers."""
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: (.*))?\Z")


class MalformedAnswer(Exception):
    """The server's answer is not HTTP/1.x as it must be: a bad status line, headers too
    long, a broken chunk. Carries no bytes of the answer."""


class Origin:
    """Where requests go (scheme, host, port) and the connections kept to it."""

    __slots__ = ("busy", "host", "host_header", "idle", "key", "port", "tls", "waiters")

    def __init__(self, key: str, tls: bool, host: str, port: int, host_header: str) -> None:
        self.key = key
        self.tls = tls
        self.host = host
        self.port = port
        self.host_header = host_header
        self.idle: list[Connection] = []
        self.busy = 0
        self.waiters: deque[asyncio.Future[None]] = deque()


class Http1Response:
    """One answer: status, headers and a body read from :attr:`content`."""

    __slots__ = ("_connection", "_done", "content", "headers", "reason", "status", "url", "version")

    def __init__(
        self,
        connection: Connection,
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


_IDLE, _HEAD, _BODY, _DONE = range(4)
_NO_BODY, _LENGTH, _CHUNKED, _TO_CLOSE = range(4)


class Connection(asyncio.Protocol):
    """One keep-alive connection, answering one request at a time."""

    def __init__(self, client: Http1Client, origin: Origin) -> None:
        self.client = client
        self.origin = origin
        self.loop = client.loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
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
        # A stream transport, though not always an asyncio.Transport subclass (uvloop's is not).
        self.transport = cast(asyncio.Transport, transport)

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
