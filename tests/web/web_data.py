"""Files and catalogs the web tests open: real pixels, real WCS, real footprints.

* :func:`write_pointing` -- one exposure of a small survey camera: an empty primary and 19
  image extensions (128 x 128 float32 with stars and noise, a TAN WCS each), tiled on the sky;
* :func:`write_special_cards` -- headers with every kind of card (long strings with CONTINUE,
  HIERARCH, complex, undefined, logical, commentary) around an int16 image with BZERO and a
  binary table;
* :func:`write_sparse_4gb` -- a 4 GiB image between two small HDUs, sparse on disk, so a reader
  that does not jump over data would have to read 4 GiB;
* :func:`write_survey_catalog` -- 50 pointings scanned into a catalog of exactly 1,000 HDUs,
  with footprint columns computed by ``astropy.wcs.WCS(header).calc_footprint()``;

and the handles the fixtures give the tests (:class:`Survey`, :class:`Served`).
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

import astro_cloud_async
from astro_cloud_async import scan
from astro_cloud_async.catalog import to_arrow

ROOT = Path(astro_cloud_async.__file__).resolve().parent.parent
"""The source tree whose package the tests run (``serve`` is started from it)."""
CCD_SIDE = 128
PIXEL_DEG = 7.0 / 3600  # 7 arcsec pixels: a CCD covers 0.25 degrees
CCDS = [(i, j) for j in range(4) for i in range(5) if (i, j) != (4, 3)]  # 19 CCDs
N_POINTINGS = 50
"""Pointings of the survey catalog: 50 x (1 primary + 19 CCDs) = 1,000 HDUs."""
SURVEY_KEYWORDS = "OBJECT,FILTER,EXPTIME,DATE-OBS,AIRMASS,CCDNUM,NAXIS1,NAXIS2"


def _stars(rng: np.random.Generator, side: int, sky: float) -> np.ndarray[Any, Any]:
    """Sky noise, 15 to 40 Gaussian stars and now and then a faint galaxy."""
    image = rng.normal(sky, math.sqrt(sky) * 0.6, (side, side))
    half = 7
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    for _ in range(rng.integers(15, 40)):
        x0, y0 = rng.integers(half, side - half, 2)
        dx, dy = rng.uniform(-0.5, 0.5, 2)
        flux = rng.lognormal(7.5, 1.2)
        sigma = rng.uniform(1.1, 1.8)
        star = np.exp(-((xx - dx) ** 2 + (yy - dy) ** 2) / (2 * sigma**2))
        image[y0 - half : y0 + half + 1, x0 - half : x0 + half + 1] += (
            flux / (2 * math.pi * sigma**2) * star
        )
    if rng.random() < 0.3:
        gy, gx = np.mgrid[0:side, 0:side]
        x0, y0 = rng.uniform(20, side - 20, 2)
        image += 60 * np.exp(-(((gx - x0) / 9) ** 2 + ((gy - y0) / 4) ** 2))
    return image.astype(np.float32)


def write_pointing(path: Path, *, number: int, ra: float, dec: float, seed: int = 0) -> Path:
    """One exposure: primary + 19 CCD images centred near (ra, dec)."""
    rng = np.random.default_rng(seed * 1000 + number)
    filt = "gri"[number % 3]
    primary = fits.PrimaryHDU()
    h = primary.header
    h["OBSERVAT"] = ("CTIO", "observatory")
    h["TELESCOP"] = ("Blanco 4m", "telescope")
    h["INSTRUME"] = ("SKYCAM", "instrument")
    h["OBJECT"] = (f"stripe82-{number:03d}", "field name")
    h["FILTER"] = (filt, "filter band")
    h["EXPTIME"] = (float(30 + 15 * (number % 4)), "[s] exposure time")
    h["DATE-OBS"] = (f"2019-10-{1 + number % 28:02d}T0{number % 10}:12:34.5", "start of exposure")
    h["AIRMASS"] = (round(1.0 + 0.02 * (number % 17), 3), "airmass at start")
    h["RA"] = (ra, "[deg] pointing right ascension")
    h["DEC"] = (dec, "[deg] pointing declination")
    h["HISTORY"] = "written by the astro_cloud_async web tests"
    hdus: list[Any] = [primary]
    cos_dec = math.cos(math.radians(dec))
    for n, (i, j) in enumerate(CCDS, start=1):
        data = _stars(rng, CCD_SIDE, sky=200 + 40 * (number % 3))
        image = fits.ImageHDU(data, name=f"CCD{n:02d}")
        e = image.header
        e["CCDNUM"] = (n, "CCD number")
        e["OBJECT"] = h["OBJECT"]
        e["FILTER"] = filt
        e["EXPTIME"] = h["EXPTIME"]
        e["DATE-OBS"] = h["DATE-OBS"]
        e["AIRMASS"] = h["AIRMASS"]
        e["GAIN"] = (round(float(rng.uniform(3.8, 4.4)), 3), "[e/ADU]")
        e["CTYPE1"], e["CTYPE2"] = "RA---TAN", "DEC--TAN"
        e["CRPIX1"], e["CRPIX2"] = CCD_SIDE / 2 + 0.5, CCD_SIDE / 2 + 0.5
        step = CCD_SIDE * PIXEL_DEG * 1.04
        e["CRVAL1"] = (ra + (i - 2) * step / cos_dec) % 360
        e["CRVAL2"] = dec + (j - 1.5) * step
        e["CD1_1"], e["CD1_2"] = -PIXEL_DEG, 0.0
        e["CD2_1"], e["CD2_2"] = 0.0, PIXEL_DEG
        e["CUNIT1"], e["CUNIT2"] = "deg", "deg"
        hdus.append(image)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def write_special_cards(path: Path) -> Path:
    """Three HDUs whose headers hold every kind of card a reader must get right."""
    primary = fits.PrimaryHDU()
    h = primary.header
    h["OBSERVER"] = "Henrietta Swan Leavitt"
    h["LONGSTR"] = (
        "This string value is much longer than one card can hold, so it goes on in CONTINUE "
        "cards, and ends here&"
    )
    h["HIERARCH ESO DET CHIP NAME"] = ("CCD-44-82", "a HIERARCH keyword")
    h["HIERARCH ESO TEL AIRM START"] = 1.234
    h["COMPLEX"] = (complex(1.5, -2.25), "a complex value")
    h["LOGICAL"] = (False, "a logical value")
    h["UNDEF"] = (None, "an undefined value")
    h["BIGINT"] = (123456789012345678, "a 64-bit integer")
    h["TINY"] = (1.0e-300, "a very small real")
    h["QUOTE"] = ("it's 'quoted'", "quotes inside a string")
    h["COMMENT"] = "A commentary card: no value, only text."
    h["HISTORY"] = "2020-01-02 flat-fielded"
    h[""] = "a card with a blank keyword"
    image = fits.ImageHDU(
        (np.arange(40 * 60, dtype=np.uint16).reshape(40, 60) * 7) % 65535, name="RAW"
    )
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="SOURCE_ID", format="K", array=np.arange(5)),
            fits.Column(name="RA", format="D", unit="deg", array=np.linspace(10, 11, 5)),
            fits.Column(name="MAG", format="E", array=np.linspace(18, 20, 5)),
            fits.Column(name="NAME", format="12A", array=[f"star-{k}" for k in range(5)]),
        ],
        name="SOURCES",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy warns that HIERARCH cards are long
        fits.HDUList([primary, image, table]).writeto(path, overwrite=True)
    return path


def write_sparse_4gb(path: Path) -> Path:
    """Primary, a 32768 x 32768 float32 image (4 GiB, a hole on disk), then a small table."""
    primary = fits.Header()
    primary["SIMPLE"] = True
    primary["BITPIX"] = 8
    primary["NAXIS"] = 0
    primary["EXTEND"] = True
    primary["OBJECT"] = "a sparse giant"
    big = fits.Header()
    big["XTENSION"] = "IMAGE"
    big["BITPIX"] = -32
    big["NAXIS"] = 2
    big["NAXIS1"] = 32768
    big["NAXIS2"] = 32768
    big["PCOUNT"] = 0
    big["GCOUNT"] = 1
    big["EXTNAME"] = "HUGE"
    tail = fits.BinTableHDU.from_columns(
        [fits.Column(name="X", format="J", array=np.arange(10))], name="TAIL"
    )
    buffer = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), tail]).writeto(buffer)
    tail_bytes = buffer.getvalue()[2880:]  # after the one-block empty primary
    head = primary.tostring().encode() + big.tostring().encode()
    data_bytes = 32768 * 32768 * 4
    with open(path, "wb") as f:
        f.write(head)
        f.seek(len(head) + data_bytes + (-data_bytes) % 2880)  # the data: a hole
        f.write(tail_bytes)
    return path


def survey_positions(n: int = N_POINTINGS) -> list[tuple[float, float]]:
    """Pointing centres on a 10 x 5 grid with a little dither (deterministic)."""
    rng = np.random.default_rng(82)
    positions = []
    for k in range(n):
        col, row = k % 10, k // 10
        ra = 40.0 + col * 1.32 + float(rng.normal(0, 0.05))
        dec = -4.0 + row * 1.06 + float(rng.normal(0, 0.05))
        positions.append((ra, dec))
    return positions


def _separation(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Angle between two directions, degrees (Vincenty's formula, as astropy uses)."""
    a1, d1, a2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    dra = a2 - a1
    num = math.hypot(
        math.cos(d2) * math.sin(dra),
        math.cos(d1) * math.sin(d2) - math.sin(d1) * math.cos(d2) * math.cos(dra),
    )
    den = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(dra)
    return math.degrees(math.atan2(num, den))


