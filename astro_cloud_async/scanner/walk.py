"""Driving one object: the I/O half of the sans-I/O walker.

Strategy (as httpcore drives h11): ask the walker what it needs, fetch exactly that range
through the pool, feed the answer back, and repeat until it says the object is over. All the
read policy lives in the walker; this loop only moves bytes and keeps two facts between reads:

* the object's version. The first answer's ETag is sent as ``If-Match`` on every later read
  and also compared with each answer (some servers ignore ``If-Match``), and a size that
  changes between answers is caught too, so the records of one object never mix two
  versions: a change ends the object with :class:`~astro_cloud_async.errors.ObjectChangedError`;
* what was found so far, so that a failure keeps the HDUs read before it.

An object ends in exactly one way: the tuple of all its records, or one :class:`ObjectFailed`.
Only :class:`AstroCloudError` is turned into a failure; anything else is a bug and propagates.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import AstroCloudError, ObjectChangedError
from ..fits.predict import LayoutPredictor
from ..fits.walker import HDU, NeedData, Walker
from ..options import Options
from ..records import HDURecord, ObjectFailed
from ..stores.answers import etags_match
from ..stores.base import RangeReader, RangeResult
from ..tasks import gather_all

__all__ = ["Fetcher", "ObjectOutcome", "walk_object"]

ObjectOutcome = tuple[HDURecord, ...] | ObjectFailed
"""How one object ends: all its records, or a single failure."""


class Fetcher(Protocol):
    """What the walk needs from the pool: one bounded, retried range read."""

    async def fetch(
        self,
        store: RangeReader,
        url: str,
        start: int,
        end: int,
        *,
        if_match: str | None = None,
    ) -> RangeResult: ...


def make_walker(url: str, options: Options) -> Walker:
    """A walker for ``url`` with the read policy and bounds of ``options``."""
    return Walker(
        first_read=options.first_read,
        next_read=options.next_read,
        max_header_bytes=options.max_header_bytes,
        max_hdus=options.max_hdus,
        url=url,
    )


async def walk_object(
    pool: Fetcher,
    store: RangeReader,
    url: str,
    options: Options,
    predictor: LayoutPredictor | None = None,
) -> ObjectOutcome:
    """Walk the object at ``url``; return all its records, or one :class:`ObjectFailed`.

    With a ``predictor`` that has a layout to offer, its header ranges are fetched at once
    (in parallel) before the walk, and what the walk finds is taught back to it.
    """
    walker = make_walker(url, options)
    hdus: list[HDU] = []
    etag: str | None = None
    size: int | None = None
    modified: str | None = None
    strided_at = -1
    layout = predictor.predict() if predictor is not None else None
    try:
        if predictor is not None and layout is not None:
            etag, size, modified = await _prefetch(
                pool, store, url, walker, predictor.ranges(layout)
            )
        while True:
            event = walker.next_event()
            if isinstance(event, NeedData):
                ranges = (
                    stride_ranges(hdus, event, walker.object_size) if options.predict_layout else ()
                )
                if ranges and event.start != strided_at:
                    strided_at = event.start  # once per position, whatever comes back
                    etag, size, modified = await _prefetch(
                        pool, store, url, walker, ranges, etag, size, modified
                    )
                    continue
                result = await pool.fetch(store, url, event.start, event.end, if_match=etag)
                _check_version(url, event.start, etag, size, modified, result)
                etag = etag if etag is not None else result.etag
                size = size if size is not None else result.object_size
                modified = modified if modified is not None else result.last_modified
                walker.feed(result.start, result.data, object_size=result.object_size)
            elif isinstance(event, HDU):
                hdus.append(event)
            else:
                if predictor is not None:
                    predictor.learn(hdus, predicted=layout)
                return _records(url, hdus, walker.object_size, etag, whole=True)
    except AstroCloudError as err:
        records = _records(url, hdus, walker.object_size, etag, whole=False)
        return ObjectFailed(url, err.with_url(url), records)


MAX_STRIDE_HEADERS = 128
"""Headers fetched at once when an object repeats one extension shape (a mosaic's CCDs)."""


def stride_ranges(
    hdus: list[HDU], need: NeedData, object_size: int | None
) -> tuple[tuple[int, int], ...]:
    """Header ranges to fetch at once when the object repeats one HDU shape.

    When the last two HDUs found have the same header and data sizes and the walk asks for
    the header where that stride leads (so the HDU between matched it too), the headers of the
    rest of the object (at most :data:`MAX_STRIDE_HEADERS`) probably lie at the same stride: a
    mosaic camera's 60 CCD headers then take three round trips instead of sixty. Like layout
    prediction it is prefetch only; the walker still checks every header.
    """
    if object_size is None or len(hdus) < 2:
        return ()
    last, before = hdus[-1], hdus[-2]
    stride = last.end - last.header_offset
    if (
        last.header_size != before.header_size
        or last.data_size != before.data_size
        or last.end + stride != need.start
    ):
        return ()
    count = min((object_size - need.start) // stride, MAX_STRIDE_HEADERS)
    if count < 2:
        return ()
    return tuple(
        (need.start + i * stride, need.start + i * stride + last.header_size) for i in range(count)
    )


async def _prefetch(
    pool: Fetcher,
    store: RangeReader,
    url: str,
    walker: Walker,
    ranges: tuple[tuple[int, int], ...],
    etag: str | None = None,
    size: int | None = None,
    modified: str | None = None,
) -> tuple[str | None, int | None, str | None]:
    """Fetch the predicted ``ranges`` in parallel and feed them to ``walker``.

    Returns the object's ETag, size and Last-Modified as the answers gave them. A failed fetch
    fails the object as the walk would have; a range past the end of a shorter object comes
    back empty.
    """
    results = await gather_all(
        pool.fetch(store, url, start, end, if_match=etag) for start, end in ranges
    )
    if etag is None:
        etag = next((r.etag for r in results if r.etag is not None), None)
    if size is None:
        size = next((r.object_size for r in results if r.object_size is not None), None)
    if modified is None:
        modified = next((r.last_modified for r in results if r.last_modified is not None), None)
    for result in results:
        _check_version(url, result.start, etag, size, modified, result)
        walker.feed(result.start, result.data, object_size=result.object_size)
    return etag, size, modified


def _check_version(
    url: str,
    offset: int,
    etag: str | None,
    size: int | None,
    modified: str | None,
    result: RangeResult,
) -> None:
    """Raise :class:`ObjectChangedError` when ``result`` comes from another version.

    ETags decide where there are some; without, a changed ``Last-Modified`` does."""
    if (
        etag is None
        and modified is not None
        and result.last_modified is not None
        and modified != result.last_modified
    ):
        raise ObjectChangedError(
            f"Last-Modified changed from {modified} to {result.last_modified} during the walk",
            url=url,
            offset=offset,
        )
    if etag is not None and result.etag is not None and not etags_match(etag, result.etag):
        raise ObjectChangedError(
            f"ETag changed from {etag} to {result.etag} during the walk", url=url, offset=offset
        )
    if size is not None and result.object_size is not None and size != result.object_size:
        raise ObjectChangedError(
            f"size changed from {size} to {result.object_size} bytes during the walk",
            url=url,
            offset=offset,
        )


def _records(
    url: str, hdus: list[HDU], object_size: int | None, etag: str | None, *, whole: bool
) -> tuple[HDURecord, ...]:
    """The records of ``hdus``; those of a ``whole`` object carry its HDU count."""
    n_hdus = len(hdus) if whole else None
    return tuple(
        HDURecord.from_hdu(url, hdu, object_size=object_size, etag=etag, n_hdus=n_hdus)
        for hdu in hdus
    )
