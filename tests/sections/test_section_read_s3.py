"""Sections read from the S3 server (SeaweedFS), compared with astropy on the local copies.

The files are uploaded under ``sections/`` in the public bucket (anonymous reads) and the
private one (signed reads); bytes are counted by the logging proxy in front of the server.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from section_files import BIG_SHAPE, SectionFiles, image_cases, keys_for
from servers.s3data import upload_folder
from servers.seaweedfs import S3Server

from astro_cloud_async import Client, HDURecord, ObjectNotFoundError, Options
from astro_cloud_async.sections import (
    NotAnImageError,
    SectionFailed,
    TruncatedDataError,
    plan_for,
    read_data,
    read_section,
    read_sections,
)

pytestmark = pytest.mark.servers

PREFIX = "sections/"


@pytest.fixture(scope="module")
def section_s3(s3_server: S3Server, section_files: SectionFiles) -> Iterator[S3Server]:
    for bucket in (s3_server.scratch_bucket, s3_server.scratch_private_bucket):
        upload_folder(s3_server, section_files.root, bucket, prefix=PREFIX)
    yield s3_server


def key_of(section_files: SectionFiles, path: Any) -> str:
    return PREFIX + path.relative_to(section_files.root).as_posix()


def astropy_data(path: Any, index: int, key: Any) -> np.ndarray[Any, Any]:
    with warnings.catch_warnings(), fits.open(path) as hdul:
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        return np.array(hdul[index].data[key])


def public_client(server: S3Server) -> Client:
    return Client(endpoint_url=server.endpoint_url, anon=True)


async def test_every_case_matches_astropy(
    section_s3: S3Server, section_files: SectionFiles
) -> None:
    bucket = section_s3.scratch_bucket
    options = Options(endpoint_url=section_s3.endpoint_url, anon=True)
    async with public_client(section_s3) as client, Client(options) as fetcher:
        for case in image_cases():
            path = section_files.paths[case.name]
            url = section_s3.url(bucket, key_of(section_files, path))
            record = (await client.read_headers(url))[case.hdu_index]
            assert record.etag is not None
            for key in keys_for(case):
                got = await read_section(record, key, client=fetcher)
                want = astropy_data(path, case.hdu_index, key)
                assert got.dtype == want.dtype.newbyteorder("="), (case.name, key)
                np.testing.assert_array_equal(got, want, err_msg=f"{case.name} {key!r}")
            whole = await read_data(record, client=fetcher)
            np.testing.assert_array_equal(whole, astropy_data(path, case.hdu_index, ...))
        assert fetcher.stats.requests >= 22 * 7 and fetcher.stats.failures == 0


async def test_cutout_bytes_counted_by_the_proxy(
    section_s3: S3Server, section_files: SectionFiles
) -> None:
    url = section_s3.url(section_s3.scratch_bucket, key_of(section_files, section_files.big))
    key = (slice(2000, None), slice(0, 40))  # the bottom-left corner, clipped at the edge
    async with public_client(section_s3) as client:
        _, record = await client.read_headers(url)
        mark = section_s3.log_mark()
        cutout = await read_section(record, key, client=client, gap=0)
        entries = section_s3.access_log_entries(mark, at_least=48)
    assert cutout.shape == (48, 40)
    # The proxy logs a request after answering it: the header read may land after the mark.
    # Section reads all start inside the data.
    gets = [e for e in entries if e.method == "GET" and _start(e.range) >= record.data_offset]
    assert len(gets) == 48
    assert sum(e.bytes_sent for e in gets) == 48 * 40 * 4 == plan_for(record, key, gap=0).nbytes
    assert sum(e.bytes_sent for e in gets) * 1000 < BIG_SHAPE[0] * BIG_SHAPE[1] * 4
    np.testing.assert_array_equal(cutout, astropy_data(section_files.big, 1, key))


async def test_signed_reads_from_the_scratch_private_bucket(
    s3_env: S3Server, section_s3: S3Server, section_files: SectionFiles
) -> None:
    case = next(c for c in image_cases() if c.name == "uint32")
    path = section_files.paths[case.name]
    url = section_s3.url(section_s3.scratch_private_bucket, key_of(section_files, path))
    async with Client(endpoint_url=section_s3.endpoint_url) as client:
        record = (await client.read_headers(url))[case.hdu_index]
        got = await read_section(record, (slice(5, 25, 3), slice(None, None, -2)), client=client)
    want = astropy_data(path, case.hdu_index, (slice(5, 25, 3), slice(None, None, -2)))
    assert got.dtype == np.uint32
    np.testing.assert_array_equal(got, want)


async def test_many_objects_and_their_failures(
    section_s3: S3Server, section_files: SectionFiles
) -> None:
    bucket = section_s3.scratch_bucket
    key = (slice(0, 8), slice(70, 80))
    async with public_client(section_s3) as client:
        records: list[HDURecord] = []
        async for item in client.scan([section_s3.url(bucket, PREFIX + "many/")]):
            assert isinstance(item, HDURecord)
            records.append(item)
        (cut,) = await client.read_headers(
            section_s3.url(bucket, key_of(section_files, section_files.truncated))
        )
        _, table, _ = await client.read_headers(
            section_s3.url(bucket, key_of(section_files, section_files.mixed))
        )
        missing = HDURecord(
            url=section_s3.url(bucket, PREFIX + "no-such-object.fits"),
            index=0,
            header_offset=0,
            data_offset=cut.data_offset,
            data_size=cut.data_size,
            header=cut.header,
        )
        inputs = [*records, cut, table, missing]
        results = [r async for r in read_sections(inputs, key, client=client, max_in_flight=6)]
    assert len(records) == len(section_files.many) == 40
    failed = {r.record.url: r.error for r in results if isinstance(r, SectionFailed)}
    assert isinstance(failed.pop(table.url), NotAnImageError)
    assert isinstance(failed.pop(missing.url), ObjectNotFoundError)
    assert failed == {}
    arrays = {rec.url: arr for rec, arr in (r for r in results if isinstance(r, tuple))}
    by_name = {
        p.name: raw for p, raw in zip(section_files.many, section_files.many_raw, strict=True)
    }
    for record in records:
        raw = by_name[record.url.rsplit("/", 1)[1]]
        np.testing.assert_array_equal(arrays[record.url], raw[key].astype(np.int32) + 32768)
    # The truncated image's first rows are all there; the cutout succeeds.
    np.testing.assert_array_equal(arrays[cut.url], astropy_full(section_files)[key])
    with pytest.raises(TruncatedDataError) as info:
        async with public_client(section_s3) as client:
            await read_section(cut, (slice(39, 42), 0), client=client)
    assert info.value.offset == cut.object_size == section_files.truncated.stat().st_size


def astropy_full(section_files: SectionFiles) -> np.ndarray[Any, Any]:
    with fits.HDUList.fromstring(section_files.truncated_full) as hdul:
        return np.array(hdul[0].data)


def _start(range_header: str | None) -> int:
    """The first byte a logged ``Range: bytes=a-b`` asked for (-1 without one)."""
    return int(range_header.removeprefix("bytes=").split("-")[0]) if range_header else -1
