"""Reading a multipart/byteranges answer to several ranges, without sockets.

The answers are built here as nginx writes them (or with the parts a server might get wrong),
delivered in random chunks through a stand-in response, and what comes back is held to what
the answer holds: every part with the object's bytes, size and ETag, the ranges no part holds
reported missing, the framing counted as discarded, and malformed answers refused with the
URL and the offset of the part at fault.
"""

from __future__ import annotations

import random

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from astro_cloud_async.errors import ResponseError
from astro_cloud_async.stores.answers import INCOMPLETE_BODY
from astro_cloud_async.stores.base import RangeResult
from astro_cloud_async.stores.capabilities import Answer, RangesResult
from astro_cloud_async.stores.multirange import read_ranges_response

URL = "http://127.0.0.1:8080/tess/tess2019-s0001-1-1_ffic.fits"
BOUNDARY = "00000000000000000001"
ETAG = '"6751f1a0-10f6800"'


class _Content:
    """The body of an answer, given in the chunks it was cut into."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = [c for c in chunks if c]

    async def readany(self) -> bytes:
        return self._chunks.pop(0) if self._chunks else b""

    def at_eof(self) -> bool:
        return not self._chunks


class _Response:
    status = 206

    def __init__(self, body: bytes, chunks: list[bytes]) -> None:
        self.headers = CIMultiDictProxy(
            CIMultiDict(
                {
                    "Content-Type": f"multipart/byteranges; boundary={BOUNDARY}",
                    "Content-Length": str(len(body)),
                    "ETag": ETAG,
                }
            )
        )
        self.content_length = len(body)
        self.content = _Content(chunks)
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _body(parts: list[tuple[int, bytes, int]]) -> bytes:
    """A multipart/byteranges body as nginx writes it: ``(first, data, total)`` a part."""
    out = b""
    for first, data, total in parts:
        crange = f"bytes {first}-{first + len(data) - 1}/{total}".encode()
        out += b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type: application/octet-stream"
        out += b"\r\nContent-Range: " + crange + b"\r\n\r\n" + data
    return out + b"\r\n--" + BOUNDARY.encode() + b"--\r\n"


def _chunks(body: bytes, rng: random.Random) -> list[bytes]:
    """``body`` whole, in two pieces, or in many small ones."""
    kind = rng.choice(["whole", "two", "many"])
    if kind == "whole":
        return [body]
    if kind == "two":
        cut = rng.randint(1, len(body) - 1)
        return [body[:cut], body[cut:]]
    cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(2, 60))))
    return [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]


async def _read(
    body: bytes, ranges: list[tuple[int, int]], chunks: list[bytes] | None = None
) -> tuple[RangesResult, Answer | None, _Response]:
    resp = _Response(body, [body] if chunks is None else chunks)
    result, answer = await read_ranges_response(resp, URL, ranges)  # type: ignore[arg-type]
    return result, answer, resp


@pytest.mark.parametrize("seed", range(60))
async def test_parts_missing_ranges_and_framing_in_any_chunking(seed: int) -> None:
    rng = random.Random(seed)
    total = rng.randint(3000, 40_000)
    content = rng.randbytes(total)
    # The first range starts inside the object; the others may start past its end.
    starts = sorted({rng.randrange(0, total, 10), *rng.sample(range(0, total + 2000, 10), 4)})
    starts = starts[: rng.randint(1, len(starts))]
    ranges = [
        (s, min(s + rng.randint(1, 900), nxt))
        for s, nxt in zip(starts, [*starts[1:], 1 << 40], strict=True)
    ]
    answered: list[tuple[int, bytes, int]] = []
    for start, end in ranges:
        if start >= total or (answered and rng.random() < 0.2):
            continue  # a range past the end, or one the server left out
        stop = min(end, total)
        if rng.random() < 0.2:
            stop = rng.randint(start + 1, stop)  # a part short of the range
        answered.append((start, content[start:stop], total))
    body = _body(answered)

    result, answer, resp = await _read(body, ranges, _chunks(body, rng))

    assert answer is Answer.MULTIPART
    expected_parts = [RangeResult(data, first, total, ETAG) for first, data, _ in answered]
    expected_parts += [RangeResult(b"", s, total, ETAG) for s, _ in ranges if s >= total]
    assert list(result.parts) == expected_parts
    expected_missing = tuple(
        (s, e)
        for s, e in ranges
        if s < total and not any(f <= s and f + len(d) >= min(e, total) for f, d, _ in answered)
    )
    assert result.missing == expected_missing
    assert result.discarded == len(body) - sum(len(d) for _, d, _ in answered)
    assert not resp.closed  # read to its end


async def test_an_answer_without_a_known_size_misses_what_it_does_not_hold() -> None:
    body = _body([(0, b"a" * 100, 0)]).replace(b"/0\r\n", b"/*\r\n")
    result, _, _ = await _read(body, [(0, 100), (500, 600)])
    assert [(p.start, p.data, p.object_size) for p in result.parts] == [(0, b"a" * 100, None)]
    assert result.missing == ((500, 600),)


async def test_a_part_over_no_range_asked_for_is_refused() -> None:
    body = _body([(0, b"a" * 100, 10_000), (300, b"b" * 10, 10_000)])
    with pytest.raises(ResponseError, match="part 300-309 lies over no range") as info:
        await _read(body, [(0, 100), (500, 600)])
    assert info.value.url == URL and info.value.offset == 300


async def test_parts_giving_two_sizes_are_refused() -> None:
    body = _body([(0, b"a" * 100, 10_000), (500, b"b" * 100, 10_001)])
    with pytest.raises(ResponseError, match="sizes 10000 and 10001") as info:
        await _read(body, [(0, 100), (500, 600)])
    assert info.value.url == URL and info.value.offset == 500


@pytest.mark.parametrize("cut", [30, 200, -40, -5])
async def test_an_answer_cut_short_is_incomplete(cut: int) -> None:
    body = _body([(0, b"a" * 100, 10_000), (500, b"b" * 100, 10_000)])
    resp_body = body[:cut]
    with pytest.raises(ResponseError) as info:
        await _read(resp_body, [(0, 100), (500, 600)])
    assert info.value.code == INCOMPLETE_BODY
    assert info.value.url == URL and info.value.offset == 0


async def test_a_malformed_part_closes_the_answer() -> None:
    body = _body([(0, b"a" * 100, 10_000)]).replace(b"Content-Range:", b"X-Range:")
    resp = _Response(body, [body])
    with pytest.raises(ResponseError, match="usable Content-Range") as info:
        await read_ranges_response(resp, URL, [(0, 100), (500, 600)])  # type: ignore[arg-type]
    assert resp.closed and info.value.offset == 0 and info.value.url == URL
