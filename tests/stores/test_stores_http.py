"""The HTTP store against real servers (nginx, Apache, Caddy) and the fault server.

Each server serves the same sample corpus, so every range must come back byte-identical to
the file on disk, with the object size each answer states. Range-disabled nginx answers 200
with the whole body: its access log shows how much it actually sent.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from servers import HTTPServer
from servers.faults import BODY, FaultServer

from astro_cloud_async.errors import (
    ConfigurationError,
    ObjectChangedError,
    ObjectNotFoundError,
    ResponseError,
)
from astro_cloud_async.options import BLOCK, Options
from astro_cloud_async.pool import RangePool
from astro_cloud_async.stores.base import RangeResult, SourceKind
from astro_cloud_async.stores.http import HTTPStore

SERVERS = ["nginx_server", "apache_server", "caddy_server"]


@pytest.fixture(params=SERVERS)
def http_server(request: pytest.FixtureRequest) -> HTTPServer:
    server: HTTPServer = request.getfixturevalue(request.param)
    return server


def _ranges(size: int) -> list[tuple[int, int]]:
    return [
        (0, BLOCK),
        (BLOCK, 3 * BLOCK),
        (100, 5000),  # not block-aligned: the store must not care
        (max(0, size - 1000), size + 1880),  # runs past the end
        (size, size + BLOCK),  # starts exactly at the end
        (size + 10 * BLOCK, size + 11 * BLOCK),  # far past the end
    ]


@pytest.mark.parametrize("name", ["tess_1", "table", "unpadded"])
async def test_ranges_match_the_file(
    http_server: HTTPServer, sample_corpus: dict[str, Path], name: str
) -> None:
    path = sample_corpus[name]
    content = path.read_bytes()
    size = len(content)
    url = http_server.url(path)
    async with HTTPStore(Options()) as store:
        for start, end in _ranges(size):
            result = await store.get_range(url, start, end)
            assert result.data == content[start:end], (start, end)
            assert result.start == start
            if start < size:
                assert result.object_size == size
                assert result.etag is not None


async def test_servers_agree_byte_for_byte(
    nginx_server: HTTPServer,
    apache_server: HTTPServer,
    caddy_server: HTTPServer,
    sample_corpus: dict[str, Path],
) -> None:
    path = sample_corpus["mosaic"]
    size = path.stat().st_size
    answers: dict[str, list[tuple[bytes, int | None]]] = {}
    async with HTTPStore(Options()) as store:
        for server in (nginx_server, apache_server, caddy_server):
            got = []
            for start, end in _ranges(size)[:4]:
                r = await store.get_range(server.url(path), start, end)
                got.append((r.data, r.object_size))
            answers[server.kind] = got
    first, *others = answers.values()
    assert all(other == first for other in others)
    assert len(first[0][0]) == BLOCK


async def test_past_end_answers_per_server(
    http_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["table"]
    size = path.stat().st_size
    mark = http_server.log_mark()
    async with HTTPStore(Options()) as store:
        result = await store.get_range(http_server.url(path), size, size + BLOCK)
    assert result.data == b"" and result.start == size
    entries = http_server.access_log_entries(mark, at_least=1)
    assert [e.status for e in entries] == [416]
    # nginx and Caddy say "bytes */size" on a 416; Apache sends no Content-Range at all.
    assert result.object_size == (None if http_server.kind == "apache" else size)


async def test_empty_object(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    async with HTTPStore(Options()) as store:
        result = await store.get_range(http_server.url(sample_corpus["empty"]), 0, 10 * BLOCK)
    assert result == RangeResult(b"", 0, 0, result.etag)


async def test_missing_object(http_server: HTTPServer) -> None:
    url = http_server.url("no/such/file.fits")
    async with HTTPStore(Options()) as store:
        with pytest.raises(ObjectNotFoundError) as info:
            await store.get_range(url, BLOCK, 2 * BLOCK)
    assert info.value.url == url and info.value.offset == BLOCK and info.value.status == 404


async def test_if_match(http_server: HTTPServer, sample_corpus: dict[str, Path]) -> None:
    url = http_server.url(sample_corpus["table"])
    async with HTTPStore(Options()) as store:
        first = await store.get_range(url, 0, BLOCK)
        assert first.etag is not None
        again = await store.get_range(url, BLOCK, 2 * BLOCK, if_match=first.etag)
        assert again.etag == first.etag
        with pytest.raises(ObjectChangedError) as info:
            await store.get_range(url, BLOCK, 2 * BLOCK, if_match='"something-else"')
    assert info.value.offset == BLOCK


async def test_range_disabled_server_sends_little(
    nginx_norange: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["tess_1"]  # about 35 MB (sparse on disk)
    content_size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(10 * BLOCK)
        f.seek(3 * BLOCK)
        later = f.read(8 * BLOCK)
    url = nginx_norange.url(path)
    pool = RangePool(Options())
    mark = nginx_norange.log_mark()
    async with HTTPStore(pool.options) as store:
        first = await pool.fetch(store, url, 0, 10 * BLOCK)
        second = await pool.fetch(store, url, 3 * BLOCK, 11 * BLOCK)
    assert first.data == head and second.data == later
    assert first.object_size == second.object_size == content_size
    assert (pool.stats.bytes, pool.stats.discarded_bytes) == (18 * BLOCK, 3 * BLOCK)
    entries = nginx_norange.access_log_entries(mark, at_least=2)
    assert [e.status for e in entries] == [200, 200]
    # nginx counts what the kernel's socket buffers took before we hung up (about 4 MB on
    # loopback), not the whole 35 MB object.
    assert all(e.bytes_sent < content_size // 4 for e in entries), entries


async def test_range_disabled_at_end_of_object(
    nginx_norange: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    path = sample_corpus["unpadded"]
    content = path.read_bytes()
    async with HTTPStore(Options()) as store:
        tail = await store.get_range(nginx_norange.url(path), len(content) - 10, len(content) + 5)
        past = await store.get_range(nginx_norange.url(path), len(content), len(content) + 5)
    assert tail.data == content[-10:] and tail.object_size == len(content)
    assert past.data == b"" and past.object_size == len(content)


async def test_caller_session_is_not_closed(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    async with aiohttp.ClientSession() as session:
        async with HTTPStore(Options(), session) as store:
            result = await store.get_range(nginx_server.url(sample_corpus["table"]), 0, 80)
        assert result.data.startswith(b"SIMPLE  =")
        assert not session.closed


async def test_headers_and_auth_are_sent(faults: FaultServer) -> None:
    options = Options(headers={"X-Api-Token": "tok123"}, auth=("user", "pass"))
    async with HTTPStore(options) as store:
        result = await store.get_range(faults.url("/ok"), 10, 20)
    assert result.data == BODY[10:20]
    seen = faults.requests[-1].headers
    assert seen["X-Api-Token"] == "tok123"
    assert seen["Authorization"] == "Basic dXNlcjpwYXNz"
    assert seen["Range"] == "bytes=10-19"
    assert seen["Accept-Encoding"] == "identity"


async def test_full_body_from_fault_server_reads_only_what_is_needed(faults: FaultServer) -> None:
    async with HTTPStore(Options()) as store:
        result = await store.get_range(faults.url("/full"), 1000, 2000)
    assert result.data == BODY[1000:2000]
    assert result.object_size == len(BODY)
    assert result.discarded == 1000


@pytest.mark.parametrize("path", ["/no-content-range", "/wrong-range", "/gzip"])
async def test_inconsistent_answers_are_errors(faults: FaultServer, path: str) -> None:
    async with HTTPStore(Options()) as store:
        with pytest.raises(ResponseError) as info:
            await store.get_range(faults.url(path), 0, 100)
    assert info.value.url == faults.url(path)


async def test_http_cannot_list(faults: FaultServer) -> None:
    store = HTTPStore(Options())
    assert store.source_kind(faults.url("/folder/")) is SourceKind.OBJECT
    with pytest.raises(ConfigurationError):
        await store.list_page(faults.url("/"))
    await store.aclose()
