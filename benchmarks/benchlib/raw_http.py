"""A floor for the CPU of one ranged GET: a minimal keep-alive HTTP/1.1 client on
``asyncio.Protocol``, for ``bench_get_cpu.py`` only.

It does what a scan's GET needs and nothing else: one request per connection at a time,
``Content-Length`` bodies, headers split in Python, no redirects, TLS, time-outs, chunked bodies
or error mapping. So it is not a transport the package could use as is; it shows how much of a
GET's CPU is the HTTP client's own machinery (aiohttp's request and response objects, its
header and URL handling) rather than the loop and the kernel.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from astro_cloud_async.stores.base import RangeResult

__all__ = ["RawHTTPReader"]


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, dict[bytes, bytes], bytes]] | None = None
        self.head: tuple[int, dict[bytes, bytes], int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.head is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buf[:end]).split(b"\r\n")
            del self.buf[: end + 4]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            self.head = (int(lines[0].split(b" ", 2)[1]), headers, int(headers[b"content-length"]))
        status, headers, length = self.head
        if len(self.buf) >= length:
            body = bytes(self.buf[:length])
            del self.buf[:length]
            self.head = None
            waiter.set_result((status, headers, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("connection closed"))


class RawHTTPReader:
    """``get_range`` over kept-alive connections to one ``http://`` origin."""

    def __init__(self) -> None:
        self._idle: list[_Connection] = []
        self._all: list[_Connection] = []

    async def get_range(self, url: str, start: int, end: int) -> RangeResult:
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        if self._idle:
            conn = self._idle.pop()
        else:
            _, conn = await loop.create_connection(_Connection, parts.hostname, parts.port)
            self._all.append(conn)
        assert conn.transport is not None
        conn.waiter = loop.create_future()
        conn.transport.write(
            b"GET %s HTTP/1.1\r\nHost: %s\r\nRange: bytes=%d-%d\r\n"
            b"Accept-Encoding: identity\r\n\r\n"
            % (parts.path.encode(), parts.netloc.encode(), start, end - 1)
        )
        status, headers, body = await conn.waiter
        self._idle.append(conn)
        if status != 206:
            raise RuntimeError(f"HTTP {status}")
        total = headers[b"content-range"].rpartition(b"/")[2]
        etag = headers.get(b"etag")
        return RangeResult(body, start, int(total), etag.decode() if etag else None)

    async def aclose(self) -> None:
        for conn in self._all:
            if conn.transport is not None:
                conn.transport.close()
