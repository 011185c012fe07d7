"""An open HTTP answer whose body is read front to back: the store side of a streamed walk.

Strategy: when a server ignores Range, every GET costs the whole object from byte 0, so the
walk keeps one answer open per object and reads it in order, skipping data without keeping it
(:mod:`astro_cloud_async.scanner.stream` drives it). :class:`BodyStream` is that answer: it
knows which bytes of the object its body holds (from byte 0 for a 200, from the range's start
for a 206), reads and skips in bounded chunks, counts what crossed the wire, and on
:meth:`aclose` returns the connection to the pool only if the body was read to its end (an
unread rest would otherwise be downloaded to drain it). Every store that speaks HTTP opens its
bodies this way (:func:`body_of` reads any answer's status and Content-Range the same way for
all of them); the same shape serves any body read in order, such as a compressed object
inflated as it arrives (:mod:`astro_cloud_async.scanner.compressed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

import aiohttp

from ..errors import RangeNotSupportedError
from .answers import check_if_match, check_partial, parse_content_range, past_end, short_body
from .transport import map_client_errors, read_error_body, read_up_to, refuse_encoded, skip_bytes

__all__ = [
    "OPEN_END",
    "BodyStream",
    "Closer",
    "body_of",
    "empty_body",
    "open_body",
    "over_budget",
]

Closer = Callable[[], Awaitable[object]]
"""Closes what a body's answer came through (a store's request context)."""

OPEN_END = 1 << 62
"""Stands for "to the end of the object" where a range needs an end."""


def over_budget(url: str, offset: int, cost: int, budget: int) -> RangeNotSupportedError:
    """The error for reading past ``max_stream_bytes`` of a server that ignores Range."""
    return RangeNotSupportedError(
        f"the server ignores Range, and reaching these bytes would take {cost} bytes of "
        f"whole-object answers, more than max_stream_bytes={budget}",
        url=url,
        offset=offset,
    )


class BodyStream:
    """The body of one answer: bytes ``[position, end)`` of the object, read in order.

    ``end`` is where the body stops (None when the answer did not say); ``ranged`` is False
    when the server ignored Range and sent the object from byte 0. Implements
    :class:`~.capabilities.SequentialBody`.
    """

    __slots__ = (
        "_closed",
        "_closer",
        "_end",
        "_held",
        "_position",
        "_received",
        "_resp",
        "_skipped",
        "_url",
        "etag",
        "last_modified",
        "object_size",
        "ranged",
    )

    def __init__(
        self,
        resp: aiohttp.ClientResponse | None,
        url: str,
        *,
        start: int,
        end: int | None,
        object_size: int | None,
        etag: str | None,
        last_modified: str | None = None,
        ranged: bool,
        closer: Closer | None = None,
    ) -> None:
        self._resp = resp
        self._closer = closer  # then called by aclose: the store's own request context
        self._url = url
        self._position = start  # of the next byte off the wire
        self._held = b""  # read ahead (prefetch), given before the wire's next bytes
        self._end = end
        self._received = 0
        self._skipped = 0
        self._closed = False
        self.object_size = object_size
        self.etag = etag
        self.last_modified = last_modified
        self.ranged = ranged

    @property
    def position(self) -> int:
        """Offset in the object of the next byte the body gives."""
        return self._position - len(self._held)

    @property
    def end(self) -> int | None:
        return self._end

    @property
    def received(self) -> int:
        """Body bytes read off the wire so far, kept or skipped."""
        return self._received

    @property
    def skipped(self) -> int:
        """Of those, the bytes skipped."""
        return self._skipped

    def _left(self, n: int) -> int:
        return n if self._end is None else max(0, min(n, self._end - self._position))

    async def prefetch(self, start: int, end: int) -> None:
        """Read bytes ``[start, end)`` now (skipping to ``start`` first), to be given by the
        next reads: a body opened for a first range fails, if it fails, while its request is
        still being made (and retried)."""
        await self.skip(start - self.position)
        data = await self.read(end - start)
        self._held = data

    def _take_held(self, n: int) -> bytes:
        held = self._held
        if len(held) <= n:
            self._held = b""
            return held
        self._held = held[n:]
        return held[:n]

    async def read(self, n: int) -> bytes:
        """The next ``n`` bytes; fewer only where the body ends."""
        if self._held:
            data = self._take_held(n)
            return data + await self.read(n - len(data)) if len(data) < n else data
        want = self._left(n)
        if want == 0 or self._resp is None:
            return b""
        start = self._position
        with map_client_errors(self._url, start):
            data = await read_up_to(self._resp.content, want)
        got = len(data)
        self._position += got
        self._received += got
        if got < want and self._end is not None:
            raise short_body(self._url, start, got, want)
        return data

    async def skip(self, n: int) -> int:
        """Read and drop the next ``n`` bytes; return how many there were."""
        if self._held:
            dropped = len(self._take_held(n))
            self._skipped += dropped
            return dropped + await self.skip(n - dropped) if dropped < n else dropped
        want = self._left(n)
        if want == 0 or self._resp is None:
            return 0
        start = self._position
        with map_client_errors(self._url, start):
            got = await skip_bytes(self._resp.content, want)
        self._position += got
        self._received += got
        self._skipped += got
        if got < want and self._end is not None:
            raise short_body(self._url, start, got, want)
        return got

    async def aclose(self) -> None:
        """Hand the connection back if the body was read to its end, else hang up."""
        if self._closed:
            return
        self._closed = True
        resp = self._resp
        try:
            if resp is not None:
                if resp.content.at_eof() or self._position == self._end:
                    resp.release()
                else:
                    resp.close()
        finally:
            if self._closer is not None:
                await self._closer()

    def __repr__(self) -> str:
        kind = "206" if self.ranged else "200"
        return (
            f"<BodyStream {kind} at {self.position} of [..{self._end}) "
            f"size={self.object_size} received={self._received}>"
        )


def empty_body(
    url: str,
    start: int,
    object_size: int | None,
    etag: str | None,
    *,
    last_modified: str | None = None,
    closer: Closer | None = None,
) -> BodyStream:
    """The body of an answer to a range at or past the end of the object: nothing to read."""
    return BodyStream(
        None,
        url,
        start=start,
        end=start,
        object_size=object_size,
        etag=etag,
        last_modified=last_modified,
        ranged=True,
        closer=closer,
    )


async def body_of(
    resp: aiohttp.ClientResponse,
    url: str,
    start: int,
    end: int | None,
    *,
    etag: str | None,
    last_modified: str | None = None,
    closer: Closer | None = None,
    stored: bool = False,
) -> BodyStream:
    """The body of a 200, 206 or 416 answer to a GET of bytes ``[start, end)`` (``end``
    None: to the end of the object), checked as every ranged answer is: a 206 must start at
    ``start``; a 200 is the whole object from byte 0; a 416 is an empty body at ``start``.
    ``closer`` is called once the body is closed (a store's request context); ``stored``:
    the body is the stored bytes whatever its ``Content-Encoding`` (an object store's)."""
    if not stored:
        refuse_encoded(resp, url, start)
    headers = resp.headers
    if resp.status == 416:
        cr = parse_content_range(headers.get("Content-Range"))
        with map_client_errors(url, start):
            await read_error_body(resp)
        empty = past_end(url, start, cr.total if cr is not None else None, etag)
        resp.release()
        return empty_body(
            url, start, empty.object_size, etag, last_modified=last_modified, closer=closer
        )
    if resp.status == 206:
        part = check_partial(
            headers.get("Content-Range"), url, start, OPEN_END if end is None else end
        )
        return BodyStream(
            resp,
            url,
            start=start,
            end=part.first + part.take,
            object_size=part.total,
            etag=etag,
            last_modified=last_modified,
            ranged=True,
            closer=closer,
        )
    length = resp.content_length
    return BodyStream(
        resp,
        url,
        start=0,
        end=length,
        object_size=length,
        etag=etag,
        last_modified=last_modified,
        ranged=False,
        closer=closer,
    )


async def open_body(
    request: AbstractAsyncContextManager[aiohttp.ClientResponse],
    url: str,
    start: int,
    end: int | None,
    *,
    if_match: str | None,
    prefetch: int | None,
    answer: Callable[[aiohttp.ClientResponse, Closer], Awaitable[BodyStream]],
) -> BodyStream:
    """A store's GET of bytes ``[start, end)`` made a body kept open (``open_stream``).

    ``request`` is the store's request context (entered here, left when the body is closed),
    ``answer`` reads its answer as that store does (status table, headers) into a body. The
    body's ETag is held against ``if_match``, and with ``end`` its first bytes (all of them,
    or the first ``prefetch``) are read before it is returned, so that a failure on the way
    belongs to the request. On any failure the answer is closed."""
    stack = AsyncExitStack()
    resp = await stack.enter_async_context(request)
    try:
        body = await answer(resp, stack.aclose)
        check_if_match(url, start, if_match, body.etag)
        if end is not None:
            ahead = end - start if prefetch is None else min(prefetch, end - start)
            await body.prefetch(start, start + ahead)
    except BaseException:
        resp.close()
        await stack.aclose()
        raise
    return body
