"""find() against astropy's ``WCS.footprint_contains`` on 1,000 random positions, and at the
places where sky geometry goes wrong: RA = 0/360, the poles, the far side of the sphere.

astropy's ``footprint_contains`` counts pixel coordinates 0 < x < NAXIS1 (0-based) as inside,
half a pixel off the outer pixel edges that the catalog's corners follow (and a footprint's
sides are great circles, which a distorted image's edges bend away from by a fraction of a
pixel here). So the two may disagree only within a pixel of an image's edge; the test checks
that they agree everywhere else, and that such positions are few.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
import pytest
from answers_catalogs import build_catalog
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from astro_cloud_async.catalog import read_catalog
from astro_cloud_async.options import Options
from astro_cloud_async.sky import find
from astro_cloud_async.sky.sphere import contains, separation, unit_vectors

EDGE = 0.75  # pixels, around the middle of the two edge conventions


def names_at(catalog: Any, ra: float, dec: float, radius: float = 0) -> set[tuple[str, int]]:
    return {
        (r["url"].rsplit("/", 1)[1], r["hdu"]) for r in find(catalog, ra, dec, radius).to_pylist()
    }


def astropy_contains(w: Any, coords: SkyCoord) -> np.ndarray[Any, Any]:
    """``w.footprint_contains`` per position (given many, astropy answers False for all when
    one of them does not convert, e.g. on the far side of a distorted WCS)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flags = np.asarray(w.footprint_contains(coords))
        if flags.ndim == 0:
            flags = np.array([bool(w.footprint_contains(c)) for c in coords])
    return flags


def hdu_wcs(rows: list[dict[str, Any]]) -> dict[tuple[str, int], Any]:
    out = {}
    for row in rows:
        if row["footprint_ra"] is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[(row["url"], row["hdu"])] = WCS(fits.Header.fromstring(row["header"]))
    return out


def random_positions(rows: list[dict[str, Any]], n: int, seed: int) -> np.ndarray[Any, Any]:
    """Positions around the footprints (most near one) and a few anywhere on the sky."""
    rng = np.random.default_rng(seed)
    centres = [(r["footprint_ra"], r["footprint_dec"], r["footprint_radius"]) for r in rows
               if r["footprint_ra"] is not None]  # fmt: skip
    out = []
    for i in range(n):
        if i % 10 == 0:
            out.append((rng.uniform(0, 360), np.degrees(np.arcsin(rng.uniform(-1, 1)))))
            continue
        ra, dec, radius = centres[rng.integers(len(centres))]
        # A uniform point in a disc of 1.3 radii around the centre, on the sphere.
        distance = 1.3 * radius * np.sqrt(rng.uniform())
        angle = rng.uniform(0, 2 * np.pi)
        c = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(angle * u.rad, distance * u.deg)
        out.append((c.ra.deg, c.dec.deg))
    return np.array(out)


def test_find_agrees_with_footprint_contains(http_catalog: Path) -> None:
    rows = read_catalog(http_catalog).to_pylist()
    wcs = hdu_wcs(rows)
    positions = random_positions(rows, 1000, seed=14)
    coords = SkyCoord(positions[:, 0] * u.deg, positions[:, 1] * u.deg)
    inside: dict[tuple[str, int], np.ndarray[Any, Any]] = {}
    near_edge = np.zeros(len(positions), dtype=bool)
    for key, w in wcs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            x, y = w.wcs_world2pix(positions[:, 0], positions[:, 1], 0)
        inside[key] = astropy_contains(w, coords)
        nx, ny = w.pixel_shape
        on_sky = separation(positions[:, 0], positions[:, 1], *w.wcs.crval) < 5
        for pixel, n in ((x, nx), (y, ny)):
            band = (np.abs(pixel + 0.25) <= EDGE) | (np.abs(pixel - (n - 0.25)) <= EDGE)
            near_edge |= band & on_sky
    agreed = covered = 0
    for i, (ra, dec) in enumerate(positions):
        got = {(r["url"], r["hdu"]) for r in find(http_catalog, ra, dec).to_pylist()}
        want = {key for key, flags in inside.items() if flags[i]}
        covered += bool(want)
        if near_edge[i]:
            continue
        assert got == want, (ra, dec)
        agreed += 1
    assert agreed >= 950  # positions near an edge of these small images: a few percent
    assert covered >= 300  # and many positions are covered by some image


