"""A prefix of 500 objects scanned on each cloud emulator gives astropy's records exactly.

The survey (six kinds of file, tile-compressed images among them) is held by fake-gcs-server
and Azurite in a public bucket or container, read anonymously, and a private one, read with
credentials the emulator (or its gateway) checks. Every record is held against astropy's
reading of the local copy: where each HDU lies, every card's keyword and value, and for a
tile-compressed image the image header astropy shows. The gateways' access logs say what
each scan cost: one listing page, one GET per object (the files are smaller than the first
read) and a few more where layout prediction fetched a predicted header that was not there.
"""

from __future__ import annotations

import asyncio
import warnings
from pathlib import Path
from typing import Any

import pytest
from astropy.io import fits
from servers.azurite import AzureServer
from servers.gcs import GCSServer

import astro_cloud_async as aca
from astro_cloud_async.demo.survey import astropy_layout

Summary = dict[str, list[tuple[Any, ...]]]


def _astropy_summary(path: Path) -> list[tuple[Any, ...]]:
    layout = astropy_layout(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, disable_image_compression=True) as stored, fits.open(path) as shown:
            rows = []
            for place, hdu, seen in zip(layout, stored, shown, strict=True):
                image = (
                    [(c.keyword, c.value) for c in seen.header.cards]
                    if isinstance(seen, fits.CompImageHDU)
                    else None
                )
                rows.append(
                    (
                        place.header_offset,
                        place.data_offset,
                        place.data_size,
                        [(c.keyword, c.value) for c in hdu.header.cards],
                        image,
                    )
                )
    return rows


def _summary(record: aca.HDURecord) -> tuple[Any, ...]:
    image = record.image_header
    return (
        record.header_offset,
        record.data_offset,
        record.data_size,
        [(c.keyword, c.value) for c in record.cards],
        None if image is None else [(c.keyword, c.value) for c in image.cards],
    )


@pytest.fixture(scope="module")
def reference(cloud_survey: dict[str, Path]) -> Summary:
    return {key: _astropy_summary(path) for key, path in cloud_survey.items()}


async def _scan(prefix: str, **options: Any) -> tuple[Summary, tuple[int, int]]:
    found: Summary = {}
    async with aca.Client(**options) as client:
        async for record in client.scan(prefix):
            assert isinstance(record, aca.HDURecord), record
            key = "survey/" + record.url.rsplit("/", 1)[-1]
            rows = found.setdefault(key, [])
            assert record.index == len(rows)
            rows.append(_summary(record))
        return found, (client.stats.requests, client.stats.list_requests)


def _object_gets(entries: list[Any], marker: str) -> tuple[int, int]:
    """(object GETs, listing GETs) of one bucket or container in a gateway's log."""
    gets = [e for e in entries if e.method == "GET" and marker in e.path]
    listing = [e for e in gets if "comp=list" in e.path or "/o?" in e.path]
    return len(gets) - len(listing), len(listing)


GCS_ACCESS = {"public": {"anon": True}, "private": {}}


@pytest.mark.parametrize("bucket", sorted(GCS_ACCESS))
async def test_gcs_prefix_of_500_matches_astropy(
    gcs_credentials: GCSServer, reference: Summary, bucket: str
) -> None:
    mark = gcs_credentials.log_mark()
    options = {"endpoint_url": gcs_credentials.endpoint_url, **GCS_ACCESS[bucket]}
    found, requests = await _scan(f"gs://{bucket}/survey/", **options)
    assert found == reference
    assert sum(row[4] is not None for rows in found.values() for row in rows) > 150
    await asyncio.sleep(0.3)
    entries = gcs_credentials.access_log_entries(mark, at_least=501)
    gets, pages = _object_gets(entries, f"/storage/v1/b/{bucket}/")
    assert pages == 1
    assert 500 <= gets <= 550
    assert (gets, pages) == requests  # what the client counted is what the server saw


AZURE_ACCESS = {"public": {"anon": True}, "private": {}}


@pytest.mark.parametrize("container", sorted(AZURE_ACCESS))
async def test_azure_prefix_of_500_matches_astropy(
    azure_server: AzureServer, reference: Summary, container: str
) -> None:
    mark = azure_server.log_mark()
    options = {"connection_string": azure_server.connection_string(), **AZURE_ACCESS[container]}
    found, requests = await _scan(f"az://{container}/survey/", **options)
    assert found == reference
    await asyncio.sleep(0.3)
    entries = azure_server.access_log_entries(mark, at_least=501)
    gets, pages = _object_gets(entries, f"/{azure_server.account}/{container}")
    assert pages == 1
    assert 500 <= gets <= 550
    assert (gets, pages) == requests  # what the client counted is what the server saw


async def test_azure_shared_access_signature_scan(
    azure_server: AzureServer, reference: Summary
) -> None:
    sas = azure_server.container_sas("private")
    options = {
        "connection_string": azure_server.connection_string(key=False),
        "sas_token": sas,
    }
    found, _ = await _scan("az://private/survey/", **options)
    assert found == reference


async def test_anonymous_reads_of_private_objects_fail_typed_one_by_one(
    gcs_server: GCSServer, azure_server: AzureServer
) -> None:
    names = [f"survey/obs-{n:04d}.fits" for n in range(5)]
    cases = [
        ([f"gs://private/{n}" for n in names], {"endpoint_url": gcs_server.endpoint_url}),
        (
            [f"az://private/{n}" for n in names],
            {"connection_string": azure_server.connection_string()},
        ),
    ]
    for urls, options in cases:
        results = [r async for r in aca.scan(urls, anon=True, retries=0, **options)]
        assert sorted(r.url for r in results) == urls
        for result in results:
            assert isinstance(result, aca.ObjectFailed)
            assert isinstance(result.error, aca.AccessDeniedError), result.error
            assert result.error.url == result.url and result.error.offset == 0
