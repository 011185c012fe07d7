"""The read path as the servers see it: requests and bytes per object, and exact records.

Each kind of server gets a folder of survey-shaped objects (TESS-like frames, 61-HDU mosaics):
nginx, Apache and Caddy answering several ranges at once, nginx ``max_ranges 1`` and Apache
``MaxRanges 1`` answering one, nginx ``max_ranges 0`` ignoring Range altogether, SeaweedFS as
an S3 store, and the test server of :mod:`servers.shapes` for answers none of them gives.
Records are compared with a walk of the local files; requests and bytes are counted from the
servers' access logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import AccessLogEntry, HTTPServer, start_apache, start_caddy, start_nginx
from servers.availability import start_or_skip
from servers.s3data import upload_folder
from servers.seaweedfs import S3Server
from servers.shapes import ShapesServer

import astro_cloud_async as aca
from astro_cloud_async.demo.survey import write_mosaic_like, write_tess_ffi_like
from astro_cloud_async.fits.layout import BLOCK
from astro_cloud_async.fits.walker import HDU, NeedData, walk_file
from astro_cloud_async.scanner.walk import MAX_STRIDE_HEADERS, stride_ranges
from astro_cloud_async.stores.capabilities import RangeSupport

N_TESS = 6
N_MOSAIC = 3


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``tess/`` with six TESS-like frames, ``mosaic/`` with three 61-HDU mosaics (sparse)."""
    root = tmp_path_factory.mktemp("survey")
    for kind in ("tess", "mosaic"):
        (root / kind).mkdir()
    for i in range(N_TESS):
        write_tess_ffi_like(root / "tess" / f"tess{i:04d}.fits", seed=i)
    for i in range(N_MOSAIC):
        write_mosaic_like(root / "mosaic" / f"mosaic{i:04d}.fits", seed=i, n_ccds=60)
    return root


def _files(survey: Path, kind: str) -> list[Path]:
    return sorted((survey / kind).iterdir())


Facts = tuple[int, int, int, int, bool, int | None, tuple[str, ...]]


def _facts(records: list[aca.HDURecord]) -> list[Facts]:
    return [
        (
            r.index,
            r.header_offset,
            r.data_offset,
            r.data_size,
            r.truncated,
            r.object_size,
            tuple(c.image for c in r.cards),
        )
        for r in records
    ]


def _reference(path: Path) -> list[tuple[int, int, int, int]]:
    return [(h.index, h.header_offset, h.data_offset, h.data_size) for h in walk_file(path)]


async def _scan(urls: list[str], **options: Any) -> dict[str, list[aca.HDURecord]]:
    """Records by URL, one object at a time (so each one's requests can be told apart)."""
    out: dict[str, list[aca.HDURecord]] = {}
    async for item in aca.scan(urls, max_objects_in_flight=1, **options):
        assert isinstance(item, aca.HDURecord), item
        out.setdefault(item.url, []).append(item)
    return out


def _check_records(records: dict[str, list[aca.HDURecord]], paths: dict[str, Path]) -> None:
    assert set(records) == set(paths)
    for url, path in paths.items():
        got = [(r.index, r.header_offset, r.data_offset, r.data_size) for r in records[url]]
        assert got == _reference(path), url
        size = path.stat().st_size
        assert {r.object_size for r in records[url]} == {size}
        assert not any(r.truncated for r in records[url])


async def _scan_counted(
    server: HTTPServer, files: list[Path], **options: Any
) -> tuple[dict[str, list[aca.HDURecord]], list[list[AccessLogEntry]]]:
    """Scan ``files`` as ``server`` serves them, one at a time; check the records against the
    local files; return them and each object's requests as the server logged them."""
    paths = {server.url(p): p for p in files}
    mark = server.log_mark()
    async with aca.Client(max_objects_in_flight=1, **options) as client:
        records: dict[str, list[aca.HDURecord]] = {}
        async for item in client.scan(list(paths)):
            assert isinstance(item, aca.HDURecord), item
            records.setdefault(item.url, []).append(item)
        requests = client.stats.requests
    _check_records(records, paths)
    per: dict[str, list[AccessLogEntry]] = {}
    for e in server.access_log_entries(mark, at_least=requests):
        per.setdefault(e.path, []).append(e)
    return records, [per[url.removeprefix(server.base_url)] for url in paths]


# --- servers that answer several ranges at once ------------------------------------------------


@pytest.fixture(scope="module", params=["nginx", "apache", "caddy"])
def multi_server(request: pytest.FixtureRequest, survey: Path) -> Iterator[HTTPServer]:
    start = {"nginx": start_nginx, "apache": start_apache, "caddy": start_caddy}[request.param]
    server = start_or_skip(lambda: start(survey))
    yield server
    server.stop()


async def test_a_predicted_tess_frame_takes_one_request(
    multi_server: HTTPServer, survey: Path
) -> None:
    _, per = await _scan_counted(multi_server, _files(survey, "tess"))
    # Two frames are walked (the first read, then the jump to the last header); from then on
    # the folder's layout is known and each frame is one request for both header ranges.
    assert [len(entries) for entries in per] == [2, 2] + [1] * (N_TESS - 2)
    for (entry,) in per[2:]:
        assert entry.range == "bytes=0-20159,17775360-17786879"
        assert entry.status == 206
        assert 11 * BLOCK < entry.bytes_sent < 64 * 1024


