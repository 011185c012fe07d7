"""The same corpus through every store gives the same records and the same failures.

Reference: a scan of the corpus folder on the local disk. Then the corpus as served by nginx,
Apache and Caddy, and as held by the S3 server in a signed private bucket, an anonymous public
bucket and a requester-pays bucket. Requests and bytes are also counted on the server side.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from measure_reads import measure_object
from servers import HTTPServer
from servers.s3data import ManyKeys
from servers.seaweedfs import S3Server

import astro_cloud_async as aca
from astro_cloud_async.demo.survey import TESS_DATA_BYTES

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


def test_reference_is_what_the_corpus_holds(
    reference: Outcomes, sample_corpus: dict[str, Path]
) -> None:
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
    # One answer per object, read in order as the walk moves forward and closed when it ends:
    # the data up to the last header is read and dropped, never asked for again.
    path = sample_corpus["tess_1"]
    size = path.stat().st_size
    mark = nginx_norange.log_mark()
    async with aca.Client() as client:
        records = await client.read_headers(nginx_norange.url(path))
        stats = client.stats.snapshot()
    assert len(records) == 3
    assert (stats.requests, stats.bytes) == (1, 51840)
    assert stats.discarded_bytes == records[2].header_offset - 28800  # skipped to the 2nd header
    entries = nginx_norange.access_log_entries(mark, at_least=1)
    assert [e.status for e in entries] == [200]
    assert all(e.bytes_sent <= size for e in entries)


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


# --- S3 --------------------------------------------------------------------------------------

S3_ACCESS = {
    "private": {},  # signed with the credential chain (the environment here)
    "public": {"anon": True},
    "requester-pays": {"requester_pays": True},
}


@pytest.mark.parametrize("bucket", sorted(S3_ACCESS))
async def test_s3_buckets_give_identical_records(
    s3_env: S3Server, bucket: str, reference: Outcomes
) -> None:
    options = {"endpoint_url": s3_env.endpoint_url, **S3_ACCESS[bucket]}
    assert await scan_all(f"s3://{bucket}/", **options) == reference


async def test_s3_objects_named_one_by_one(
    s3_env: S3Server, sample_corpus: dict[str, Path], reference: Outcomes
) -> None:
    urls = [s3_env.url("private", path.name) for path in sample_corpus.values()]
    assert await scan_all(urls, endpoint_url=s3_env.endpoint_url, expand=False) == reference


async def test_s3_denied_prefix_is_one_failure(s3_env: S3Server) -> None:
    results = [r async for r in aca.scan("s3://private/", anon=True, retries=0)]
    (failed,) = results
    assert isinstance(failed, aca.ObjectFailed)
    assert isinstance(failed.error, aca.AccessDeniedError)
    assert failed.url == "s3://private/"


def _settled_mark(server: S3Server) -> int:
    """The end of the proxy's log once no line has come for 0.3 s: the proxy logs a request
    just after answering it, so the lines of earlier reads (other tests' too) are all in."""
    mark = server.log_mark()
    while True:
        time.sleep(0.3)
        later = server.log_mark()
        if later == mark:
            return mark
        mark = later


def test_s3_tess_layout_takes_two_gets_under_64_kib(
    s3_env: S3Server, sample_corpus: dict[str, Path]
) -> None:
    for bucket in sorted(S3_ACCESS):
        url = s3_env.url(bucket, sample_corpus["tess_1"].name)
        mark = _settled_mark(s3_env)
        options = {"endpoint_url": s3_env.endpoint_url, **S3_ACCESS[bucket]}
        records = aca.read_headers(url, **options)
        assert len(records) == 3
        s3_env.access_log_entries(mark, at_least=2)  # this read's lines...
        time.sleep(0.3)  # ...and a third, if there is one
        entries = s3_env.access_log_entries(mark)
        assert [e.method for e in entries] == ["GET", "GET"]
        assert {e.path for e in entries} == {f"/{bucket}/{sample_corpus['tess_1'].name}"}
        assert sum(e.bytes_sent for e in entries) < 64 * 1024


@pytest.mark.slow
async def test_s3_prefix_of_2500_keys_is_scanned_completely_once(
    s3_many_keys: ManyKeys,
) -> None:
    server = s3_many_keys.server
    mark = server.log_mark()
    seen: list[str] = []
    async with aca.Client(endpoint_url=server.endpoint_url, anon=True) as client:
        async for result in client.scan(s3_many_keys.url):
            assert isinstance(result, aca.HDURecord), result
            assert result.index == 0
            seen.append(result.url)
        requests = client.stats.requests
    expected = [server.url(s3_many_keys.bucket, key) for key in s3_many_keys.keys]
    assert len(seen) == len(set(seen)) == 2500
    assert set(seen) == set(expected)
    entries = server.access_log_entries(mark, at_least=requests + 3)
    gets = [e.path for e in entries if "?" not in e.path]
    lists = [e.path for e in entries if "list-type=2" in e.path]
    assert sorted(gets) == sorted(f"/{s3_many_keys.bucket}/{key}" for key in s3_many_keys.keys)
    assert len(lists) == 3  # 1,000 keys a page
