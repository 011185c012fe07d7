"""Footprint columns against astropy: corners are ``calc_footprint(center=False)``, the centre
the middle pixel, the radius holds the whole image; null where there is no celestial WCS."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from sky_survey import SkySurvey

from astro_cloud_async import read_headers
from astro_cloud_async.catalog import read_catalog
from astro_cloud_async.demo.survey import write_mosaic_like, write_tess_ffi_like
from astro_cloud_async.fits import parse_header
from astro_cloud_async.fits.header import Header
from astro_cloud_async.sky.footprints import (
    TanCards,
    columns_of,
    footprint,
    footprint_columns,
    footprint_columns_of_jobs,
    footprint_columns_of_raw,
    footprint_from_cards,
    footprint_job,
    footprints,
    quick_footprint,
    wcs_cards,
)
from astro_cloud_async.sky.sphere import separation


def same_points(got: Any, want: Any) -> None:
    """Positions within 1e-9 degrees of each other (RA itself is ill-conditioned at a pole)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    distance = separation(got[:, 0], got[:, 1], want[:, 0], want[:, 1])
    assert distance.max() < 1e-9, distance


def astropy_wcs(header: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WCS(header)


def test_catalog_footprints_equal_astropys(http_catalog: Path) -> None:
    rows = read_catalog(http_catalog).to_pylist()
    with_footprint = 0
    for row in rows:
        header = fits.Header.fromstring(row["header"])
        image = header.get("NAXIS", 0) == 2 and "CTYPE1" in header
        if not image:
            assert row["footprint"] is None and row["footprint_ra"] is None, row["url"]
            continue
        with_footprint += 1
        w = astropy_wcs(header)
        want = w.calc_footprint(center=False)
        got = np.array(json.loads(row["footprint"]))
        want[:, 0] %= 360
        same_points(got, want)
        nx, ny = w.pixel_shape
        centre = w.all_pix2world([[(nx - 1) / 2, (ny - 1) / 2]], 0)[0]
        assert abs(separation(row["footprint_ra"], row["footprint_dec"], *centre)) < 1e-9
        # The radius holds every pixel of the image (a grid over it, edges included).
        xs, ys = np.meshgrid(np.linspace(-0.5, nx - 0.5, 21), np.linspace(-0.5, ny - 0.5, 21))
        world = w.all_pix2world(np.column_stack([xs.ravel(), ys.ravel()]), 0)
        distances = separation(row["footprint_ra"], row["footprint_dec"], world[:, 0], world[:, 1])
        assert distances.max() <= row["footprint_radius"] * (1 + 1e-9)
        assert distances.max() > 0.95 * row["footprint_radius"]
    assert with_footprint == 8 + 3 + 4 + 4  # fields, camera CCDs, sector frames, sum copies


def test_distorted_fields_keep_their_distortion(sky: SkySurvey) -> None:
    for name in ("ra0_sip", "tpv", "south"):
        record = read_headers(str(sky.fields[name]))[1]
        found = footprint(record.header)
        assert found is not None
        bare = record.fits.copy()
        for key in list(bare):
            if key.startswith(("PV", "A_", "B_", "AP_", "BP_")):
                del bare[key]
        bare["CTYPE1"], bare["CTYPE2"] = "RA---TAN", "DEC--TAN"
        distorted = astropy_wcs(record.fits).calc_footprint(center=False)
        undistorted = astropy_wcs(bare).calc_footprint(center=False)
        # The distortion moves the corners by a fraction of a pixel or more; footprints follow.
        assert np.abs(distorted - undistorted).max() > 1e-4, name
        distorted[:, 0] %= 360
        same_points(found.corners, distorted)


def test_only_wcs_cards_are_handed_to_astropy(sky: SkySurvey) -> None:
    for path in [*sky.fields.values(), sky.camera]:
        for record in read_headers(str(path)):
            cards = wcs_cards(record.header)
            if cards is None:
                assert footprint_columns(record.header)["footprint"] is None
                continue
            assert len(cards) % 80 == 0 and len(cards) < len(record.header.raw)
            whole = astropy_wcs(record.fits).calc_footprint(center=False)
            whole[:, 0] %= 360
            found = footprint_from_cards(cards)
            assert found is not None
            same_points(found.corners, whole)


def test_worker_form_equals_direct(sky: SkySurvey) -> None:
    records = read_headers(str(sky.camera))
    assert footprint_columns_of_raw([r.header.raw for r in records]) == [
        footprint_columns(r.header) for r in records
    ]


def test_no_celestial_wcs_gives_null() -> None:
    linear = fits.Header(
        [
            ("SIMPLE", True),
            ("BITPIX", 16),
            ("NAXIS", 2),
            ("NAXIS1", 10),
            ("NAXIS2", 10),
            ("CTYPE1", "LINEAR"),
            ("CTYPE2", "LINEAR"),
        ]
    )
    assert footprint(parse_header(linear.tostring().encode())) is None
    spectrum = fits.Header([("SIMPLE", True), ("BITPIX", 16), ("NAXIS", 1), ("NAXIS1", 10),
                            ("CTYPE1", "WAVE")])  # fmt: skip
    assert footprint(parse_header(spectrum.tostring().encode())) is None
    one_axis = linear.copy()
    one_axis["CTYPE1"] = "RA---TAN"  # a longitude with no latitude
    assert footprint(parse_header(one_axis.tostring().encode())) is None


def test_a_cube_and_a_compressed_image(tmp_path: Path) -> None:
    header = fits.Header(
        [
            ("CTYPE1", "RA---TAN"),
            ("CTYPE2", "DEC--TAN"),
            ("CTYPE3", "WAVE"),
            ("CRVAL1", 10.0),
            ("CRVAL2", 20.0),
            ("CRPIX1", 5.5),
            ("CRPIX2", 4.5),
            ("CDELT1", -0.001),
            ("CDELT2", 0.001),
            ("CRVAL3", 5e-7),
            ("CDELT3", 1e-9),
        ]
    )
    cube = fits.ImageHDU(np.zeros((3, 8, 10), dtype=np.float32), header)
    plane = header.copy()
    for key in ("CTYPE3", "CRVAL3", "CDELT3"):
        del plane[key]
    compressed = fits.CompImageHDU(np.zeros((8, 10), dtype=np.float32), plane)
    path = tmp_path / "cube.fits"
    fits.HDUList([fits.PrimaryHDU(), cube, compressed]).writeto(path)
    _, cube_record, compressed_record = read_headers(str(path))
    flat = astropy_wcs(plane.copy())
    flat.pixel_shape = (10, 8)
    want = flat.calc_footprint(center=False)
    for record in (cube_record, compressed_record):
        found = footprint(record.header)
        assert found is not None, record
        same_points(found.corners, want)


def test_a_dask_partition_computes_footprints_too(sky: SkySurvey, http_catalog: Path) -> None:
    from astro_cloud_async.dask.partitions import Partition, scan_partition
    from astro_cloud_async.options import Options

    urls = tuple(str(p) for p in sky.fields.values())
    scanned = scan_partition(Partition(0, urls), (), Options(), footprints=True)
    plain = scan_partition(Partition(0, urls), (), Options())
    by_name = {
        (Path(r["url"]).name, r["hdu"]): r["footprint"]
        for r in read_catalog(http_catalog).to_pylist()
    }
    assert all(r["footprint"] is None for r in plain.rows)
    assert len(scanned.rows) == 2 * len(urls)
    for row in scanned.rows:
        assert row["footprint"] == by_name[(Path(row["url"]).name, row["hdu"])]


def test_the_numpy_path_equals_astropy(sky: SkySurvey, tmp_path: Path) -> None:
    tess = write_tess_ffi_like(tmp_path / "tess.fits")
    mosaic = write_mosaic_like(tmp_path / "mosaic.fits", n_ccds=3)
    quick = 0
    for path in [*sky.fields.values(), sky.camera, tess, mosaic]:
        for record in read_headers(str(path)):
            found = quick_footprint(record.header)
            cards = wcs_cards(record.header)
            slow = None if cards is None else footprint_from_cards(cards)
            if found is None:
                continue
            quick += 1
            assert slow is not None
            same_points(found.corners, slow.corners)
            same_points([(found.ra, found.dec)], [(slow.ra, slow.dec)])
            assert abs(found.radius - slow.radius) < 1e-9
    # Every TAN and TAN-SIP image here takes the numpy path; TPV does not.
    assert quick == 7 + 3 + 2 + 3
    assert quick_footprint(read_headers(str(sky.fields["tpv"]))[1].header) is None


def every_header(sky: SkySurvey, folder: Path) -> list[Header]:
    """Every HDU's header of the survey, a TESS-like frame and a mosaic of three CCDs."""
    tess = write_tess_ffi_like(folder / "tess.fits")
    mosaic = write_mosaic_like(folder / "mosaic.fits", n_ccds=3)
    return [r.header for p in [*sky.all_files, tess, mosaic] for r in read_headers(str(p))]


def test_the_batched_path_gives_the_one_header_columns(sky: SkySurvey, tmp_path: Path) -> None:
    headers = every_header(sky, tmp_path)
    one_by_one = [footprint_columns(h) for h in headers]
    assert sum(c["footprint"] is not None for c in one_by_one) == 8 + 3 + 4 + 4 + 2 + 3
    # In this process, all at once and in any order: the same numbers, to the last bit.
    assert [columns_of(found) for found in footprints(headers)] == one_by_one
    backwards = [columns_of(found) for found in footprints(headers[::-1])]
    assert backwards[::-1] == one_by_one
    # As the index job does it: each header's cards taken here, the columns computed from the
    # jobs after a trip through pickle (what a worker process is sent).
    jobs = pickle.loads(pickle.dumps([footprint_job(h) for h in headers]))
    assert sum(isinstance(job, TanCards) for job in jobs) == 7 + 3 + 4 + 4 + 2 + 3  # not TPV
    assert footprint_columns_of_jobs(jobs) == one_by_one
    assert footprint_columns_of_raw([h.raw for h in headers]) == one_by_one


def sip_header(orders: tuple[int, int], seed: int) -> fits.Header:
    rng = np.random.default_rng(seed)
    header = fits.Header(
        [("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 2), ("NAXIS1", 300 + seed),
         ("NAXIS2", 200), ("CTYPE1", "RA---TAN-SIP"), ("CTYPE2", "DEC--TAN-SIP"),
         ("CRVAL1", rng.uniform(0, 360)), ("CRVAL2", rng.uniform(-80, 80)),
         ("CRPIX1", rng.uniform(140, 160)), ("CRPIX2", rng.uniform(90, 110)),
         ("CD1_1", -2e-4), ("CD1_2", 3e-6), ("CD2_1", 2e-6), ("CD2_2", 2e-4),
         ("A_ORDER", orders[0]), ("B_ORDER", orders[1])]
    )  # fmt: skip
    for letter, order in zip("AB", orders, strict=True):
        for p in range(order + 1):
            for q in range(order + 1 - p):
                if p + q >= 2:
                    header[f"{letter}_{p}_{q}"] = rng.normal(0, 10.0 ** (-2 - 2 * (p + q)))
    return header


def test_different_sip_orders_in_one_batch() -> None:
    made = [
        sip_header(orders, seed) for seed, orders in enumerate([(3, 2), (2, 3), (4, 4), (2, 2)])
    ]
    headers = [parse_header(h.tostring().encode()) for h in made]
    together = footprints(headers)
    for header, found, reference in zip(headers, together, made, strict=True):
        assert found is not None and found == quick_footprint(header)
        want = astropy_wcs(reference).calc_footprint(center=False)
        want[:, 0] %= 360
        same_points(found.corners, want)


def test_what_the_cards_do_not_decide_goes_back_for_the_whole_header() -> None:
    # RA---TAN-SIP by its keywords and CTYPEs, but centred on the pole, which the numpy path
    # leaves to astropy: the cards come back (None) and the raw header decides.
    made = sip_header((2, 2), 7)
    made["CRVAL2"] = 90.0
    header = parse_header(made.tostring().encode())
    job = footprint_job(header)
    assert isinstance(job, TanCards)
    assert footprint_columns_of_jobs([job]) == [None]
    columns = footprint_columns_of_jobs([header.raw])
    assert columns == [footprint_columns(header)] and columns[0]["footprint"] is not None
    want = astropy_wcs(made).calc_footprint(center=False)
    want[:, 0] %= 360
    same_points(json.loads(columns[0]["footprint"]), want)


def test_a_long_string_among_the_wcs_cards() -> None:
    made = sip_header((2, 2), 3)
    made.insert("CRVAL1", ("OBSERVER", "a long string value " * 8))  # CONTINUE cards
    header = parse_header(made.tostring().encode())
    assert len(header.cards[header.keywords.index("OBSERVER")].image) > 80
    job = footprint_job(header)
    assert isinstance(job, TanCards)
    found = footprint_columns_of_jobs([job])[0]
    assert found is not None and found == footprint_columns(header)
    want = astropy_wcs(made).calc_footprint(center=False)
    want[:, 0] %= 360
    same_points(json.loads(found["footprint"]), want)
