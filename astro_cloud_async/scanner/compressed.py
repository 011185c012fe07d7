"""Walking a gzip or bzip2 object: its stored bytes read in order and inflated as they arrive.

Strategy: a compressed object has nothing to jump to. Its headers lie wherever the
decompressed stream puts them, and the only way there is through every byte before, so the
object is read front to back, once. Its stored bytes come in bounded windows
(:class:`StoredStream`: Range requests of 1 MiB, then doubling up to 8 MiB, each one body read
as it arrives, so nothing is held whole and nothing is read twice), or through the one open
answer of a server that ignores Range; :class:`~.inflate.Inflater` turns them into the FITS
stream (:class:`InflatedBody`), and the walker is fed that stream as it is fed any object,
the data between headers decompressed and dropped piece by piece. The walk goes on to the end
of the stored object: only there is it known that no HDU follows.

``max_stream_bytes`` bounds the stored (compressed) bytes read; past it the object fails with
:class:`~astro_cloud_async.errors.CompressedStreamLimitError`, keeping the records found. A
window that breaks off with a retryable error is asked for again from where the decompressor
stands (its state is kept), so nothing is decompressed twice. Pieces of more than
:data:`INLINE_MAX` bytes, and every bzip2 piece, are decompressed in a worker thread (zlib and
bz2 release the GIL while they work), so a large object does not block the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, TypeVar

from ..errors import CompressedDataError, CompressedStreamLimitError, FetchError
from ..fits.walker import NeedData, Walker
from ..options import Options
from ..pool.retry import is_retryable
from ..records import Compression
from ..stores.base import RangeReader, RangeResult
from ..stores.capabilities import SequentialBody
from .inflate import Inflater
from .stream import BodyFeeder
from .version import ObjectVersion

__all__ = [
    "INLINE_MAX",
    "READ_PIECE",
    "WINDOW_FIRST",
    "WINDOW_MAX",
    "InflatedBody",
    "RangeFetch",
    "StoredStream",
    "feed_inflated",
]

WINDOW_FIRST = 1 << 20
"""The first window of stored bytes asked for in one request; each next one is twice as long."""
WINDOW_MAX = 8 << 20
"""The longest window of stored bytes asked for in one request."""
READ_PIECE = 256 * 1024
"""Stored bytes read from a body at a time (and per request from a store that opens none)."""
INLINE_MAX = 64 * 1024
"""Decompressed bytes asked for at once below which gzip is inflated on the event loop."""

_T = TypeVar("_T")


class RangeFetch(Protocol):
    """What the stored stream asks of the pool besides the feeder's bodies: one range."""

    async def fetch(
        self, store: RangeReader, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult: ...


class StoredStream:
    """The stored bytes of one object in order, from ``position`` on: through bodies opened by
    ``feeder`` in growing windows, the first ``window`` bytes long (or the feeder's body
    already open at ``position``), or, from a store that opens no bodies, one range per
    request of :data:`READ_PIECE` bytes. A body that breaks off is asked again for the rest
    of its window, from the first byte not read yet."""

    __slots__ = (
        "_ended",
        "_feeder",
        "_options",
        "_pool",
        "_retries",
        "_store",
        "_url",
        "_version",
        "_window",
        "position",
    )

    def __init__(
        self,
        pool: RangeFetch,
        store: RangeReader,
        url: str,
        options: Options,
        version: ObjectVersion,
        *,
        feeder: BodyFeeder | None,
        position: int,
        window: int = WINDOW_FIRST,
    ) -> None:
        self._pool = pool
        self._store = store
        self._url = url
        self._options = options
        self._version = version
        self._feeder = feeder
        self._window = window
        self._ended = False
        self._retries = 0
        self.position = position

    @property
    def etag(self) -> str | None:
        return self._version.etag

    @property
    def budget(self) -> int:
        """``max_stream_bytes``: the stored bytes that may be read."""
        return self._options.max_stream_bytes

    async def read(self) -> bytes | None:
        """The next stored bytes: ``b""`` at the end of the object, None once
        ``max_stream_bytes`` of it have been read and it goes on."""
        budget = self.budget
        while True:
            at = self.position
            size = self._version.size
            if self._ended or (size is not None and at >= size):
                if size is None:
                    self._version.size = at  # a body of unknown length ended: so does the object
                return b""
            if at >= budget:
                return None
            if self._feeder is None:
                data = await self._fetch(at, budget)
            else:
                got = await self._from_body(self._feeder, at, budget)
                if got is None:
                    continue
                data = got
            self.position = at + len(data)
            return data

    async def _from_body(self, feeder: BodyFeeder, at: int, budget: int) -> bytes | None:
        """The next bytes of the open body; None when a body was (re)opened: ask again."""
        body = feeder.body
        if body is None or body.position != at or (body.end is not None and at >= body.end):
            body = await self._open(feeder, at, budget)
            if body.position != at or (body.end is not None and at >= body.end):
                self._ended = True  # nothing there (416): the object ends here
                return b""
        want = min(READ_PIECE, budget - at)
        if body.end is not None:
            want = min(want, body.end - at)
        try:
            data = await body.read(want)
        except FetchError as err:
            if not is_retryable(err) or self._retries >= self._options.retries:
                raise
            self._retries += 1
            await self._open(feeder, at, budget, retry=self._retries, end=body.end)
            return None
        if len(data) < want:
            self._ended = True  # only a body of unknown length ends short (others raise)
        return data

    async def _open(
        self, feeder: BodyFeeder, at: int, budget: int, *, retry: int = 0, end: int | None = None
    ) -> SequentialBody:
        """A body from ``at``: to ``end`` (the rest of a window that broke off), else a new
        window, within the object and the budget."""
        if end is None or end <= at:
            end = at + self._window
            self._window = min(2 * self._window, WINDOW_MAX)
        end = min(end, budget)
        size = self._version.size
        if size is not None:
            end = min(end, size)
        return await feeder.open(at, end, self._version, retry=retry, prefetch=READ_PIECE)

    async def _fetch(self, at: int, budget: int) -> bytes:
        end = min(at + READ_PIECE, budget)
        if self._version.size is not None:
            end = min(end, self._version.size)
        result = await self._pool.fetch(
            self._store, self._url, at, end, if_match=self._version.etag
        )
        self._version.check(at, result.etag, result.object_size, result.last_modified)
        if len(result.data) < end - at:
            self._ended = True
        return result.data


class InflatedBody:
    """The decompressed stream of a compressed object, read in order: a
    :class:`~astro_cloud_async.stores.capabilities.SequentialBody` whose offsets are the
    decompressed stream's. ``object_size`` is the decompressed size once the stream has
    ended, ``complete`` whether it ended whole (False: cut short inside a member).

    A damaged stream (:class:`~astro_cloud_async.errors.CompressedDataError`) ends where its
    good output ends; the error is kept in ``error``, for the walk to raise once it has
    walked what came before it."""

    __slots__ = (
        "_ended",
        "_inflater",
        "_skipped",
        "_stored",
        "_url",
        "complete",
        "error",
        "object_size",
    )

    end = None
    ranged = False
    last_modified = None

    def __init__(self, stored: StoredStream, compression: Compression, head: bytes, url: str):
        self._stored = stored
        self._inflater = Inflater(compression)
        self._inflater.feed(head)
        self._url = url
        self._ended = False
        self._skipped = 0
        self.object_size: int | None = None
        self.complete: bool | None = None
        self.error: CompressedDataError | None = None

    @property
    def compression(self) -> Compression:
        return self._inflater.compression

    @property
    def position(self) -> int:
        return self._inflater.produced

    @property
    def etag(self) -> str | None:
        return self._stored.etag

    @property
    def received(self) -> int:
        """Stored (compressed) bytes read so far."""
        return self._inflater.fed

    @property
    def skipped(self) -> int:
        """Decompressed bytes dropped."""
        return self._skipped

    async def skip(self, n: int) -> int:
        """Decompress and drop the next ``n`` bytes; return how many there were."""
        left = n
        while left > 0 and not self._ended:
            got = await self._call(self._inflater.skip, left)
            left -= 0 if got is None else got
            if left > 0 and not self._inflater.failed:
                await self._more()
        self._skipped += n - left
        return n - left

    async def read(self, n: int) -> bytes:
        """The next ``n`` decompressed bytes; fewer only where the stream ends."""
        parts: list[bytes] = []
        left = n
        while left > 0 and not self._ended:
            data = await self._call(self._inflater.read, left)
            if data:
                parts.append(data)
                left -= len(data)
            if left > 0 and not self._inflater.failed:
                await self._more()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _call(self, step: Callable[[int], _T], n: int) -> _T | None:
        """``step(n)`` (in a worker thread unless small gzip work); None where the stream
        turned out damaged (it has ended)."""
        try:
            if n <= INLINE_MAX and self._inflater.compression != "bzip2":
                return step(n)
            return await asyncio.to_thread(step, n)
        except CompressedDataError as err:
            self._end(err)
            return None

    async def _more(self) -> None:
        """Feed the inflater the next stored bytes, or end the stream."""
        if self._ended:
            return
        data = await self._stored.read()
        if data is None:
            budget = self._stored.budget
            raise CompressedStreamLimitError(
                f"this {self.compression} object's decompressed stream goes on past byte "
                f"{self.position}, and reading on would take more than "
                f"max_stream_bytes={budget} bytes of it",
                url=self._url,
                offset=self.position,
            )
        if data:
            self._inflater.feed(data)
            return
        try:
            self.complete = self._inflater.finish()
        except CompressedDataError as err:
            self._end(err)
            return
        self._end(None)

    def _end(self, error: CompressedDataError | None) -> None:
        self._ended = True
        self.object_size = self._inflater.produced
        if error is not None:
            error.with_url(self._url)
            self.error = error
            self.complete = False

    async def aclose(self) -> None:
        """Nothing of its own to close: the bodies belong to the stored stream's feeder."""

    def __repr__(self) -> str:
        return f"<InflatedBody {self._inflater!r} at {self.position} size={self.object_size}>"


async def feed_inflated(walker: Walker, need: NeedData, body: InflatedBody) -> None:
    """Give ``walker`` the decompressed bytes of ``need``, skipping (inflating and dropping)
    what lies before them; at the end of the stream, with its decompressed size."""
    if need.start < body.position:
        raise RuntimeError(f"the walk asked for bytes behind the stream: {need}")
    await body.skip(need.start - body.position)
    data = b""
    if body.position == need.start:
        data = await body.read(need.end - need.start)
    walker.feed(need.start, data, object_size=body.object_size)
