"""The body of one answer as it arrives, read by the stores as aiohttp's ``StreamReader``.

Chunks are kept as they came; a chunk read in part moves an offset instead of being copied
again. Above :data:`HIGH_WATER` unread bytes the connection stops reading from its socket
until the consumer catches up, so a server that sends a whole object is held to what
the socket buffers take.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

__all__ = ["HIGH_WATER", "BodyReader", "Flow"]

HIGH_WATER = 256 * 1024
"""Unread body bytes at which the connection stops reading until the consumer catches up."""
_LOW_WATER = HIGH_WATER // 4


class Flow(Protocol):
    """What a body asks of its connection: its loop, and to stop and resume reading."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


class BodyReader:
    """The body of one answer as it arrives: ``read(n)``, ``readany()``, ``at_eof()``."""

    __slots__ = ("_chunks", "_connection", "_eof", "_error", "_offset", "_size", "_waiter")

    def __init__(self, connection: Flow) -> None:
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
