"""Several ranges of one object in one request, and every way a server may answer it.

Strategy: ask ``Range: bytes=a-b,c-d,...`` (at most :data:`MAX_RANGES` ranges and
:data:`MAX_RANGE_HEADER` characters) and take whatever comes back for what it is, checked as
strictly as a single range:

* ``206 multipart/byteranges`` (nginx, Apache, Caddy): each part is read as it arrives
  (:mod:`.multipart`) and must lie over a range asked for, with the object size of the others;
* ``206`` with one Content-Range: the server merged the ranges (Apache joins neighbours), or
  only one of them lay inside the object, or it took just the first. The body is read in
  order, keeping the ranges asked for and skipping short gaps;
* ``200`` with the whole body (nginx ``max_ranges 1``, Apache ``MaxRanges 1``): read the same
  way from byte 0, but only while the next range is near (:data:`MAX_GAP`), then hang up;
* ``416``: every range starts at or past the end, when the answer's size says so; when a range
  lies inside that size, the server refused several ranges (aiohttp's file server answers them
  so); without a size (Apache), either. Every range not answered is asked again on its own.

Ranges the answer did not give come back as ``missing``, for the caller to ask again one at a
time; what the answer showed about the server is returned as an :class:`~.capabilities.Answer`
for the host's record. Ranges at or past a known end come back as empty parts.
"""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from ..errors import ResponseError
from .answers import Part, check_partial, parse_content_range, past_end, short_body
from .base import RangeResult
from .capabilities import Answer, RangesResult
from .multipart import ByteRangesParser, boundary_of
from .transport import read_error_body, read_up_to, skip_bytes

__all__ = [
    "MAX_GAP",
    "MAX_RANGES",
    "MAX_RANGE_HEADER",
    "multi_range_header",
    "read_ranges_response",
]

MAX_RANGES = 64
"""Ranges asked in one request at most (Apache refuses more than 200 by default)."""
MAX_RANGE_HEADER = 4000
"""Characters of one Range header at most (servers limit a header line to about 8 KiB)."""
MAX_GAP = 256 * 1024
"""Bytes read and dropped to reach the next range in a body that holds more than was asked."""

Ranges = Sequence[tuple[int, int]]


def multi_range_header(ranges: Ranges) -> tuple[str, int]:
    """The Range value for as many of ``ranges`` as fit the bounds, and how many that is."""
    pieces: list[str] = []
    length = len("bytes=")
    for start, end in ranges[:MAX_RANGES]:
        piece = f"{start}-{end - 1}"
        length += len(piece) + 1
        if pieces and length > MAX_RANGE_HEADER:
            break
        pieces.append(piece)
    return "bytes=" + ",".join(pieces), len(pieces)


def _within(ranges: Ranges, total: int | None) -> list[tuple[int, int]]:
    """The ranges that start inside an object of ``total`` bytes (all, when unknown)."""
    return [r for r in ranges if total is None or r[0] < total]


def _past_end(ranges: Ranges, total: int | None, etag: str | None) -> list[RangeResult]:
    if total is None:
        return []
    return [RangeResult(b"", start, total, etag) for start, _ in ranges if start >= total]


def _uncovered(
    ranges: Ranges, total: int | None, parts: Sequence[RangeResult]
) -> tuple[tuple[int, int], ...]:
    """The ranges starting inside the object (all, when its size is unknown) that no one of
    ``parts`` holds whole (up to the object's end)."""
    missing: list[tuple[int, int]] = []
    for start, end in ranges:
        if total is not None:
            if start >= total:
                continue
            want_end = min(end, total)
        else:
            want_end = end
        for p in parts:
            if p.start <= start and p.start + len(p.data) >= want_end:
                break
        else:
            missing.append((start, end))
    return tuple(missing)


