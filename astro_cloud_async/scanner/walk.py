"""Driving one object: the I/O half of the sans-I/O walker.

Strategy (as httpcore drives h11): ask the walker what it needs, fetch it through the pool,
feed the answer back, and repeat until it says the object is over. The walker decides which
bytes; this loop decides how to fetch them, from what the object's host has shown it does with
Range (:class:`~astro_cloud_async.stores.capabilities.RangeSupport`):

* ranges known in advance (a predicted layout, the headers at an extension stride) go in one
  multi-range request where the host answers those, in parallel single ranges elsewhere (S3,
  other object stores, servers that answer one range only); what an answer leaves out is asked
  again one range at a time;
* a host that ignores Range is read through one answer kept open per object
  (:class:`~.stream.BodyFeeder`), fed to the walker as the walk moves forward. A host not heard
  from yet gets its first read that way too, so that even the first object of such a host
  costs one request;
* anything else is one range per request.

Compression is told by content: when the first bytes of an object are those of gzip or bzip2,
the walk goes on through :mod:`.compressed` (the stored bytes read in order, inflated, the
walker fed the decompressed stream from a new start), whatever the name. A name ending in
``.gz`` or ``.bz2`` only makes the first request a streamed window, so that a small compressed
object takes one request.

Two facts are kept between reads: the object's version (:class:`~.version.ObjectVersion`: the
first ETag is sent as ``If-Match`` and every answer is compared, so the records of one object
never mix two versions) and what was found so far, so that a failure keeps the HDUs read before
it. An object ends in exactly one way: the tuple of all its records, or one
:class:`ObjectFailed`. Only :class:`AstroCloudError` is turned into a failure; anything else is
a bug and propagates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..errors import AstroCloudError
from ..fits.predict import LayoutPredictor
from ..fits.walker import HDU, NeedData, Walker
from ..options import Options
from ..records import Compression, HDURecord, ObjectFailed
from ..stores.base import RangeReader, RangeResult
from ..stores.capabilities import (
    MultiRangeReader,
    RangesResult,
    RangeSupport,
    StreamOpener,
)
from ..tasks import gather_all
from .compressed import WINDOW_FIRST, InflatedBody, StoredStream, feed_inflated
from .inflate import compressed_name, sniff
from .prediction import Kind
from .stream import BodyFeeder, StreamPool
from .version import ObjectVersion

__all__ = ["MAX_STRIDE_HEADERS", "Fetcher", "ObjectOutcome", "stride_ranges", "walk_object"]

ObjectOutcome = tuple[HDURecord, ...] | ObjectFailed
"""How one object ends: all its records, or a single failure."""

Ranges = Sequence[tuple[int, int]]


class Fetcher(StreamPool, Protocol):
    """What the walk needs from the pool: bounded, retried reads of one range, of several
    ranges in one request, and of a body kept open (the last two only for stores that offer
    them)."""

    async def fetch(
        self,
        store: RangeReader,
        url: str,
        start: int,
        end: int,
        *,
        if_match: str | None = None,
    ) -> RangeResult: ...

    async def fetch_ranges(
        self,
        store: MultiRangeReader,
        url: str,
        ranges: Ranges,
        *,
        if_match: str | None = None,
    ) -> RangesResult: ...


def make_walker(url: str, options: Options) -> Walker:
    """A walker for ``url`` with the read policy and bounds of ``options``."""
    return Walker(
        first_read=options.first_read,
        next_read=options.next_read,
        max_header_bytes=options.max_header_bytes,
        max_hdus=options.max_hdus,
        url=url,
    )


_CAPABILITIES: dict[type, tuple[bool, bool]] = {}


def _capabilities(store: RangeReader) -> tuple[bool, bool]:
    """Whether ``store`` reads several ranges at once, and opens bodies (cached per class)."""
    kind = type(store)
    found = _CAPABILITIES.get(kind)
    if found is None:
        found = _CAPABILITIES[kind] = (
            isinstance(store, MultiRangeReader),
            isinstance(store, StreamOpener),
        )
    return found


class _ObjectWalk:
    """The state of one object's walk; :func:`walk_object` runs it."""

    __slots__ = (
        "_feeder",
        "_head",
        "_multi",
        "_sniffed",
        "_streams",
        "_strided_at",
        "_window",
        "compression",
        "hdus",
        "options",
        "pool",
        "store",
        "url",
        "version",
        "walker",
    )

    def __init__(self, pool: Fetcher, store: RangeReader, url: str, options: Options) -> None:
        self.pool = pool
        self.store = store
        self.url = url
        self.options = options
        self.walker = make_walker(url, options)
        self.hdus: list[HDU] = []
        self.version = ObjectVersion(url)
        multi, streams = _capabilities(store)
        self._multi: MultiRangeReader | None = store if multi else None  # type: ignore[assignment]
        self._streams: StreamOpener | None = store if streams else None  # type: ignore[assignment]
        self._feeder: BodyFeeder | None = None  # made when a body is first opened
        self._strided_at = -1
        self._sniffed = False  # the first bytes were looked at
        self._head: tuple[Compression, bytes] | None = None  # first bytes of a compressed object
        self.compression: Compression | None = None
        self._window = WINDOW_FIRST  # the next window of a compressed object's stored bytes

    def support(self) -> RangeSupport:
        multi = self._multi
        return multi.range_support(self.url) if multi is not None else RangeSupport.SINGLE

    async def run(self, predicted: Ranges) -> None:
        try:
            if self._streams is not None and compressed_name(self.url):
                await self._open_window()
            elif predicted and self.support() not in (RangeSupport.UNKNOWN, RangeSupport.NONE):
                await self.fetch_all(predicted)
            walker = self.walker
            hdus = self.hdus
            while self._head is None:
                event = walker.next_event()
                if isinstance(event, NeedData):
                    await self.need(event)
                elif isinstance(event, HDU):
                    hdus.append(event)
                else:
                    return
            await self._inflate(*self._head)
        finally:
            if self._feeder is not None:
                await self._feeder.close()

    def _feeder_for(self) -> BodyFeeder:
        feeder = self._feeder
        if feeder is None:
            assert self._streams is not None
            feeder = self._feeder = BodyFeeder(self.pool, self._streams, self.url, self.options)
        return feeder

    async def _open_window(self) -> None:
        """The first request of an object whose name says it is compressed: a window of the
        size the compressed walk reads in, its first bytes read while it is made (the walker
        reads on from it, whatever the content turns out to be)."""
        end = min(WINDOW_FIRST, self.options.max_stream_bytes)
        await self._feeder_for().open(0, end, self.version, prefetch=self.options.first_read)
        self._window = 2 * WINDOW_FIRST

    async def _inflate(self, compression: Compression, head: bytes) -> None:
        """Walk the rest of a compressed object whose first bytes are ``head``: its stored
        bytes read on in order, the walker (a new one) fed the decompressed stream."""
        self.compression = compression
        walker = self.walker = make_walker(self.url, self.options)
        feeder = self._feeder_for() if self._streams is not None else None
        stored = StoredStream(
            self.pool,
            self.store,
            self.url,
            self.options,
            self.version,
            feeder=feeder,
            position=len(head),
            window=self._window,
        )
        body = InflatedBody(stored, compression, head, self.url)
        hdus = self.hdus
        try:
            while True:
                event = walker.next_event()
                if isinstance(event, NeedData):
                    await feed_inflated(walker, event, body)
                elif isinstance(event, HDU):
                    hdus.append(event)
                else:
                    break
        except AstroCloudError as err:
            if body.error is None:
                raise
            raise body.error from err  # what the walker met is the damage's doing
        if body.error is not None:
            raise body.error  # the stream is damaged past what was walked

    def _feed(self, start: int, data: bytes, size: int | None) -> None:
        """Feed the walker, unless these are an object's first bytes and say it is compressed
        (then they are kept for :meth:`_inflate`)."""
        if start == 0 and not self._sniffed:
            self._sniffed = True
            compression = sniff(data)
            if compression is not None:
                self._head = (compression, data)
                return
        self.walker.feed(start, data, object_size=size)

    async def need(self, need: NeedData) -> None:
        if self._streams is not None and await self._streamed(need):
            return
        walker = self.walker
        if self.options.predict_layout and need.start != self._strided_at:
            ranges = stride_ranges(self.hdus, need, walker.object_size, walker.pending)
            if ranges:
                self._strided_at = need.start  # once per position, whatever comes back
                await self.fetch_all(ranges)
                return
        result = await self.pool.fetch(
            self.store, self.url, need.start, need.end, if_match=self.version.etag
        )
        self.take((result,))

    async def _streamed(self, need: NeedData) -> bool:
        """Serve ``need`` from an open body, or a new one where Range is ignored or the host
        is new; False when it is for ranged reads."""
        feeder = self._feeder
        if feeder is None or not feeder.serves(need):
            support = self.support()
            if support is not RangeSupport.NONE and support is not RangeSupport.UNKNOWN:
                if feeder is not None and feeder.body is not None:
                    await feeder.close()
                return False
            feeder = self._feeder_for()
            # Asked with the range needed: a server that ignores Range sends the whole
            # object (read on as the walk moves), one that honours it just those bytes.
            await feeder.open(need.start, need.end, self.version)
            if not feeder.serves(need):
                await feeder.close()
                return False
        got = await feeder.read(need, self.version)
        if got is not None:
            self._feed(need.start, *got)
            if self._head is not None:
                return True  # compressed: the stored bytes are read on from this body
        body = feeder.body
        if body is not None and body.ranged and body.position == body.end:
            await feeder.close()  # read to its end: the connection goes back to the pool
        return True

    async def fetch_all(self, ranges: Ranges) -> None:
        """Fetch ``ranges`` (sorted) and feed them: together where the host allows it, then
        what is still missing one range per request, in parallel."""
        pending: Ranges = ranges
        multi = self._multi
        while multi is not None and len(pending) > 1 and self.support().multi_allowed:
            answer = await self.pool.fetch_ranges(
                multi, self.url, pending, if_match=self.version.etag
            )
            self.take(answer.parts)
            if len(answer.missing) >= len(pending):
                break
            pending = answer.missing
        if pending:
            etag = self.version.etag
            results = await gather_all(
                self.pool.fetch(self.store, self.url, start, end, if_match=etag)
                for start, end in pending
            )
            self.take(results)

    def take(self, results: Sequence[RangeResult]) -> None:
        """Check the answers against the object's version, then feed them to the walker."""
        check = self.version.check
        for r in results:
            check(r.start, r.etag, r.object_size, r.last_modified)
        if self._sniffed:
            feed = self.walker.feed
            for r in results:
                feed(r.start, r.data, object_size=r.object_size)
            return
        for r in results:
            self._feed(r.start, r.data, r.object_size)
            if self._head is not None:
                return  # compressed: the other ranges asked mean nothing

    def records(self, *, whole: bool) -> tuple[HDURecord, ...]:
        """The records of the HDUs found; those of a ``whole`` object (walked to its end)
        carry its HDU count. A failed walk keeps the HDU found last too (its header read;
        whether its data are whole is unknown)."""
        url, etag, compression = self.url, self.version.etag, self.compression
        size = self.version.size if compression is not None else self.walker.object_size
        hdus = self.hdus
        pending = self.walker.pending
        if not whole and pending is not None:
            hdus = [*hdus, pending]
        n_hdus = len(hdus) if whole else None
        return tuple(
            HDURecord.from_hdu(
                url, h, object_size=size, etag=etag, n_hdus=n_hdus, compression=compression
            )
            for h in hdus
        )