def test_ra_wraps_at_zero(http_catalog: Path) -> None:
    rows = read_catalog(http_catalog).to_pylist()
    ra0 = next(r for r in rows if r["url"].endswith("field-ra0_tan.fits") and r["hdu"] == 1)
    corners = json.loads(ra0["footprint"])
    assert min(c[0] for c in corners) < 1 and max(c[0] for c in corners) > 359  # crosses 0
    for ra in (359.99, 0.0, 360.0, 0.05, -0.01):
        assert names_at(http_catalog, ra, -5.0) == {("field-ra0_tan.fits", 1)}, ra
    assert len(find(http_catalog, 180.0, -5.0)) == 0  # the far side of the sky


@pytest.mark.parametrize("ra", [0.0, 45.0, 90.0, 180.0, 270.0, 359.0])
def test_a_field_holding_the_pole_is_found_at_every_ra(http_catalog: Path, ra: float) -> None:
    names = {r["url"].rsplit("/", 1)[1] for r in find(http_catalog, ra, 90.0).to_pylist()}
    assert names == {"field-pole.fits"}
    names = {r["url"].rsplit("/", 1)[1] for r in find(http_catalog, ra, 89.999).to_pylist()}
    assert names == {"field-pole.fits"}
    assert len(find(http_catalog, ra, -90.0)) == 0  # the south field is 0.1 deg off its pole


def test_every_catalog_form_gives_the_same_rows(
    http_catalog: Path, sky: Any, tmp_path: Path
) -> None:
    paths = [str(p) for p in sky.all_files]
    jsonl = build_catalog(tmp_path / "local.jsonl", paths, Options())
    csv = build_catalog(tmp_path / "local.csv", paths, Options())
    table = read_catalog(http_catalog)
    for ra, dec in [(150.0, 2.0), (150.04, 2.06), (80.03, -10.02), (0.02, -5.0)]:
        want = names_at(http_catalog, ra, dec)
        assert want, (ra, dec)
        for catalog in (jsonl, csv, table):
            assert names_at(catalog, ra, dec) == want


def test_found_rows_are_whole(http_catalog: Path) -> None:
    table = find(http_catalog, 150.0, 2.0)
    assert table.column_names == read_catalog(http_catalog).column_names
    for row in table.to_pylist():
        assert row["header"].startswith("XTENSION= 'IMAGE")
        assert row["checksum"] in ("ok", "bad", "absent")


def test_radius_takes_footprints_passing_near(http_catalog: Path) -> None:
    rows = read_catalog(http_catalog).to_pylist()
    equator = next(r for r in rows if r["url"].endswith("field-equator.fits") and r["hdu"] == 1)
    corners = np.array(json.loads(equator["footprint"]))
    # A point 10 arcsec outside the middle of the first side.
    middle = unit_vectors(*corners[:2].mean(axis=0))
    centre = unit_vectors(equator["footprint_ra"], equator["footprint_dec"])
    outward = middle - centre
    point = middle + outward / np.linalg.norm(outward) * np.radians(10 / 3600)
    point /= np.linalg.norm(point)
    ra = float(np.degrees(np.arctan2(point[1], point[0])) % 360)
    dec = float(np.degrees(np.arcsin(point[2])))
    key = ("field-equator.fits", 1)
    assert key not in names_at(http_catalog, ra, dec)
    assert key not in names_at(http_catalog, ra, dec, 5)
    assert key in names_at(http_catalog, ra, dec, 15)


def test_contains_handles_either_orientation() -> None:
    square = np.array([[10, -1], [10, 1], [12, 1], [12, -1]], dtype=float)
    for corners in (square, square[::-1]):
        vectors = unit_vectors(corners[:, 0], corners[:, 1])[None]
        centre = unit_vectors(11.0, 0.0)[None]
        assert contains(vectors, centre, unit_vectors(11.0, 0.5))[0]
        assert not contains(vectors, centre, unit_vectors(13.0, 0.5))[0]
        assert not contains(vectors, centre, unit_vectors(191.0, 0.0))[0]  # antipode


def test_bad_positions_are_refused(http_catalog: Path) -> None:
    from astro_cloud_async.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        find(http_catalog, 10.0, 91.0)
    with pytest.raises(ConfigurationError):
        find(http_catalog, 10.0, 0.0, radius=-1)