async def read_ranges_response(
    resp: aiohttp.ClientResponse, url: str, ranges: Ranges
) -> tuple[RangesResult, Answer | None]:
    """Read the answer to a request for ``ranges`` (sorted, not overlapping); see the module
    docstring. The answer kind is None when it showed nothing about the server (a 416)."""
    etag = resp.headers.get("ETag")
    status = resp.status
    first = ranges[0][0]
    if status == 206:
        boundary = boundary_of(resp.headers.get("Content-Type"))
        if boundary is not None:
            return await _read_multipart(resp, url, ranges, boundary, etag), Answer.MULTIPART
        part = _single_part(resp.headers.get("Content-Range"), url, ranges)
        result = await _read_in_order(resp, url, ranges, part.first, part.last + 1, part.total)
        wanted = _within(ranges, part.total)
        if result.missing:
            return result, Answer.REFUSED
        return result, Answer.MULTIPART if len(wanted) > 1 else Answer.PARTIAL
    if status == 200:
        length = resp.content_length
        return await _read_in_order(resp, url, ranges, 0, length, length), Answer.REFUSED
    if status == 416:
        cr = parse_content_range(resp.headers.get("Content-Range"))
        await read_error_body(resp)
        total = cr.total if cr is not None else None
        if total is None:
            # Past the end, or several ranges refused? One at a time will tell.
            return RangesResult((), tuple(ranges)), None
        if all(start >= total for start, _ in ranges):
            return RangesResult(tuple(past_end(url, s, total, etag) for s, _ in ranges)), None
        # Some range lies inside the object: several ranges are refused this way (aiohttp's
        # file server does so).
        return RangesResult((), tuple(ranges)), Answer.REFUSED
    resp.close()
    raise ResponseError(f"unexpected HTTP {status}", url=url, offset=first, status=status)


def _single_part(raw: str | None, url: str, ranges: Ranges) -> Part:
    """Check the one Content-Range of a 206 to several ranges: it must answer one of them."""
    cr = parse_content_range(raw)
    if cr is not None and cr.first is not None:
        for start, end in ranges:
            if start == cr.first:
                return check_partial(raw, url, start, end)
    raise ResponseError(
        f"206 answer to several ranges holds {raw!r}, none of them",
        url=url,
        offset=ranges[0][0],
        status=206,
    )


async def _read_multipart(
    resp: aiohttp.ClientResponse, url: str, ranges: Ranges, boundary: bytes, etag: str | None
) -> RangesResult:
    span = ranges[-1][1] - ranges[0][0]
    parser = ByteRangesParser(boundary, max_part=span)
    parts: list[RangeResult] = []
    total: int | None = None
    content = resp.content
    received = kept = 0
    try:
        while not parser.done:
            chunk = await content.readany()
            if not chunk:
                parser.feed_eof()
                break
            received += len(chunk)
            for part in parser.feed(chunk):
                first, data, size = part.first, part.data, part.total
                if size is not None:
                    if total is not None and size != total:
                        raise ResponseError(
                            f"parts of one answer give sizes {total} and {size}", offset=first
                        )
                    total = size
                part_end = first + len(data)
                for start, end in ranges:
                    if first < end and part_end > start:
                        break
                else:
                    raise ResponseError(
                        f"part {first}-{part_end - 1} lies over no range asked for", offset=first
                    )
                parts.append(RangeResult(data, first, size, etag))
                kept += len(data)
    except ResponseError as err:
        resp.close()
        if err.offset is None:
            err.offset = ranges[0][0]
        raise err.with_url(url) from None
    if not content.at_eof():
        resp.close()
    parts.extend(_past_end(ranges, total, etag))
    return RangesResult(tuple(parts), _uncovered(ranges, total, parts), received - kept)


async def _read_in_order(
    resp: aiohttp.ClientResponse,
    url: str,
    ranges: Ranges,
    body_start: int,
    body_end: int | None,
    total: int | None,
) -> RangesResult:
    """Keep the ranges asked for from a body holding ``[body_start, body_end)``, in order,
    skipping at most :data:`MAX_GAP` bytes to reach each; hang up on what is left."""
    etag = resp.headers.get("ETag")
    content = resp.content
    pos = body_start
    parts: list[RangeResult] = []
    missing: list[tuple[int, int]] = []
    discarded = 0
    stopped = False
    for start, end in _within(ranges, total):
        stop = end if body_end is None else min(end, body_end)
        stopped = stopped or start > pos + MAX_GAP or stop <= start
        if stopped or start < body_start:
            missing.append((start, end))
            continue
        if start > pos:
            skipped = await skip_bytes(content, start - pos)
            discarded += skipped
            pos += skipped
            if pos < start:
                raise short_body(url, start, pos - body_start, start - body_start)
        begin = max(start, pos)
        if stop <= begin:
            continue
        data = await read_up_to(content, stop - begin)
        if len(data) < stop - begin and body_end is not None:
            raise short_body(url, begin, len(data), stop - begin)
        parts.append(RangeResult(data, begin, total, etag))
        pos = begin + len(data)
        if body_end is None and len(data) < stop - begin:
            total = pos  # a body of unknown length ended: that is the object's end
            break
    if not content.at_eof():
        resp.close()
    parts.extend(_past_end(ranges, total, etag))
    return RangesResult(tuple(parts), tuple(missing), discarded)