async def walk_object(
    pool: Fetcher,
    store: RangeReader,
    url: str,
    options: Options,
    predictor: Kind | LayoutPredictor | None = None,
) -> ObjectOutcome:
    """Walk the object at ``url``; return all its records, or one :class:`ObjectFailed`.

    With a ``predictor`` that has a layout to offer, its header ranges are fetched at once
    (in one request where the host allows) before the walk, and what the walk finds is taught
    back to it (a compressed object teaches that its kind has nothing to prefetch). A
    :class:`Kind` may first hold the object until its scouts have taught it.
    """
    walk = _ObjectWalk(pool, store, url, options)
    scout = False
    learner: LayoutPredictor | None
    if isinstance(predictor, Kind):
        layout, scout = await predictor.layout()
        learner = predictor.predictor
    else:
        layout = predictor.predict() if predictor is not None else None
        learner = predictor
    found: list[HDU] | None = None
    try:
        predicted = learner.ranges(layout, head=options.first_read) if learner and layout else ()
        await walk.run(predicted)
        found = walk.hdus
    except AstroCloudError as err:
        return ObjectFailed(url, err.with_url(url), walk.records(whole=False))
    finally:
        reachable = walk.compression is None  # a compressed object teaches even if it failed
        if isinstance(predictor, Kind):
            predictor.finished(found, predicted=layout, scout=scout, reachable=reachable)
        elif predictor is not None and (found is not None or not reachable):
            predictor.learn(found or (), predicted=layout, reachable=reachable)
    return walk.records(whole=True)


