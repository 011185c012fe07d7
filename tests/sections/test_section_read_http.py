"""Sections and whole images read over HTTP from nginx, compared with astropy on the same files.

Bytes are counted on the server side, from nginx's access log, so the claim "a cutout fetches
only its rows" is checked against what was actually sent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from astropy.io import fits
from section_files import (
    BIG_SHAPE,
    MANY,
    ImageCase,
    SectionFiles,
    image_cases,
    image_hdu_bytes,
    keys_for,
)
from servers import HTTPServer

from astro_cloud_async import Client, HDURecord, ObjectChangedError, ObjectNotFoundError
from astro_cloud_async.catalog import object_rows
from astro_cloud_async.sections import (
    NotAnImageError,
    SectionFailed,
    SectionIndexError,
    TruncatedDataError,
    plan_for,
    read_data,
    read_section,
    read_sections,
    record_from_row,
)

pytestmark = pytest.mark.servers


def astropy_values(path: Any, index: int, key: Any) -> tuple[Any, np.ndarray[Any, Any]]:
    """astropy's ``.section[key]`` (``None`` where astropy itself fails) and ``.data[key]``."""
    with warnings.catch_warnings(), fits.open(path) as hdul:
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        try:
            section = np.asarray(hdul[index].section[key])
        except (IndexError, ValueError):
            section = None  # e.g. astropy's section with BLANK and a single pixel
        return section, np.array(hdul[index].data[key])


async def records_of(client: Client, url: str) -> list[HDURecord]:
    return await client.read_headers(url)


@pytest.mark.parametrize("name", [c.name for c in image_cases()])
async def test_sections_match_astropy(
    name: str, section_files: SectionFiles, section_server: HTTPServer
) -> None:
    case: ImageCase = next(c for c in section_files.cases if c.name == name)
    path = section_files.paths[name]
    async with Client() as client:
        record = (await records_of(client, section_server.url(path)))[case.hdu_index]
        for key in keys_for(case):
            got = await read_section(record, key, client=client)
            section, data = astropy_values(path, case.hdu_index, key)
            assert got.shape == data.shape, key
            assert got.dtype == data.dtype.newbyteorder("="), key
            assert got.dtype.isnative
            np.testing.assert_array_equal(got, data, err_msg=f"{name} {key!r}")
            if section is not None:
                np.testing.assert_array_equal(got, section, err_msg=f"{name} {key!r}")
        whole = await read_data(record, client=client)
        np.testing.assert_array_equal(whole, astropy_values(path, case.hdu_index, ...)[1])
        raw = await read_section(record, keys_for(case)[0], client=client, do_not_scale=True)
        np.testing.assert_array_equal(raw, case.raw[keys_for(case)[0]])


async def test_small_cutout_of_big_image_fetches_only_its_rows(
    section_files: SectionFiles, section_server: HTTPServer
) -> None:
    url = section_server.url(section_files.big)
    image_bytes = BIG_SHAPE[0] * BIG_SHAPE[1] * 4
    key = (slice(1000, 1064), slice(500, 564))
    async with Client() as client:
        _, record = await records_of(client, url)
        assert record.data_size == image_bytes

        # Default gap: 64 rows 8 KiB apart are one request of about half a MiB.
        mark = section_server.log_mark()
        requests_before = client.stats.requests
        cutout = await read_section(record, key, client=client)
        plan = plan_for(record, key)
        # The reads go through the client's own pool: counted in its statistics.
        assert client.stats.requests - requests_before == len(plan.ranges)
        entries = section_server.access_log_entries(mark, at_least=len(plan.ranges))
        sent = sum(e.bytes_sent for e in entries)
        assert len(entries) == len(plan.ranges) == 1
        assert sent == plan.nbytes == 63 * 2048 * 4 + 64 * 4
        assert sent * 30 < image_bytes

        # No merging: exactly the cutout's pixels, one request per row.
        mark = section_server.log_mark()
        exact = await read_section(record, key, client=client, gap=0)
        entries = section_server.access_log_entries(mark, at_least=64)
        assert len(entries) == 64
        assert {e.status for e in entries} == {206}
        assert sum(e.bytes_sent for e in entries) == 64 * 64 * 4

    _, reference = astropy_values(section_files.big, 1, key)
    np.testing.assert_array_equal(cutout, reference)
    np.testing.assert_array_equal(exact, reference)


