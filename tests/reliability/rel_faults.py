"""An object server on 127.0.0.1 that serves real FITS bytes and misbehaves on demand.

Strategy: real servers cannot be told to answer 503 SlowDown three times, reset one connection
mid-body or replace an object between two ranges of one walk, so this aiohttp server can. It
runs in the test's own event loop (``web.Server``, no routing) and holds a table of objects by
path. Each object has a *schedule* (request number -> :class:`Fault`, numbered per object from
1), an optional fault for every request, and switches for ETag, If-Match and size headers. Every
fault served, every request and every body byte actually written are counted, so a test can
compare what the client says it did (its statistics) with what the server did.

A *storm* (:class:`Storm`) answers a share of every object's requests with 503 SlowDown, drawn
from a seeded generator, for a given number of requests; each request's arrival records how
many requests were being answered at that moment, so a test can see the client's concurrency
fall under the storm and rise again after it.

Bodies are produced lazily from a prefix of real bytes followed by zeros up to the object's
size, so a 1 GB object costs its header in memory. The server's own access log is off: it would
print request lines, query strings included, into the logs the secrecy tests capture.
"""

from __future__ import annotations

import asyncio
import enum
import random
import re
import socket
import struct
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate

from aiohttp import web

__all__ = ["Arrival", "Fault", "FaultServer", "ServedObject", "Storm", "s3_error_body"]

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
_CHUNK = 64 * 1024
_HEADER_STARTS = (b"SIMPLE  =", b"XTENSION=")


class Fault(enum.Enum):
    """One way of answering a request badly."""

    SLOWDOWN = "503 SlowDown"
    """503 with an S3 ``SlowDown`` XML body (retryable)."""
    ERROR_500 = "500 InternalError"
    """500 with an S3 ``InternalError`` XML body (retryable)."""
    RESET = "reset mid-body"
    """Half the body, then a TCP reset (SO_LINGER 0)."""
    SHORT = "short body"
    """Half the body, then a clean close: fewer bytes than Content-Length."""
    STALL = "stall"
    """No answer at all until the client gives up."""
    STALL_BODY = "stall mid-body"
    """Headers and half the body, then nothing until the client gives up."""
    WRONG_RANGE = "wrong Content-Range"
    """206 for another range than the one asked for (body consistent with the header)."""
    IGNORE_RANGE = "200 full body"
    """200 with the whole object, whatever Range said."""
    CHANGE = "object replaced"
    """The object gets a new version (new ETag, other bytes) just before this answer."""
    NOT_FOUND = "404 NoSuchKey"


RETRYABLE = frozenset(
    {Fault.SLOWDOWN, Fault.ERROR_500, Fault.RESET, Fault.SHORT, Fault.STALL, Fault.STALL_BODY}
)
"""Faults a client should retry."""