MAX_STRIDE_HEADERS = 128
"""Headers fetched at once when an object repeats one extension shape (a mosaic's CCDs)."""


def stride_ranges(
    hdus: Sequence[HDU], need: NeedData, object_size: int | None, pending: HDU | None = None
) -> tuple[tuple[int, int], ...]:
    """Header ranges to fetch at once when the rest of the object repeats one HDU shape.

    ``pending`` is the HDU the walker has just found (its header read, what follows unknown)
    and ``need`` asks for the header after it. The rest of the object probably holds more
    HDUs of its shape, one stride (header plus padded data) apart, when either

    * the rest is exactly whole strides of it (the last one's data may be unpadded), two at
      least: a mosaic camera's CCDs after its first CCD, so 60 headers take two requests; or
    * the HDU before it had the same header and data sizes (two in a row).

    Then the headers of the rest of the object (at most :data:`MAX_STRIDE_HEADERS`) are
    fetched together. Like layout prediction it is prefetch only; the walker still checks
    every header it is fed.
    """
    if object_size is None or pending is None or pending.index == 0:
        return ()
    last, before = pending, (hdus[-1] if hdus else None)
    stride = last.end - last.header_offset
    first = need.start
    rest = object_size - first
    if last.end != first or stride <= 0 or rest <= 0:
        return ()
    whole = -(-rest // stride)
    tiles = whole >= 2 and (whole - 1) * stride + last.header_size + last.data_size <= rest
    repeated = (
        before is not None
        and before.header_size == last.header_size
        and before.data_size == last.data_size
    )
    if tiles:
        count = whole
    elif repeated:
        count = rest // stride
    else:
        return ()
    count = min(count, MAX_STRIDE_HEADERS)
    if count < 2:
        return ()
    size = last.header_size
    return tuple((first + i * stride, first + i * stride + size) for i in range(count))