async def test_whole_image_in_concurrent_requests(
    section_files: SectionFiles, section_server: HTTPServer
) -> None:
    url = section_server.url(section_files.big)
    async with Client() as client:
        _, record = await records_of(client, url)
        mark = section_server.log_mark()
        data = await read_data(record, client=client, max_request=4 * 1024 * 1024)
        entries = [  # the header read may be logged after the mark (see below)
            e
            for e in section_server.access_log_entries(mark, at_least=4)
            if e.range and int(e.range.removeprefix("bytes=").split("-")[0]) >= record.data_offset
        ]
    assert len(entries) == 4
    assert sum(e.bytes_sent for e in entries) == record.data_size
    with fits.open(section_files.big) as hdul:
        np.testing.assert_array_equal(data, hdul[1].data)


async def test_same_box_from_many_files(
    section_files: SectionFiles, section_server: HTTPServer
) -> None:
    urls = [section_server.url(p) for p in section_files.many]
    key = (slice(10, 20), slice(30, 45))
    async with Client() as client:
        records = [(await records_of(client, u))[0] for u in urls]
        _, mixed_table, _ = await records_of(client, section_server.url(section_files.mixed))
        gone = section_files.root / "many" / "gone.fits"
        shutil.copy(section_files.many[0], gone)
        (gone_record,) = await records_of(client, section_server.url(gone))
        gone.unlink()
        inputs = [*records[:20], mixed_table, gone_record, *records[20:]]
        results = [r async for r in read_sections(inputs, key, client=client, max_in_flight=8)]
    assert len(results) == MANY + 2
    failures = [r for r in results if isinstance(r, SectionFailed)]
    assert {type(f.error) for f in failures} == {NotAnImageError, ObjectNotFoundError}
    assert {f.record.url for f in failures} == {mixed_table.url, gone_record.url}
    done = [r for r in results if not isinstance(r, SectionFailed)]
    cutouts = {record.url: array for record, array in done}
    assert len(cutouts) == MANY
    for url, raw in zip(urls, section_files.many_raw, strict=True):
        expected = (raw[key].astype(np.int32) + 32768).astype(np.uint16)
        assert cutouts[url].dtype == np.uint16
        np.testing.assert_array_equal(cutouts[url], expected)


async def test_a_box_placed_per_record(
    section_files: SectionFiles, section_server: HTTPServer
) -> None:
    async with Client() as client:
        records = [
            (await records_of(client, section_server.url(p)))[0] for p in section_files.many[:5]
        ]
        boxes = {r.url: (slice(i, i + 3), i) for i, r in enumerate(records)}

        async def lazily() -> AsyncIterator[HDURecord]:
            for record in records:
                yield record

        results = [r async for r in read_sections(lazily(), lambda r: boxes[r.url], client=client)]
        # Leaving early cancels what is in flight, cleanly.
        async with contextlib.aclosing(
            read_sections(records * 20, (slice(None), 0), client=client, max_in_flight=4)
        ) as running:
            async for first in running:
                assert not isinstance(first, SectionFailed)
                break
    for item in results:
        assert not isinstance(item, SectionFailed)
        record, array = item
        i = records.index(record)
        assert array.shape == (3,)
        np.testing.assert_array_equal(
            array, section_files.many_raw[i][i : i + 3, i].astype(np.int32) + 32768
        )


async def test_errors_are_typed_and_located(
    section_files: SectionFiles, section_server: HTTPServer
) -> None:
    async with Client() as client:
        primary, table, image = await records_of(client, section_server.url(section_files.mixed))
        with pytest.raises(NotAnImageError) as info:
            await read_section(table, (0, 0), client=client)
        assert info.value.url == table.url and info.value.offset == table.data_offset
        with pytest.raises(SectionIndexError) as bad:
            await read_section(image, (12, 0), client=client)
        assert isinstance(bad.value, IndexError) and bad.value.url == image.url
        with pytest.raises(SectionIndexError, match="lies outside"):
            await read_section(primary, (slice(25, 30), slice(None)), client=client)

        (cut,) = await records_of(client, section_server.url(section_files.truncated))
        assert cut.truncated
        size = section_files.truncated.stat().st_size
        present = await read_section(cut, (slice(0, 40), slice(None)), client=client)
        full = fits.HDUList.fromstring(section_files.truncated_full)
        np.testing.assert_array_equal(present, full[0].data[0:40])
        with pytest.raises(TruncatedDataError) as missing:
            await read_section(cut, (slice(30, 60), slice(0, 10)), client=client, gap=10**6)
        assert missing.value.offset == size
        assert missing.value.url == cut.url