async def test_a_mosaic_takes_two_requests_walked_and_one_predicted(
    multi_server: HTTPServer, survey: Path
) -> None:
    records, per = await _scan_counted(multi_server, _files(survey, "mosaic"))
    assert all(len(r) == 61 for r in records.values())
    # Walked: the first read (primary and first CCD), then the other 59 CCD headers at the first
    # CCD's stride in one request. Predicted (from the third on): all 60 header ranges at once.
    assert [len(entries) for entries in per] == [2, 2, 1]
    assert per[0][1].range is not None and per[0][1].range.count(",") == 58
    for entries in per:
        assert sum(e.bytes_sent for e in entries) < 61 * 5 * BLOCK


# --- servers that answer one range only -------------------------------------------------------


@pytest.fixture(scope="module", params=["nginx", "apache"])
def single_server(request: pytest.FixtureRequest, survey: Path) -> Iterator[HTTPServer]:
    start = start_nginx if request.param == "nginx" else start_apache
    server = start_or_skip(lambda: start(survey, max_ranges=1))
    yield server
    server.stop()


async def test_servers_answering_one_range_get_parallel_ranges(
    single_server: HTTPServer, survey: Path
) -> None:
    _, per = await _scan_counted(single_server, _files(survey, "tess"))
    # The first predicted frame asks both ranges at once, gets the whole body, keeps the first
    # range and asks the second alone; after that the host gets one range per request.
    assert [len(entries) for entries in per] == [2] * N_TESS
    assert sorted(e.status for e in per[2]) == [200, 206]  # (logged in either order)
    for entries in per[3:]:
        assert sorted(e.range for e in entries) == ["bytes=0-20159", "bytes=17775360-17786879"]
        assert sum(e.bytes_sent for e in entries) < 64 * 1024


# --- a server that ignores Range ------------------------------------------------------------


@pytest.fixture(scope="module")
def norange_server(survey: Path) -> Iterator[HTTPServer]:
    server = start_or_skip(lambda: start_nginx(survey, max_ranges=0))
    yield server
    server.stop()


async def test_range_ignored_one_request_per_object_and_no_more_than_its_size(
    norange_server: HTTPServer, survey: Path
) -> None:
    tess, mosaic = _files(survey, "tess")[0], _files(survey, "mosaic")[0]
    paths = {norange_server.url(tess): tess, norange_server.url(mosaic): mosaic}
    mark = norange_server.log_mark()
    async with aca.Client(max_stream_bytes=2 << 30) as client:
        records: dict[str, list[aca.HDURecord]] = {}
        for url in paths:  # one after the other: the first object of a new host too
            records[url] = await client.read_headers(url)
        stats = client.stats.snapshot()
        assert client.stores.http_store().range_support(url) is RangeSupport.NONE
    _check_records(records, paths)
    entries = norange_server.access_log_entries(mark, at_least=2)
    assert [e.status for e in entries] == [200, 200]
    assert [e.path.rsplit("/", 1)[1] for e in entries] == [tess.name, mosaic.name]
    for entry, path in zip(entries, paths.values(), strict=True):
        assert entry.bytes_sent <= path.stat().st_size
    assert stats.requests == 2
    # Read off the wire: up to the last header of each, once.
    last_headers = sum(_reference(p)[-1][2] for p in paths.values())
    assert stats.bytes + stats.discarded_bytes <= last_headers + 2 * 10 * BLOCK


async def test_range_ignored_past_the_budget_is_a_typed_failure(
    norange_server: HTTPServer, survey: Path
) -> None:
    path = _files(survey, "tess")[1]
    budget = 1 << 20
    mark = norange_server.log_mark()
    async with aca.Client(max_stream_bytes=budget) as client:
        results = [r async for r in client.scan([norange_server.url(path)])]
        stats = client.stats.snapshot()
    (failed,) = results
    assert isinstance(failed, aca.ObjectFailed)
    assert isinstance(failed.error, aca.RangeNotSupportedError)
    assert "max_stream_bytes" in str(failed.error)
    assert failed.error.offset == _reference(path)[2][1]  # where the last header starts
    # The primary, and the first image, whose header was read before the budget ran out.
    assert [r.index for r in failed.records] == [0, 1]
    assert [r.data_offset for r in failed.records] == [h[2] for h in _reference(path)[:2]]
    assert stats.bytes + stats.discarded_bytes <= budget
    (entry,) = norange_server.access_log_entries(mark, at_least=1)
    assert entry.status == 200 and entry.bytes_sent < path.stat().st_size // 2


@pytest.fixture
async def shapes(survey: Path) -> AsyncIterator[ShapesServer]:
    server = ShapesServer(survey / "tess")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.mark.parametrize("shape", ["cut-once", "chunked"])
