"""Client: shared stores and pool across scans, live stats and counts, clean shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from servers import HTTPServer

import astro_cloud_async as aca
from astro_cloud_async.errors import ConfigurationError, ObjectNotFoundError
from astro_cloud_async.fits.walker import walk_file

NAMES = ("tess_1", "mosaic", "table", "compressed")


def layout(records: list[aca.HDURecord]) -> list[tuple[int, int, int, int, bool, int]]:
    return [
        (r.index, r.header_offset, r.data_offset, r.data_size, r.truncated, r.trailing_bytes)
        for r in records
    ]


async def test_scans_share_one_pool_and_its_stats(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    urls = [nginx_server.url(sample_corpus[n]) for n in NAMES]
    mark = nginx_server.log_mark()
    async with aca.Client(concurrency=8) as client:
        first = [r async for r in client.scan(urls[:2])]
        after_first = client.stats.requests
        second = [r async for r in client.scan(urls[2:])]
        assert all(isinstance(r, aca.HDURecord) for r in first + second)
        assert 0 < after_first < client.stats.requests
        entries = nginx_server.access_log_entries(mark, at_least=client.stats.requests)
        assert len(entries) == client.stats.requests
        # Returned bytes plus the framing of multi-range answers: all the server sent.
        sent = sum(e.bytes_sent for e in entries)
        assert client.stats.bytes + client.stats.discarded_bytes == sent
        assert client.counts.done == 4
        assert client.counts.failed == 0


async def test_repr_shows_objects_and_requests_in_flight(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    urls = [nginx_server.url(sample_corpus[n]) for n in NAMES] * 10
    async with aca.Client(max_objects_in_flight=4) as client:
        assert "open" in repr(client)
        results = client.scan(urls)
        await anext(results)
        busy = client.counts.in_flight + client.counts.ready
        text = repr(client)
        assert 1 <= busy <= 4
        assert f"in_flight={client.counts.in_flight} ready={client.counts.ready}" in text
        assert f"queued={client.stats.queued}" in text
        await results.aclose()
        assert "objects: in_flight=0 ready=0" in repr(client)
    assert repr(client).startswith("<Client closed")


async def test_closing_the_client_stops_its_open_scans(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    urls = [nginx_server.url(sample_corpus[n]) for n in NAMES] * 20
    async with aca.Client(max_objects_in_flight=8) as client:
        results = client.scan(urls)
        await anext(results)
    with pytest.raises(StopAsyncIteration):
        await anext(results)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_read_headers_matches_a_local_walk(
    nginx_server: HTTPServer, sample_corpus: dict[str, Path]
) -> None:
    async with aca.Client() as client:
        for name in NAMES:
            records = await client.read_headers(nginx_server.url(sample_corpus[name]))
            expected = walk_file(sample_corpus[name])
            assert [(r.index, r.header_offset, r.data_size) for r in records] == [
                (h.index, h.header_offset, h.data_size) for h in expected
            ]
            assert records[0].object_size == sample_corpus[name].stat().st_size
            assert records[0].etag  # nginx sends one


async def test_read_headers_raises_the_typed_error(nginx_server: HTTPServer) -> None:
    url = nginx_server.url("no/such/object.fits")
    async with aca.Client(retries=0) as client:
        with pytest.raises(ObjectNotFoundError) as info:
            await client.read_headers(url)
        with pytest.raises(ConfigurationError):
            await client.read_headers("gopher://host/x.fits")
    assert info.value.url == url
    assert info.value.status == 404


async def test_options_positional_and_keywords() -> None:
    base = aca.Options(concurrency=5, retries=1)
    async with aca.Client(base, retries=2) as client:
        assert client.options.concurrency == 5
        assert client.options.retries == 2
    with pytest.raises(ConfigurationError, match="bogus"):
        aca.Client(bogus=1)


async def test_client_must_be_entered(sample_corpus: dict[str, Path]) -> None:
    client = aca.Client()
    with pytest.raises(RuntimeError, match="not entered"):
        client.scan([str(sample_corpus["table"])])
    async with client:
        records = await client.read_headers(sample_corpus["table"])
        assert len(records) == 2
    with pytest.raises(RuntimeError, match="closed"):
        await client.read_headers(sample_corpus["table"])


async def test_expand_lists_a_folder(sample_corpus: dict[str, Path]) -> None:
    folder = next(iter(sample_corpus.values())).parent
    async with aca.Client(suffixes=(".fits",)) as client:
        listed = [u async for u in client.expand(str(folder))]
        assert client.stores.options is client.options
    assert str(sample_corpus["compressed"]) not in listed
    assert str(sample_corpus["table"]) in listed
    assert listed == sorted(listed)


async def test_expand_false_takes_sources_as_objects(sample_corpus: dict[str, Path]) -> None:
    folder = next(iter(sample_corpus.values())).parent
    results = [r async for r in aca.scan([str(folder)], expand=False, retries=0)]
    (failed,) = results
    assert isinstance(failed, aca.ObjectFailed)
    assert isinstance(failed.error, ObjectNotFoundError)  # a folder is no object
