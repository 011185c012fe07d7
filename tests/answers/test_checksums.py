"""Checksum verdicts against astropy's ``fits.open(..., checksum=True)``.

The core's sums are compared with astropy's own functions on random bytes; the verdicts on the
survey's cases (good, missing, a header byte flipped, a data byte flipped) with astropy's
``verify_checksum`` / ``verify_datasum``: from the header alone where the header alone can
tell, and with the data read (``--verify-data``) over HTTP and from S3 in every case.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from answers_catalogs import build_catalog, s3_options
from astropy.io import fits
from servers import HTTPServer
from servers.seaweedfs import S3Server
from sky_survey import SkySurvey

from astro_cloud_async import Client, read_headers
from astro_cloud_async.audit import sum_bytes, verify_data
from astro_cloud_async.catalog import read_catalog
from astro_cloud_async.fits import parse_header
from astro_cloud_async.fits.checksum import (
    NEGATIVE_ZERO,
    add,
    checksum_verdict,
    encode_checksum,
    header_sum,
    ones_complement_sum,
)
from astro_cloud_async.options import Options

VERDICT = {0: "bad", 1: "ok", 2: "absent"}


def astropy_verdicts(path: Path) -> list[tuple[str, str]]:
    """(checksum, datasum) per HDU as astropy judges them on open."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, checksum=True) as hdul:
            return [(VERDICT[h.verify_checksum()], VERDICT[h.verify_datasum()]) for h in hdul]


def test_sums_equal_astropys() -> None:
    hdu = fits.PrimaryHDU()
    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 3, 4, 5, 7, 2880, 2881, 10000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        want = int(hdu._compute_checksum(np.frombuffer(data, dtype=np.uint8)))
        assert ones_complement_sum(data) == want == sum_bytes(data), n
    # Pieces add, including the carries of a sum that wraps.
    big = b"\xff" * 2880 * 3 + os.urandom(2880)
    assert add(ones_complement_sum(big[:2880]), ones_complement_sum(big[2880:])) == (
        ones_complement_sum(big)
    )
    assert ones_complement_sum(b"\0" * 16) == 0
    assert ones_complement_sum(b"\xff" * 8) == NEGATIVE_ZERO


def test_encoding_equals_astropys() -> None:
    hdu = fits.PrimaryHDU()
    rng = np.random.default_rng(6)
    for value in [0, 1, 0xFFFFFFFF, *rng.integers(0, 2**32, 200).tolist()]:
        assert encode_checksum(int(value)) == hdu._char_encode(int(value))


def test_a_written_checksum_makes_the_header_sum_negative_zero() -> None:
    hdu = fits.ImageHDU(np.arange(60, dtype=">i4").reshape(6, 10))
    hdu.add_checksum()
    header = parse_header(hdu.header.tostring().encode())
    assert add(header_sum(header), int(hdu.header["DATASUM"])) == NEGATIVE_ZERO
    assert checksum_verdict(header) == "ok"
    # The stored DATASUM stands for the data: a wrong one breaks the header's sum.
    assert checksum_verdict(header, int(hdu.header["DATASUM"]) + 1) == "bad"


def test_header_only_verdicts(sky: SkySurvey) -> None:
    for case, path in sky.checksums.items():
        records = read_headers(str(path))
        reference = astropy_verdicts(path)
        got = [r.checksum for r in records]
        if case == "data_flipped":
            # The header alone is intact and agrees with its stored DATASUM: only reading the
            # data finds this one.
            assert got == ["ok", "ok"]
            assert [c for c, _ in reference] == ["ok", "bad"]
        else:
            assert got == [c for c, _ in reference], case
    assert astropy_verdicts(sky.checksums["header_flipped"])[1] == ("bad", "ok")
    assert astropy_verdicts(sky.checksums["missing"]) == [("absent", "absent")] * 2


async def test_verify_data_over_http_equals_astropy(sky: SkySurvey, sky_http: HTTPServer) -> None:
    async with Client() as client:
        for case, path in sky.checksums.items():
            records = await client.read_headers(sky_http.url(path))
            verdicts = await verify_data(client, records)
            got = [(v["checksum"], v["datasum"]) for v in verdicts]
            assert got == astropy_verdicts(path), case
        for path in [sky.camera, *sky.sector]:
            records = await client.read_headers(sky_http.url(path))
            got = [(v["checksum"], v["datasum"]) for v in await verify_data(client, records)]
            assert got == astropy_verdicts(path) == [("ok", "ok")] * len(records)


def test_verify_data_reads_every_data_byte(sky: SkySurvey, sky_http: HTTPServer) -> None:
    path = sky.checksums["good"]
    mark = sky_http.log_mark()

    async def run() -> None:
        async with Client() as client:
            records = await client.read_headers(sky_http.url(path))
            await verify_data(client, records, piece=2880 * 4)

    import asyncio

    asyncio.run(run())
    entries = sky_http.access_log_entries(mark, at_least=2)
    with fits.open(path) as hdul:
        data_bytes = hdul[1]._data_size  # padded
    assert sum(e.bytes_sent for e in entries) >= data_bytes
    assert len(entries) >= data_bytes // (2880 * 4)


def test_index_verify_data_from_s3_equals_astropy(
    sky: SkySurvey, sky_s3: S3Server, tmp_path: Path
) -> None:
    urls = [sky_s3.url(sky_s3.scratch_bucket, "sky/" + p.name) for p in sky.checksums.values()]
    catalog = build_catalog(
        tmp_path / "sums.parquet", urls, s3_options(sky_s3), verify_data=True, footprints=False
    )
    rows = read_catalog(catalog).to_pylist()
    for case, path in sky.checksums.items():
        got = sorted(
            (r["hdu"], r["checksum"], r["datasum"]) for r in rows if r["url"].endswith(path.name)
        )
        want = [(i, c, d) for i, (c, d) in enumerate(astropy_verdicts(path))]
        assert got == want, case


def test_index_without_verify_data_leaves_datasum_unread(sky: SkySurvey, tmp_path: Path) -> None:
    paths = [str(p) for p in sky.checksums.values()]
    rows = read_catalog(build_catalog(tmp_path / "c.jsonl", paths, Options())).to_pylist()
    by = {(Path(r["url"]).name, r["hdu"]): (r["checksum"], r["datasum"]) for r in rows}
    assert by[("sum-good.fits", 1)] == ("ok", None)
    assert by[("sum-missing.fits", 1)] == ("absent", "absent")
    assert by[("sum-header-flipped.fits", 1)] == ("bad", None)
    assert by[("sum-data-flipped.fits", 1)] == ("ok", None)


@pytest.mark.parametrize("piece", [2880, 2880 * 7])
async def test_truncated_data_fail_datasum(tmp_path: Path, sky: SkySurvey, piece: int) -> None:
    cut = tmp_path / "cut.fits"
    raw = sky.checksums["good"].read_bytes()
    cut.write_bytes(raw[: len(raw) - 2880 * 3])
    async with Client() as client:
        records = await client.read_headers(str(cut))
        verdicts = await verify_data(client, records, piece=piece)
    assert records[1].truncated
    assert verdicts[1] == {"checksum": "bad", "datasum": "bad"}
