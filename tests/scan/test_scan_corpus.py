"""The same corpus through every store gives the same records and the same failures.

Reference: a scan of the corpus folder on the local disk. Then the corpus as served by nginx,
Apache and Caddy, and as held by the S3 server in a signed private bucket, an anonymous public
bucket and a requester-pays bucket. Requests and bytes are also counted on the server side.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from measure_reads import measure_object
from servers import HTTPServer

import astro_cloud_async as aca
from astro_cloud_async.samples import TESS_DATA_BYTES

# (index, header_offset, data_offset, data_size, truncated, trailing_bytes, object_size, cards)
Facts = tuple[int, int, int, int, bool, int, int | None, tuple[Any, ...]]
# name -> the facts of each record, and the (error type, offset) of a failure
Outcomes = dict[str, tuple[list[Facts], tuple[type[BaseException], int | None] | None]]


def facts(record: aca.HDURecord) -> Facts:
    return (
        record.index,
        record.header_offset,
        record.data_offset,
        record.data_size,
        record.truncated,
        record.trailing_bytes,
        record.object_size,
        record.cards,
    )


def outcomes(results: list[aca.ScanResult]) -> Outcomes:
    """Results keyed by file name; checks that each object ended exactly once."""
    out: Outcomes = {}
    for result in results:
        name = result.url.rstrip("/").rsplit("/", 1)[-1]
        records, failure = out.setdefault(name, ([], None))
        assert failure is None, f"{name}: something came after its failure"
        if isinstance(result, aca.ObjectFailed):
            assert not any(facts(r) in records for r in result.records)
            out[name] = (records + [facts(r) for r in result.records], None)
            out[name] = (out[name][0], (type(result.error), result.error.offset))
        else:
            assert result.index == len(records), f"{name}: records out of order or repeated"
            records.append(facts(result))
    return out


async def scan_all(sources: list[str] | str, **options: Any) -> Outcomes:
    return outcomes([r async for r in aca.scan(sources, **options)])


@pytest.fixture(scope="module")
def corpus_folder(sample_corpus: dict[str, Path]) -> Path:
    return next(iter(sample_corpus.values())).parent


@pytest.fixture(scope="module")
def reference(corpus_folder: Path) -> Outcomes:
    return asyncio.run(scan_all(str(corpus_folder)))


def test_reference_is_what_the_corpus_holds(reference: Outcomes, sample_corpus: dict[str, Path]):
    names = {path.name: key for key, path in sample_corpus.items()}
    assert set(reference) == set(names)
    by_key = {names[name]: value for name, value in reference.items()}
    assert by_key["not_fits"][1] == (aca.NotFITSError, 0)
    assert by_key["empty"][1] == (aca.NotFITSError, 0)
    assert [f[0] for f in by_key["mosaic"][0]] == [0, 1, 2, 3]
    assert by_key["truncated"][0][-1][4] is True  # truncated
    assert by_key["trailing_garbage"][0][-1][5] == 488  # trailing bytes
    assert by_key["tess_1"][0][1][3] == TESS_DATA_BYTES
    failures = {k for k, (_, failure) in by_key.items() if failure is not None}
    assert failures == {"not_fits", "empty"}


@pytest.mark.parametrize("server_name", ["nginx_server", "apache_server", "caddy_server"])
async def test_http_servers_give_identical_records(
    request: pytest.FixtureRequest,
    server_name: str,
    sample_corpus: dict[str, Path],
    reference: Outcomes,
) -> None:
    server: HTTPServer = request.getfixturevalue(server_name)
    urls = [server.url(path) for path in sample_corpus.values()]
    assert await scan_all(urls) == reference


async def test_range_ignoring_server_gives_identical_records_without_whole_bodies(
    nginx_norange: HTTPServer, sample_corpus: dict[str, Path], reference: Outcomes
) -> None:
    urls = [nginx_norange.url(path) for path in sample_corpus.values()]
    assert await scan_all(urls) == reference
    # A 200 answer is read up to the bytes asked for, then the connection is dropped: the
    # server sends (into socket buffers) a little more than that, never the whole body.
    path = sample_corpus["tess_1"]
    size = path.stat().st_size
    mark = nginx_norange.log_mark()
    async with aca.Client() as client:
        records = await client.read_headers(nginx_norange.url(path))
        stats = client.stats.snapshot()
    assert len(records) == 3
    assert (stats.requests, stats.bytes) == (2, 51840)
    assert stats.discarded_bytes == records[2].header_offset  # skipped up to the 2nd header
    entries = nginx_norange.access_log_entries(mark, at_least=2)
    assert [e.status for e in entries] == [200, 200]
    assert all(e.bytes_sent < 0.9 * size for e in entries)


@pytest.mark.parametrize("server_name", ["nginx_server", "apache_server", "caddy_server"])
def test_tess_layout_takes_two_gets_under_64_kib(
    request: pytest.FixtureRequest, server_name: str, sample_corpus: dict[str, Path]
) -> None:
    server: HTTPServer = request.getfixturevalue(server_name)
    for key in ("tess_1", "tess_2", "tess_3"):
        reads = measure_object(server, key, sample_corpus[key])
        assert reads.hdus == 3
        assert reads.server_requests == reads.pool_requests <= 2
        assert reads.server_bytes == reads.pool_bytes < 64 * 1024