def footprint_of(header_text: str) -> dict[str, Any]:
    """The footprint columns of one header (all None without a celestial WCS)."""
    from astropy.wcs import WCS

    none: dict[str, Any] = dict.fromkeys(
        ("footprint_ra", "footprint_dec", "footprint_radius", "footprint")
    )
    header = fits.Header.fromstring(header_text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(header)
    if not wcs.has_celestial or header.get("NAXIS", 0) < 2:
        return none
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    corners = wcs.celestial.calc_footprint(axes=(nx, ny))
    centre = wcs.celestial.pixel_to_world_values((nx - 1) / 2, (ny - 1) / 2)
    radius = max(_separation(centre[0], centre[1], ra, de) for ra, de in corners)
    return {
        "footprint_ra": float(centre[0]) % 360,
        "footprint_dec": float(centre[1]),
        "footprint_radius": float(radius),
        "footprint": json.dumps([[float(ra), float(de)] for ra, de in corners]),
    }


def with_footprints(table: Any) -> Any:
    """``table`` with the four footprint columns (kept if the catalog has footprints already;
    a catalog indexed without them holds the columns, all null, which are replaced)."""
    import pyarrow as pa

    if "footprint" in table.column_names:
        if table.column("footprint").null_count < len(table):
            return table
        table = table.drop_columns(
            ["footprint_ra", "footprint_dec", "footprint_radius", "footprint"]
        )
    rows = [footprint_of(text) for text in table.column("header").to_pylist()]
    for name, kind in (
        ("footprint_ra", pa.float64()),
        ("footprint_dec", pa.float64()),
        ("footprint_radius", pa.float64()),
        ("footprint", pa.string()),
    ):
        table = table.append_column(name, pa.array([r[name] for r in rows], type=kind))
    return table


def write_survey_catalog(folder: Path, catalog: Path, *, n: int = N_POINTINGS) -> list[Path]:
    """Write ``n`` pointings in ``folder`` and their catalog (one Parquet file) at ``catalog``."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = [
        write_pointing(folder / f"skycam-{k:04d}.fits", number=k, ra=ra, dec=dec)
        for k, (ra, dec) in enumerate(survey_positions(n))
    ]

    async def records() -> list[Any]:
        return [r async for r in scan([str(p) for p in paths], raise_errors=True)]

    table = to_arrow(asyncio.run(records()), keywords=SURVEY_KEYWORDS)
    pq.write_table(with_footprints(table), catalog)
    return paths


@dataclass(frozen=True)
class Survey:
    folder: Path
    files: list[Path]
    catalog: Path
    """One Parquet file of exactly 1,000 HDUs with footprint columns."""


@dataclass(frozen=True)
class Served:
    """``astro-cloud-async serve`` running: its page's URL (with the token) and its parts."""

    url: str
    base: str
    token: str
    process: subprocess.Popen[str]

    def api(self, path: str) -> str:
        return f"{self.base}{path}"
