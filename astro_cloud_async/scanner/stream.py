"""Feeding a walker from one body read front to back: the walk of an object whose server
ignores Range.

Strategy: such a server answers every GET with the whole object from byte 0, so each jump over
data would start the body again. Instead one answer per object is kept open
(:meth:`~astro_cloud_async.pool.RangePool.stream`) and the walker is fed from it as the walk
moves forward: data between headers is read and dropped, never kept, and the answer is closed
the moment the walk ends. An object then costs at most its size plus one read, and nothing
crosses the wire twice. Past ``max_stream_bytes`` the object fails with
:class:`~astro_cloud_async.errors.RangeNotSupportedError` before reading more.

:class:`BodyFeeder` knows nothing of HTTP: any :class:`~astro_cloud_async.stores.capabilities
.SequentialBody` serves, so a body decompressed as it arrives (a gzip object) can be walked the
same way. A body that breaks off with a retryable error is opened again where the walk stands.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Protocol

from ..errors import FetchError
from ..fits.walker import NeedData, Walker
from ..options import Options
from ..pool.retry import is_retryable
from ..stores.body import over_budget
from ..stores.capabilities import SequentialBody, StreamOpener
from .version import ObjectVersion

__all__ = ["BodyFeeder", "StreamPool"]


class StreamPool(Protocol):
    """What the feeder needs from the pool: a body opened with admission and retries."""

    def stream(
        self,
        store: StreamOpener,
        url: str,
        start: int,
        end: int | None = None,
        *,
        if_match: str | None = None,
        retry: int = 0,
        prefetch: int | None = None,
    ) -> AbstractAsyncContextManager[SequentialBody]: ...


class BodyFeeder:
    """Feeds one object's walker from open bodies, one at a time; see the module docstring.

    ``received`` counts every body byte read for the object, over all the bodies opened.
    """

    __slots__ = ("_body", "_pool", "_retries", "_stack", "_store", "_url", "options", "received")

    def __init__(self, pool: StreamPool, store: StreamOpener, url: str, options: Options) -> None:
        self._pool = pool
        self._store = store
        self._url = url
        self.options = options
        self._body: SequentialBody | None = None
        self._stack: AsyncExitStack | None = None
        self._retries = 0
        self.received = 0

    @property
    def body(self) -> SequentialBody | None:
        """The body open now, if any."""
        return self._body

    def serves(self, need: NeedData) -> bool:
        """Whether the open body can give ``need`` by reading on."""
        body = self._body
        if body is None or need.start < body.position:
            return False
        return body.end is None or need.start < body.end

    async def open(
        self,
        start: int,
        end: int | None,
        version: ObjectVersion,
        *,
        retry: int = 0,
        prefetch: int | None = None,
    ) -> SequentialBody:
        """Open a body from ``start`` (to ``end``, or the object's end), closing any other;
        ``retry`` numbers a body asked for again after one broke off, ``prefetch`` bounds what
        is read while it is opened."""
        await self.close()
        stack = AsyncExitStack()
        opener = self._pool.stream(
            self._store,
            self._url,
            start,
            end,
            if_match=version.etag,
            retry=retry,
            prefetch=prefetch,
        )
        body = await stack.enter_async_context(opener)
        self._stack, self._body = stack, body
        try:
            version.check(start, body.etag, body.object_size, body.last_modified)
        except BaseException:
            await self.close()
            raise
        return body

    async def feed(self, walker: Walker, need: NeedData, version: ObjectVersion) -> None:
        """Give ``walker`` the bytes of ``need`` from the open body (which must serve it)."""
        got = await self.read(need, version)
        if got is not None:
            walker.feed(need.start, got[0], object_size=got[1])

    async def read(self, need: NeedData, version: ObjectVersion) -> tuple[bytes, int | None] | None:
        """The bytes of ``need`` from the open body (which must serve it) and the object's
        size where the body told it; None when a body opened again after a break starts
        elsewhere (the walk asks again)."""
        body = self._body
        assert body is not None
        while True:
            try:
                data = await self._read(body, need)
                break
            except FetchError as err:
                if not is_retryable(err) or self._retries >= self.options.retries:
                    raise
            self._retries += 1
            body = await self.open(need.start, need.end, version, retry=self._retries)
            if not self.serves(need):
                return None  # the new answer starts elsewhere: the walk asks again
        size = body.object_size
        if size is None and not body.ranged and need.start + len(data) < need.end:
            size = body.position  # a whole body of unknown length ended: so does the object
        return data, size

    async def _read(self, body: SequentialBody, need: NeedData) -> bytes:
        end = need.end if body.end is None else min(need.end, body.end)
        if not body.ranged:
            # A whole body has crossed the wire up to ``end`` once read there.
            budget = self.options.max_stream_bytes
            if self.received + end > budget:
                raise over_budget(self._url, need.start, self.received + end, budget)
        await body.skip(need.start - body.position)
        return await body.read(end - need.start)

    async def close(self) -> None:
        """Close the open body, if any (hanging up unless it was read to its end)."""
        stack, body = self._stack, self._body
        self._stack = self._body = None
        if body is not None:
            self.received += body.received
        if stack is not None:
            await stack.aclose()