async def test_range_ignored_answers_cut_off_or_of_unknown_length(
    shapes: ShapesServer, survey: Path, shape: str
) -> None:
    path = _files(survey, "tess")[2]
    url = shapes.url(shape, path.name)
    async with aca.Client(backoff=0.01) as client:
        records = {url: await client.read_headers(url)}
        stats = client.stats.snapshot()
    _check_records(records, {url: path})
    served = shapes.served(shape)
    # Cut off half-way, the answer is asked for again (a retry) and read to the last header.
    cut = shape == "cut-once"
    assert [s.status for s in served] == [200] * (2 if cut else 1)
    assert (stats.requests, stats.retries) == ((2, 1) if cut else (1, 0))


# --- S3 ----------------------------------------------------------------------------------------


async def test_s3_gets_one_range_per_request(s3_server: S3Server, survey: Path) -> None:
    keys = upload_folder(s3_server, survey / "tess", s3_server.public_bucket, prefix="readpath/")
    mark = s3_server.log_mark()
    urls = [s3_server.url(s3_server.public_bucket, key) for key in sorted(keys)]
    records = await _scan(urls, endpoint_url=s3_server.endpoint_url, anon=True)
    assert all(len(r) == 3 for r in records.values()) and len(records) == N_TESS
    # The same objects as plain HTTP URLs of the S3 endpoint: the answers' headers tell the
    # store it is an object store before any prediction could ask for two ranges.
    http_urls = [s3_server.http_url(s3_server.public_bucket, key) for key in sorted(keys)]
    records = await _scan(http_urls)
    _check_records(records, dict(zip(http_urls, [keys[k] for k in sorted(keys)], strict=True)))
    entries = s3_server.access_log_entries(mark, at_least=2 * (2 * 2 + 2 * (N_TESS - 2)))
    gets = [e for e in entries if "readpath/" in e.path]
    assert len(gets) == 2 * 2 * N_TESS
    assert all(e.range is not None and "," not in e.range for e in gets)


# --- the stride rule ---------------------------------------------------------------------------


def _hdu(index: int, header_offset: int, header_size: int, data_size: int) -> HDU:
    from astro_cloud_async.fits.header import parse_header

    return HDU(index, header_offset, header_offset + header_size, data_size, parse_header(b""))


CCD = 2048 * 4096 * 2


@pytest.mark.parametrize("unpadded", [False, True])
def test_stride_from_one_ccd_when_the_rest_is_whole_copies(unpadded: bool) -> None:
    primary = _hdu(0, 0, 2 * BLOCK, 0)
    first = _hdu(1, 2 * BLOCK, 4 * BLOCK, CCD)
    stride = first.end - first.header_offset
    size = first.end + 59 * stride - (stride - 4 * BLOCK - CCD if unpadded else 0)
    ranges = stride_ranges([primary], NeedData(first.end, first.end + 8 * BLOCK), size, first)
    assert len(ranges) == 59
    assert ranges[0] == (first.end, first.end + 4 * BLOCK)
    assert ranges[-1][0] == first.end + 58 * stride


def test_no_stride_when_the_rest_is_not_whole_copies() -> None:
    primary = _hdu(0, 0, BLOCK, 0)
    image = _hdu(1, BLOCK, 6 * BLOCK, 17_754_432)  # a TESS frame: one more, smaller HDU after
    size = 35_542_080
    assert stride_ranges([primary], NeedData(image.end, image.end + 8 * BLOCK), size, image) == ()
    # Nor from the primary, nor without a size.
    assert stride_ranges([], NeedData(primary.end, primary.end + BLOCK), 10**9, primary) == ()
    assert stride_ranges([primary], NeedData(image.end, image.end + BLOCK), None, image) == ()


def test_stride_from_two_in_a_row_is_bounded() -> None:
    a = _hdu(1, BLOCK, BLOCK, 10 * BLOCK)
    b = _hdu(2, a.end, BLOCK, 10 * BLOCK)
    size = b.end + 1000 * (b.end - b.header_offset) + 5  # not whole copies: two in a row decide
    ranges = stride_ranges([a], NeedData(b.end, b.end + BLOCK), size, b)
    assert len(ranges) == MAX_STRIDE_HEADERS


@pytest.mark.parametrize("shape", ["first-only", "spanning", "object-store"])
async def test_other_answers_to_several_ranges_give_exact_records(
    shapes: ShapesServer, survey: Path, shape: str
) -> None:
    """Predicted objects asked for both header ranges at once, answered with the first range
    only, one part spanning both (the whole 17 MB gap: read only as far as the first range),
    or an object store's headers (never asked for two ranges): exact records, few bytes."""
    files = _files(survey, "tess")
    urls = {shapes.url(shape, p.name): p for p in files}
    records = await _scan(list(urls))
    _check_records(records, urls)
    served = shapes.served(shape)
    several = [s for s in served if s.range is not None and "," in s.range]
    assert len(several) == (0 if shape == "object-store" else 1)  # then the host is known
    assert all(s.status in (200, 206) for s in served)
    assert sum(s.bytes_sent for s in served) < len(files) * 64 * 1024 + 17_800_000
