"""Cutouts against ``astropy.nddata.Cutout2D`` on the local files: pixels (partial ones at an
edge included, filled as Cutout2D fills them) and WCS, over HTTP and from S3; the bytes a
cutout costs counted in the server's access log."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
import pytest
from answers_catalogs import s3_options
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS
from servers import HTTPServer
from servers.seaweedfs import S3Server
from sky_survey import SkySurvey

from astro_cloud_async import Client
from astro_cloud_async.cutouts import cutouts, plan_cutout, write_cutouts
from astro_cloud_async.sections import SectionFailed, plan_for, record_from_row
from astro_cloud_async.sky import find


def reference(path: Path, index: int, ra: float, dec: float, size: Any, **kw: Any) -> Cutout2D:
    """Cutout2D on the local file (filled with 0 for integer images, which cannot hold NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as hdul:
            data = np.array(hdul[index].data)
            w = WCS(hdul[index].header)
        if data.dtype.kind != "f":
            kw.setdefault("fill_value", 0)
        return Cutout2D(data, SkyCoord(ra * u.deg, dec * u.deg), size, wcs=w, **kw)


def same_wcs(header: fits.Header, want: Any, shape: tuple[int, int]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = WCS(header)
    np.testing.assert_array_equal(got.wcs.crpix, want.wcs.crpix)
    np.testing.assert_array_equal(got.wcs.crval, want.wcs.crval)
    np.testing.assert_array_equal(got.pixel_scale_matrix, want.pixel_scale_matrix)
    assert (got.sip is None) == (want.sip is None)
    if got.sip is not None:
        np.testing.assert_array_equal(got.sip.a, want.sip.a)
        np.testing.assert_array_equal(got.sip.crpix, want.sip.crpix)
    ys, xs = np.mgrid[0 : shape[0] : 7, 0 : shape[1] : 7]
    np.testing.assert_allclose(
        got.all_pix2world(xs.ravel(), ys.ravel(), 0),
        want.all_pix2world(xs.ravel(), ys.ravel(), 0),
        rtol=0,
        atol=1e-12,
    )


def targets(sky: SkySurvey) -> list[tuple[str, float, float]]:
    """(field, ra, dec): a centre, points near each kind of edge, a corner, the pole."""
    out = []
    for name in ("equator", "ra0_sip", "tpv", "pole", "unflipped"):
        path = sky.fields[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = WCS(fits.getheader(path, 1))
        ny, nx = 150, 200
        for x, y in [(100, 75), (5, 70), (nx - 3, 10), (90, ny - 2), (2, 1)]:
            ra, dec = w.all_pix2world([[x, y]], 0)[0]
            out.append((name, float(ra), float(dec)))
    return out


async def check_cutouts(sky: SkySurvey, catalog: Path, options: Any) -> int:
    partial = 0
    async with Client(options) as client:
        for name, ra, dec in targets(sky):
            rows = find(catalog, ra, dec).to_pylist()
            records = [record_from_row(r) for r in rows if r["url"].endswith(f"field-{name}.fits")]
            assert len(records) == 1, (name, ra, dec)
            results = [c async for c in cutouts(records, ra, dec, (31, 40), client=client)]
            (cut,) = results
            assert not isinstance(cut, SectionFailed), cut
            want = reference(sky.fields[name], 1, ra, dec, (31, 40), mode="partial")
            assert cut.data.shape == want.data.shape == (31, 40)
            np.testing.assert_array_equal(cut.data, want.data)  # NaN (or 0) where filled
            same_wcs(cut.header, want.wcs, cut.data.shape)
            partial += cut.plan.slices_cutout != (slice(0, 31), slice(0, 40))
            assert cut.plan.origin == tuple(int(v) for v in want._origin_original_true)
    return partial


async def test_cutouts_over_http_equal_cutout2d(
    sky: SkySurvey, sky_http: HTTPServer, http_catalog: Path
) -> None:
    assert await check_cutouts(sky, http_catalog, None) >= 10  # the edge targets


async def test_cutouts_from_s3_equal_cutout2d(
    sky: SkySurvey, sky_s3: S3Server, s3_catalog: Path
) -> None:
    assert await check_cutouts(sky, s3_catalog, s3_options(sky_s3)) >= 10


async def test_scaled_and_unsigned_images(sky: SkySurvey, http_catalog: Path) -> None:
    ra, dec = 80.03, -10.02
    async with Client() as client:
        rows = [r for r in find(http_catalog, ra, dec).to_pylist() if "camera" in r["url"]]
        records = [record_from_row(r) for r in rows]
        assert sorted(r.index for r in records) == [1, 3]
        got = {c.record.index: c async for c in cutouts(records, ra, dec, 80, client=client)}
        trimmed = {
            c.record.index: c
            async for c in cutouts(records, ra, dec, 80, client=client, mode="trim")
        }
        zero_filled = [
            c async for c in cutouts(records[:1], ra, dec, 80, client=client, fill_value=-1.0)
        ]
    for index, cut in got.items():
        want = reference(sky.camera, index, ra, dec, 80, mode="partial")
        np.testing.assert_array_equal(cut.data, want.data)
        assert cut.data.dtype == want.data.dtype.newbyteorder("=")
        same_wcs(cut.header, want.wcs, cut.data.shape)
        trim = reference(sky.camera, index, ra, dec, 80, mode="trim")
        np.testing.assert_array_equal(trimmed[index].data, trim.data)
        same_wcs(trimmed[index].header, trim.wcs, trim.data.shape)
    (filled,) = zero_filled
    assert (filled.data == -1.0).sum() == np.isnan(got[filled.record.index].data).sum() > 0


async def test_a_cutout_reads_only_its_rows(
    sky: SkySurvey, sky_http: HTTPServer, http_catalog: Path
) -> None:
    name = "equator"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = WCS(fits.getheader(sky.fields[name], 1))
    ra, dec = (float(v) for v in w.all_pix2world([[100, 75]], 0)[0])
    (row,) = [r for r in find(http_catalog, ra, dec).to_pylist() if f"field-{name}" in r["url"]]
    record = record_from_row(row)
    plan = plan_cutout(record, ra, dec, 16)
    assert plan is not None
    section = plan_for(record, plan.slices_original, gap=0)
    mark = sky_http.log_mark()
    async with Client() as client:
        (cut,) = [c async for c in cutouts([record], ra, dec, 16, client=client, gap=0)]
    entries = sky_http.access_log_entries(mark, at_least=16)
    assert len(entries) == 16  # one request per row
    assert sum(e.bytes_sent for e in entries) == section.nbytes == 16 * 16 * 4
    assert section.nbytes * 50 < record.data_size
    np.testing.assert_array_equal(cut.data, reference(sky.fields[name], 1, ra, dec, 16).data)


async def test_write_cutouts_writes_one_file_per_hdu(
    sky: SkySurvey, http_catalog: Path, tmp_path: Path
) -> None:
    ra, dec = 150.0, 2.0
    seen: list[tuple[int, int]] = []
    async with Client() as client:
        report = await write_cutouts(
            http_catalog, ra, dec, 20, tmp_path / "out", client=client,
            progress=lambda done, total: seen.append((done, total)),
        )  # fmt: skip
        again = await write_cutouts(http_catalog, ra, dec, 20, tmp_path / "out", client=client)
    names = sorted(p.name for p in report.written)
    assert names == sorted(
        [
            "field-equator-hdu1.fits",
            "sum-good-hdu1.fits",
            "sum-missing-hdu1.fits",
            "sum-header-flipped-hdu1.fits",
            "sum-data-flipped-hdu1.fits",
        ]
    )
    assert report.failed == [] and report.matched == 5 and seen[-1] == (5, 5)
    # A second run does not overwrite: its files get new names.
    assert all(p.name.endswith("-2.fits") for p in again.written)
    want = reference(sky.fields["equator"], 1, ra, dec, 20)
    with fits.open(tmp_path / "out" / "field-equator-hdu1.fits", checksum=True) as hdul:
        np.testing.assert_array_equal(hdul[0].data, want.data)
        same_wcs(hdul[0].header, want.wcs, want.data.shape)
        assert hdul[0].verify_checksum() == 1
        assert "BSCALE" not in hdul[0].header and hdul[0].header["OBJECT"] == "equator"


@pytest.mark.parametrize("index", [0, 4])
async def test_hdus_without_images_fail_alone(sky: SkySurvey, index: int) -> None:
    from astro_cloud_async import read_headers

    records = read_headers(str(sky.camera))
    async with Client() as client:
        results = [
            c async for c in cutouts([records[index], records[1]], 80.03, -10.02, 8, client=client)
        ]
    kinds = sorted(type(r).__name__ for r in results)
    assert kinds == ["Cutout", "SectionFailed"]