async def test_a_changed_object_is_refused(
    section_files: SectionFiles, section_server: HTTPServer
) -> None:
    path = section_files.root / "changing.fits"
    first = np.arange(20 * 30, dtype=">i4").reshape(20, 30)
    path.write_bytes(image_hdu_bytes(first, primary=True))
    async with Client() as client:
        (record,) = await records_of(client, section_server.url(path))
        path.write_bytes(image_hdu_bytes(first * 2, primary=True))
        stat = path.stat()
        os.utime(path, (stat.st_atime + 10, stat.st_mtime + 10))
        with pytest.raises(ObjectChangedError):
            await read_section(record, (slice(0, 2), slice(None)), client=client)
        again = await read_section(record, (1, 2), client=client, check_etag=False)
    assert int(again) == 2 * 32


async def test_records_rebuilt_from_catalog_rows(
    section_files: SectionFiles, section_server: HTTPServer
) -> None:
    case = next(c for c in section_files.cases if c.name == "i32_blank_scaled")
    path = section_files.paths[case.name]
    async with Client() as client:
        records = await records_of(client, section_server.url(path))
        rows = object_rows(records, ("BITPIX",))
        rebuilt = record_from_row(rows[case.hdu_index])
        key = (slice(3, 30, 2), slice(5, 50))
        got = await read_section(rebuilt, key, client=client)
    assert rebuilt.etag == records[case.hdu_index].etag
    np.testing.assert_array_equal(got, astropy_values(path, case.hdu_index, key)[1])


async def test_options_open_a_client_of_their_own(
    section_files: SectionFiles, section_server: HTTPServer
) -> None:
    case = section_files.cases[0]
    path = section_files.paths[case.name]
    async with Client() as client:
        (record,) = await records_of(client, section_server.url(path))
    got = await read_section(record, (slice(0, 5), 3), retries=1, timeout=5.0)
    np.testing.assert_array_equal(got, case.raw[0:5, 3])
    async with Client() as client:
        with pytest.raises(Exception, match="go to the Client"):
            await read_section(record, 0, client=client, retries=1)


async def test_every_server_serves_cutouts(
    section_files: SectionFiles, any_http_server: HTTPServer
) -> None:
    server = any_http_server
    key = (slice(700, 740), slice(2000, None, 2))
    async with Client() as client:
        _, record = await records_of(client, server.url(section_files.big))
        mark = server.log_mark()
        got = await read_section(record, key, client=client, gap=16)
        # Some servers log a request after answering it: the header read may land after the
        # mark. Section reads all start inside the data.
        entries = [
            e
            for e in server.access_log_entries(mark, at_least=40)
            if e.range and int(e.range.removeprefix("bytes=").split("-")[0]) >= record.data_offset
        ]
        scaled = next(c for c in section_files.cases if c.name == "i16_scaled")
        path = section_files.paths[scaled.name]
        scaled_record = (await records_of(client, server.url(path)))[scaled.hdu_index]
        scaled_got = await read_section(scaled_record, (slice(None, None, -5), 7), client=client)
    assert len(entries) == 40
    assert {e.status for e in entries} == {206}
    # Every other pixel: a 16-byte gap merges a row's pixels into one range (its span), but
    # not rows, 8 KiB apart.
    assert sum(e.bytes_sent for e in entries) == 40 * (2046 - 2000 + 1) * 4
    np.testing.assert_array_equal(got, astropy_values(section_files.big, 1, key)[1])
    want = astropy_values(path, scaled.hdu_index, (slice(None, None, -5), 7))[1]
    np.testing.assert_array_equal(scaled_got, want)
