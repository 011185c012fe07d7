"""Several ranges in one request, against nginx, Apache and Caddy, and every other answer shape.

Real servers give the common shapes: ``multipart/byteranges`` (all three), one merged part
(Apache joins neighbouring ranges), a plain 206 when only one range lies inside the object, a
416 when none does, and a 200 with the whole body when configured to answer one range only
(nginx ``max_ranges 1``, Apache ``MaxRanges 1``). The test server of :mod:`servers.shapes`
gives the shapes none of them produces. Every range must come back byte-identical to the file,
what an answer leaves out must be reported missing, and bodies must not be read further than
needed: what the server sent is counted from its access log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from servers import HTTPServer, start_apache, start_nginx
from servers.availability import start_or_skip
from servers.shapes import ShapesServer

from astro_cloud_async.errors import ResponseError
from astro_cloud_async.options import BLOCK, Options
from astro_cloud_async.pool import RangePool
from astro_cloud_async.scanner.walk import walk_object
from astro_cloud_async.stores.capabilities import RangesResult, RangeSupport
from astro_cloud_async.stores.http import HTTPStore
from astro_cloud_async.stores.multirange import MAX_RANGE_HEADER, MAX_RANGES

SERVERS = ["nginx_server", "apache_server", "caddy_server"]
TESS_HEADERS = [(0, 7 * BLOCK), (17_775_360, 17_775_360 + 4 * BLOCK)]


@pytest.fixture(params=SERVERS)
def http_server(request: pytest.FixtureRequest) -> HTTPServer:
    server: HTTPServer = request.getfixturevalue(request.param)
    return server


def _corpus_root(corpus: dict[str, Path]) -> Path:
    return next(iter(corpus.values())).parent


@pytest.fixture(scope="module", params=["nginx", "apache"])
def one_range_server(
    request: pytest.FixtureRequest, sample_corpus: dict[str, Path]
) -> Iterator[HTTPServer]:
    """A server that answers one range, and several with a 200 and the whole body."""
    start = start_nginx if request.param == "nginx" else start_apache
    server = start_or_skip(lambda: start(_corpus_root(sample_corpus), max_ranges=1))
    yield server
    server.stop()


async def _shaped(
    shapes: ShapesServer, shape: str, path: Path, ranges: list[tuple[int, int]]
) -> tuple[RangesResult, RangeSupport]:
    """``ranges`` of ``path`` in one request answered in ``shape``, after one first range;
    what the store then knows of the host."""
    url = shapes.url(shape, path.name)
    async with HTTPStore(Options()) as store:
        await store.get_range(url, 0, 80)
        result = await store.get_ranges(url, ranges)
        return result, store.range_support(url)


@pytest.fixture
async def shapes(sample_corpus: dict[str, Path]) -> AsyncIterator[ShapesServer]:
    server = ShapesServer(_corpus_root(sample_corpus))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _check(result: RangesResult, content: bytes, etag: str | None = None) -> None:
    """Every part holds the file's bytes at its offset, with the file's size."""
    for part in result.parts:
        assert part.data == content[part.start : part.end], part
        # (Apache's 416 does not say the size.)
        assert part.object_size == len(content) or (not part.data and part.object_size is None)
        if etag is not None:
            assert part.etag == etag


def _covers(result: RangesResult, ranges: list[tuple[int, int]], size: int) -> bool:
    return all(any(p.start <= s and p.end >= min(e, size) for p in result.parts) for s, e in ranges)


async def test_two_ranges_in_one_request(
    http_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["tess_1"]
    with path.open("rb") as f:
        content = f.read(17_775_360 + 4 * BLOCK)
    size = path.stat().st_size
    mark = http_server.log_mark()
    async with HTTPStore(Options()) as store:
        url = http_server.url(path)
        assert store.range_support(url) is RangeSupport.UNKNOWN
        first = await store.get_range(url, 0, BLOCK)  # a host answers one range first
        assert store.range_support(url) is RangeSupport.RANGES
        result = await store.get_ranges(url, TESS_HEADERS, if_match=first.etag)
        assert store.range_support(url) is RangeSupport.MULTI
    assert result.missing == ()
    assert [(p.start, p.end) for p in result.parts] == TESS_HEADERS
    for part in result.parts:
        assert part.data == content[part.start : part.end]
        assert part.object_size == size and part.etag == first.etag
    entries = http_server.access_log_entries(mark, at_least=2)
    assert [e.range for e in entries] == ["bytes=0-2879", "bytes=0-20159,17775360-17786879"]
    assert [e.status for e in entries] == [206, 206]
    framing = entries[1].bytes_sent - 11 * BLOCK
    assert result.discarded == framing and 0 < framing < 512


@pytest.mark.parametrize(
    "ranges",
    [
        [(0, 100), (100, 200)],  # neighbours: Apache answers one part 0-199
        [(0, 100), (50_000, 50_100)],  # the second past the end: a plain 206 of the first
        [(46_000, 46_180), (46_080, 46_100)],  # the first runs past the end
        [(50_000, 50_100), (60_000, 60_100)],  # both past the end: 416
        [(100, 5000), (9000, 9100), (40_000, 46_180)],  # three, the last running past the end
    ],
)
async def test_ranges_near_and_past_the_end(
    http_server: HTTPServer, sample_corpus: dict[str, Path], ranges: list[tuple[int, int]]
) -> None:
    path = sample_corpus["table"]  # 46,080 bytes
    content = path.read_bytes()
    url = http_server.url(path)
    async with HTTPStore(Options()) as store:
        await store.get_range(url, 0, 80)
        result = await store.get_ranges(url, ranges)
    _check(result, content)
    if http_server.kind == "apache" and all(s >= len(content) for s, _ in ranges):
        # Apache's 416 does not say the size: past the end, or several ranges refused? The
        # ranges are asked again one at a time.
        assert result.parts == () and result.missing == tuple(ranges)
        return
    assert result.missing == ()
    assert _covers(result, ranges, len(content))
    for start, _ in ranges:
        if start >= len(content):  # an empty part says where the object ends
            (empty,) = [p for p in result.parts if p.start == start]
            assert empty.data == b""
            assert empty.object_size in (len(content), None)  # Apache's 416 has no size


async def test_a_whole_body_is_read_only_as_far_as_the_ranges_near_its_start(
    one_range_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["tess_1"]
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(7 * BLOCK)
    url = one_range_server.url(path)
    pool = RangePool(Options())
    async with HTTPStore(pool.options) as store:
        before = one_range_server.log_mark()
        await store.get_range(url, 0, 80)
        one_range_server.access_log_entries(before, at_least=1)  # its line is written (late)
        mark = one_range_server.log_mark()
        result = await pool.fetch_ranges(store, url, TESS_HEADERS)
        assert store.range_support(url) is RangeSupport.SINGLE
        again = await store.get_ranges(url, TESS_HEADERS)  # now one range at a time
    assert [(p.start, p.data) for p in result.parts] == [(0, head)]
    assert result.missing == (TESS_HEADERS[1],)
    assert len(again.parts) == 1 and again.missing == (TESS_HEADERS[1],)
    entries = one_range_server.access_log_entries(mark, at_least=2)
    assert [e.status for e in entries] == [200, 206]
    assert entries[1].range == "bytes=0-20159"
    # Hung up after the first range: nginx got rid of what socket buffers took, far from the
    # 35 MB object. (Apache logs a 200's length whatever it could send.)
    if one_range_server.kind == "nginx":
        assert entries[0].bytes_sent < size // 4
    assert pool.stats.bytes == 7 * BLOCK and pool.stats.discarded_bytes == 0


async def test_first_range_only(shapes: ShapesServer, sample_corpus: dict[str, Path]) -> None:
    result, support = await _shaped(shapes, "first-only", sample_corpus["tess_1"], TESS_HEADERS)
    assert support is RangeSupport.SINGLE
    assert [(p.start, p.end) for p in result.parts] == [TESS_HEADERS[0]]
    assert result.missing == (TESS_HEADERS[1],)
    assert [s.bytes_sent for s in shapes.served("first-only")] == [80, 7 * BLOCK]


async def test_one_part_spanning_every_range(
    shapes: ShapesServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    near = [(0, 2 * BLOCK), (3 * BLOCK, 4 * BLOCK), (8 * BLOCK, 9 * BLOCK)]
    result, support = await _shaped(shapes, "spanning", path, near)
    assert support is RangeSupport.MULTI
    _check(result, path.read_bytes(), '"shape-v1"')
    assert [(p.start, p.end) for p in result.parts] == near
    assert result.discarded == 5 * BLOCK  # the gaps, read and dropped


async def test_one_part_spanning_a_far_range_stops_short(
    shapes: ShapesServer, sample_corpus: dict[str, Path]
) -> None:
    result, _ = await _shaped(shapes, "spanning", sample_corpus["tess_1"], TESS_HEADERS)
    assert [(p.start, p.end) for p in result.parts] == [TESS_HEADERS[0]]
    assert result.missing == (TESS_HEADERS[1],)


async def test_broken_multipart_is_a_response_error(
    shapes: ShapesServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    url = shapes.url("bad-multipart", path.name)
    async with HTTPStore(Options()) as store:
        await store.get_range(url, 0, 80)
        with pytest.raises(ResponseError, match="delimiter") as info:
            await store.get_ranges(url, [(0, 100), (200, 300), (400, 500)])
    assert info.value.url == url


async def test_object_stores_are_never_asked_for_two_ranges(
    shapes: ShapesServer, sample_corpus: dict[str, Path]
) -> None:
    # The first answer carries S3's headers.
    result, support = await _shaped(shapes, "object-store", sample_corpus["tess_1"], TESS_HEADERS)
    assert support is RangeSupport.OBJECT_STORE
    assert [(p.start, p.end) for p in result.parts] == [TESS_HEADERS[0]]
    assert result.missing == (TESS_HEADERS[1],)
    assert all("," not in (s.range or "") for s in shapes.served("object-store"))


@pytest.mark.parametrize(
    "url",
    [
        "https://mybucket.s3.us-west-2.amazonaws.com/a.fits",
        "https://storage.googleapis.com/bucket/a.fits",
        "https://acct.blob.core.windows.net/c/a.fits",
        "http://127.0.0.1:9000/bucket/a.fits",  # the configured S3 endpoint
    ],
)
def test_object_stores_are_known_by_name(url: str) -> None:
    store = HTTPStore(Options(endpoint_url="http://127.0.0.1:9000"))
    assert store.range_support(url) is RangeSupport.OBJECT_STORE
    assert store.range_support("http://127.0.0.1:9001/a.fits") is RangeSupport.UNKNOWN


async def test_a_request_holds_a_bounded_number_of_ranges(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["mosaic"]  # about 50 MB
    content_size = path.stat().st_size
    url = nginx_server.url(path)
    many = [(i * 100_003, i * 100_003 + 80) for i in range(150)]
    far = [
        (content_size - 90_000 + i * 600, content_size - 90_000 + i * 600 + 10) for i in range(130)
    ]
    mark = nginx_server.log_mark()
    async with HTTPStore(Options()) as store:
        await store.get_range(url, 0, 80)
        first = await store.get_ranges(url, many)
        second = await store.get_ranges(url, far)
    assert len(first.parts) == MAX_RANGES and first.missing == tuple(many[MAX_RANGES:])
    assert 0 < len(second.parts) < len(far)
    assert first.missing and second.missing
    entries = nginx_server.access_log_entries(mark, at_least=3)
    assert all(len(e.range or "") <= MAX_RANGE_HEADER for e in entries)


async def test_multi_range_off_asks_one_range(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    url = nginx_server.url(sample_corpus["tess_1"])
    async with HTTPStore(Options(multi_range=False)) as store:
        await store.get_range(url, 0, 80)
        assert store.range_support(url) is RangeSupport.SINGLE
        result = await store.get_ranges(url, TESS_HEADERS)
    assert result.missing == (TESS_HEADERS[1],)


async def test_a_server_refusing_several_ranges_with_416(sample_corpus: dict[str, Path]) -> None:
    """aiohttp's own file server (the demo's) answers several ranges with 416 and the size."""
    from astro_cloud_async.demo.server import serve_directory

    path = sample_corpus["tess_1"]
    async with serve_directory(path.parent) as server, HTTPStore(Options()) as store:
        url = server.url(path.name)
        await store.get_range(url, 0, 80)
        result = await store.get_ranges(url, TESS_HEADERS)
        assert store.range_support(url) is RangeSupport.SINGLE
        assert result.parts == () and result.missing == tuple(TESS_HEADERS)
        records = await walk_object(RangePool(Options()), store, url, Options())
    assert isinstance(records, tuple) and len(records) == 3