def s3_error_body(code: str, message: str, resource: str) -> bytes:
    """An S3-style XML error document."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<Resource>{resource}</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>"
    ).encode()


def versioned(base: bytes, version: int) -> bytes:
    """``base`` as stored in ``version``: the comment of the first card of every block that
    starts a header says which version it is (same size, same layout, other header bytes)."""
    if version == 1:
        return base
    out = bytearray(base)
    note = f"/ version {version}".ljust(50).encode()
    for off in range(0, len(out) - 80 + 1, 2880):
        if bytes(out[off : off + 9]) in _HEADER_STARTS:
            out[off + 30 : off + 80] = note
    return bytes(out)


@dataclass
class ServedObject:
    """One object: ``base`` bytes, then zeros up to ``size`` (``None``: ``len(base)``)."""

    base: bytes
    size_override: int | None = None
    schedule: dict[int, Fault] = field(default_factory=dict)
    """Request number (1-based, per object) -> fault for that request."""
    always: Fault | None = None
    honour_if_match: bool = True
    send_etag: bool = True
    weak_etag: bool = False
    hide_size: bool = False
    """Never state the size: 206 with ``bytes a-b/*``, 416 without Content-Range, 200 chunked."""
    grow_on_change: bool = False
    """A new version is one block longer (a change a size check alone can see)."""
    delay: float = 0.0
    """Seconds to wait before answering each request (to hold requests in flight)."""
    chunk: int = _CHUNK
    """Bytes per write of a body."""
    pace: float = 0.0
    """Seconds to wait between two writes of a body (a slow link)."""
    retry_after: str | None = None
    """``Retry-After`` value sent with every SlowDown answer."""
    version: int = 1
    requests: int = 0
    bytes_written: int = 0
    ranges: list[tuple[int | None, int | None]] = field(default_factory=list)
    if_match: list[str | None] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    authorization: list[str | None] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    arrived: list[float] = field(default_factory=list)
    """``time.monotonic()`` at each request's arrival."""
    _content: bytes = b""

    def __post_init__(self) -> None:
        self._content = self.base

    @property
    def size(self) -> int:
        extra = 2880 * (self.version - 1) if self.grow_on_change else 0
        return (self.size_override or len(self.base)) + extra

    @property
    def etag(self) -> str:
        tag = f'"{self.version:x}-{len(self.base):x}-{id(self) & 0xFFFF:x}"'
        return "W/" + tag if self.weak_etag else tag

    @property
    def last_modified(self) -> str:
        return formatdate(1_600_000_000 + 60 * self.version, usegmt=True)

    def new_version(self) -> None:
        self.version += 1
        self._content = versioned(self.base, self.version)

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the current version (zeros past the real bytes)."""
        end = min(end, self.size)
        if start >= end:
            return b""
        real = self._content[start:end]
        return real + bytes(end - start - len(real))

    def chunks(self, start: int, end: int) -> Iterator[bytes]:
        """``[start, end)`` in pieces of at most ``chunk`` bytes, made as they are asked for."""
        pos = start
        while pos < end:
            stop = min(end, pos + self.chunk)
            yield self.read(pos, stop)
            pos = stop


@dataclass
class Storm:
    """503 SlowDown for a share ``rate`` of the requests numbered up to ``until`` (server-wide,
    from 1), wherever no other fault is planned; drawn from ``random.Random(seed)``."""

    rate: float
    until: int
    seed: int = 0
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def strikes(self, number: int) -> bool:
        return number <= self.until and self.rng.random() < self.rate


@dataclass(frozen=True)
class Arrival:
    """One request's arrival: its number, how many were being answered with it (itself
    included), and whether the storm was still on."""

    number: int
    active: int
    storm: bool


class FaultServer:
    """The server; ``await start()``, add objects with :meth:`add`, ``await stop()``."""

    def __init__(self, *, stall_cap: float = 10.0) -> None:
        self.objects: dict[str, ServedObject] = {}
        self.served: Counter[Fault] = Counter()
        self.requests = 0
        self.active = 0
        self.max_active = 0
        self.max_connections = 0
        self.storm: Storm | None = None
        self.arrivals: list[Arrival] = []
        self.stall_cap = stall_cap
        """A stall lasts until the client hangs up, but never longer than this."""
        self.base_url = ""
        self._runner: web.ServerRunner | None = None
        self._server: web.Server | None = None

    # --- set-up ---------------------------------------------------------------------------

    async def start(self) -> FaultServer:
        self._server = web.Server(self._handle, access_log=None)
        self._runner = web.ServerRunner(self._server, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FaultServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def add(self, name: str, base: bytes, **settings: object) -> str:
        """Serve ``base`` at ``/name``; return its URL. ``settings``: :class:`ServedObject`."""
        self.objects["/" + name] = ServedObject(base, **settings)  # type: ignore[arg-type]
        return self.url(name)

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def obj(self, name: str) -> ServedObject:
        return self.objects["/" + name]

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no request is being answered (a hung-up client's writes have failed)."""
        deadline = time.monotonic() + timeout
        while self.active and time.monotonic() < deadline:  # noqa: ASYNC110  (a bounded poll)
            await asyncio.sleep(0.01)
        assert self.active == 0, f"{self.active} requests still being answered"

    @property
    def bytes_written(self) -> int:
        return sum(o.bytes_written for o in self.objects.values())

    # --- answering ------------------------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self.requests += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        storm = self.storm is not None and self.requests <= self.storm.until
        self.arrivals.append(Arrival(self.requests, self.active, storm))
        assert self._server is not None
        self.max_connections = max(self.max_connections, len(self._server.connections))
        try:
            return await self._answer(request)
        finally:
            self.active -= 1

    async def _answer(self, request: web.BaseRequest) -> web.StreamResponse:
        obj = self.objects.get(request.path)
        if obj is None:
            return web.Response(
                status=404,
                body=s3_error_body("NoSuchKey", "The specified key does not exist.", request.path),
                content_type="application/xml",
            )
        obj.requests += 1
        obj.arrived.append(time.monotonic())
        fault = obj.always or obj.schedule.get(obj.requests)
        if fault is None and self.storm is not None and self.storm.strikes(self.requests):
            fault = Fault.SLOWDOWN
        if obj.delay:
            await asyncio.sleep(obj.delay)
        if fault is not None:
            self.served[fault] += 1
        if fault is Fault.CHANGE:
            obj.new_version()
        first, last = _parse_range(request.headers.get("Range"))
        obj.ranges.append((first, last))
        obj.if_match.append(request.headers.get("If-Match"))
        obj.queries.append(request.query_string)
        obj.authorization.append(request.headers.get("Authorization"))
        resp = await self._respond(request, obj, fault, first, last)
        obj.statuses.append(resp.status)
        return resp

    async def _respond(
        self,
        request: web.BaseRequest,
        obj: ServedObject,
        fault: Fault | None,
        first: int | None,
        last: int | None,
    ) -> web.StreamResponse:
        if fault is Fault.NOT_FOUND:
            return _xml(404, "NoSuchKey", "The specified key does not exist.", request.path)
        if fault is Fault.SLOWDOWN:
            slow_down = _xml(503, "SlowDown", "Please reduce your request rate.", request.path)
            if obj.retry_after is not None:
                slow_down.headers["Retry-After"] = obj.retry_after
            return slow_down
        if fault is Fault.ERROR_500:
            return _xml(500, "InternalError", "We encountered an internal error.", request.path)
        if fault is Fault.STALL:
            await self._until_hung_up(request)
            return web.Response(status=503)
        if_match = request.headers.get("If-Match")
        if if_match is not None and obj.honour_if_match and if_match != obj.etag:
            return _xml(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                request.path,
            )
        headers = {"Accept-Ranges": "bytes", "Last-Modified": obj.last_modified}
        if obj.send_etag:
            headers["ETag"] = obj.etag
        size = obj.size
        if first is None or fault is Fault.IGNORE_RANGE:
            return await self._stream(request, obj, 200, headers, 0, size)
        if first >= size:
            if not obj.hide_size:
                headers["Content-Range"] = f"bytes */{size}"
            return web.Response(status=416, headers=headers)
        stop = size if last is None else min(last + 1, size)
        if fault is Fault.WRONG_RANGE:
            # Another range of the same length: a cache or proxy answering someone else's.
            shift = 2880 if first + 2880 < size else -min(first, 2880)
            first, stop = first + shift, min(stop + shift, size)
            if stop <= first:
                first, stop = 0, min(size, 2880)
        total = "*" if obj.hide_size else str(size)
        headers["Content-Range"] = f"bytes {first}-{stop - 1}/{total}"
        return await self._stream(request, obj, 206, headers, first, stop, fault)

    async def _stream(
        self,
        request: web.BaseRequest,
        obj: ServedObject,
        status: int,
        headers: dict[str, str],
        start: int,
        stop: int,
        fault: Fault | None = None,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(status=status, headers=headers)
        if obj.hide_size and status == 200:
            resp.enable_chunked_encoding()
        else:
            resp.content_length = stop - start
        await resp.prepare(request)
        cut = (
            start + (stop - start) // 2
            if fault in (Fault.RESET, Fault.SHORT, Fault.STALL_BODY)
            else stop
        )
        try:
            for chunk in obj.chunks(start, cut):
                if request.transport is None or request.transport.is_closing():
                    return resp
                await resp.write(chunk)
                obj.bytes_written += len(chunk)
                if obj.pace:
                    await asyncio.sleep(obj.pace)
            if fault is Fault.STALL_BODY:
                await self._until_hung_up(request)
            elif fault is Fault.RESET:
                _reset(request)
            elif fault is Fault.SHORT:
                if request.transport is not None:
                    request.transport.close()
            else:
                await resp.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client hung up: what was written is counted
        return resp

    async def _until_hung_up(self, request: web.BaseRequest) -> None:
        deadline = time.monotonic() + self.stall_cap
        while time.monotonic() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                return
            await asyncio.sleep(0.05)


def _xml(status: int, code: str, message: str, resource: str) -> web.Response:
    return web.Response(
        status=status, body=s3_error_body(code, message, resource), content_type="application/xml"
    )


def _parse_range(value: str | None) -> tuple[int | None, int | None]:
    if not value:
        return None, None
    m = _RANGE.match(value.strip())
    if m is None:
        return None, None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None)


def _reset(request: web.BaseRequest) -> None:
    """Abort the connection with a TCP RST instead of a FIN."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
