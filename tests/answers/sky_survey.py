"""A small synthetic sky survey written with astropy, for footprints, find, cutouts, checksums
and references.

Fields: plain TAN images, TAN-SIP and TPV images with distortion, fields that cross RA = 0/360,
one that holds the north pole; a camera file with several image extensions (one of them scaled
int16 with BLANK, one unsigned) and a table; a "sector" of same-shape frames for stacking. Every
file is written with ``checksum=True``; the checksum cases (missing, a header byte flipped, a
data byte flipped) are copies of one field.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

SHAPE = (150, 200)  # (NAXIS2, NAXIS1)
SCALE = 2.0 / 3600  # degrees per pixel


@dataclass(frozen=True)
class Field:
    """One image of the survey: where it is and what its WCS is."""

    name: str
    ra: float
    dec: float
    kind: str = "TAN"  # TAN, SIP or TPV
    rotation: float = 0.0  # degrees
    flip: bool = True  # east to the left, as on the sky
    bitpix: int = -32
    extra: dict[str, Any] = field(default_factory=dict)


FIELDS: tuple[Field, ...] = (
    Field("equator", 150.0, 2.0),
    Field("rotated", 150.05, 2.06, rotation=30.0),
    Field("ra0_tan", 0.02, -5.0),
    Field("ra0_sip", 359.98, 30.0, kind="SIP", rotation=12.0),
    Field("tpv", 45.0, -30.0, kind="TPV", rotation=-20.0),
    Field("pole", 12.0, 89.99, rotation=45.0),
    Field("south", 200.0, -89.9, kind="SIP"),
    Field("unflipped", 300.0, 60.0, flip=False, bitpix=16),
)


def wcs_cards(f: Field) -> dict[str, Any]:
    """The WCS keywords of field ``f``."""
    theta = np.radians(f.rotation)
    sx = -SCALE if f.flip else SCALE
    cd = np.array(
        [[sx * np.cos(theta), -SCALE * np.sin(theta)], [sx * np.sin(theta), SCALE * np.cos(theta)]]
    )
    suffix = {"TAN": "TAN", "SIP": "TAN-SIP", "TPV": "TPV"}[f.kind]
    cards: dict[str, Any] = {
        "CTYPE1": f"RA---{suffix}",
        "CTYPE2": f"DEC--{suffix}",
        "CRVAL1": f.ra,
        "CRVAL2": f.dec,
        "CRPIX1": (SHAPE[1] + 1) / 2 + 3.25,
        "CRPIX2": (SHAPE[0] + 1) / 2 - 7.5,
        "CD1_1": cd[0, 0],
        "CD1_2": cd[0, 1],
        "CD2_1": cd[1, 0],
        "CD2_2": cd[1, 1],
        "RADESYS": "ICRS",
    }
    if f.kind == "SIP":
        cards.update(
            {
                "A_ORDER": 2,
                "B_ORDER": 2,
                "A_2_0": 2e-5,
                "A_0_2": -1e-5,
                "A_1_1": 1.5e-5,
                "B_2_0": -1e-5,
                "B_0_2": 2.5e-5,
                "B_1_1": 1e-5,
            }
        )
    if f.kind == "TPV":
        cards.update(
            {
                "PV1_0": 0.0,
                "PV1_1": 1.0,
                "PV1_2": 0.0,
                "PV1_4": 0.02,
                "PV1_7": 0.5,
                "PV2_0": 0.0,
                "PV2_1": 1.0,
                "PV2_2": 0.0,
                "PV2_5": -0.03,
                "PV2_9": 0.4,
            }
        )
    cards.update(f.extra)
    return cards


def pixels(seed: int, shape: tuple[int, ...], bitpix: int) -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(seed)
    if bitpix == 16:
        return rng.integers(-2000, 30000, size=shape, dtype=np.int16)
    return rng.normal(100.0, 15.0, size=shape).astype(np.float32)


def _write(path: Path, hdus: list[Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits.HDUList(hdus).writeto(path, checksum=True, overwrite=True)


@dataclass
class SkySurvey:
    """The files of the survey, all in ``root``."""

    root: Path
    fields: dict[str, Path]
    """Field name -> its file (HDU 1 is the image)."""
    camera: Path
    """Primary, two scaled images, an unsigned one, a table."""
    sector: list[Path]
    """Same-shape frames (HDU 1) to stack."""
    checksums: dict[str, Path]
    """good, missing, header_flipped, data_flipped."""

    @property
    def all_files(self) -> list[Path]:
        return sorted(self.root.glob("*.fits"))


def write_sky_survey(root: Path) -> SkySurvey:
    root.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for i, f in enumerate(FIELDS):
        header = fits.Header(list(wcs_cards(f).items()))
        header["OBJECT"] = f.name
        image = fits.ImageHDU(pixels(i, SHAPE, f.bitpix), header=header, name="SCI")
        paths[f.name] = root / f"field-{f.name}.fits"
        _write(paths[f.name], [fits.PrimaryHDU(), image])

    # A camera file: scaled int16 with BLANK, unsigned 16-bit, a float image, a table.
    base = Field("camera", 80.0, -10.0)
    rng = np.random.default_rng(99)
    scaled = rng.integers(-32768, 32767, size=(60, 90), dtype=np.int16)
    scaled[3, 4] = -32768
    h1 = fits.Header(list(wcs_cards(Field("ccd1", 80.0, -10.0)).items()))
    h1.update({"BSCALE": 0.5, "BZERO": 1000.0, "BLANK": -32768})
    ccd1 = fits.ImageHDU(header=h1, name="CCD1")
    ccd1.data = scaled  # stored as is: astropy keeps BSCALE/BZERO/BLANK for raw ints
    ccd1.header["BSCALE"], ccd1.header["BZERO"], ccd1.header["BLANK"] = 0.5, 1000.0, -32768
    unsigned = rng.integers(0, 65535, size=(60, 90), dtype=np.uint16)
    ccd2 = fits.ImageHDU(
        unsigned, fits.Header(list(wcs_cards(Field("ccd2", 80.1, -10.0)).items())), name="CCD2"
    )
    ccd3 = fits.ImageHDU(
        pixels(7, (60, 90), -32), fits.Header(list(wcs_cards(base).items())), name="CCD3"
    )
    table = fits.BinTableHDU.from_columns(
        [fits.Column(name="flux", format="E", array=rng.normal(size=20).astype(np.float32))],
        name="SOURCES",
    )
    camera = root / "camera.fits"
    _write(camera, [fits.PrimaryHDU(), ccd1, ccd2, ccd3, table])

    # A sector of same-shape frames (a cube when stacked).
    sector = []
    for t in range(4):
        frame = fits.ImageHDU(
            pixels(100 + t, (48, 40), -32),
            fits.Header(list(wcs_cards(Field("s", 120.0, 40.0)).items())),
        )
        frame.header["FRAME"] = t
        path = root / f"sector-frame{t}.fits"
        _write(path, [fits.PrimaryHDU(), frame])
        sector.append(path)

    # Checksum cases: copies of one field.
    good = root / "sum-good.fits"
    good.write_bytes(paths["equator"].read_bytes())
    missing = root / "sum-missing.fits"
    with fits.open(paths["equator"]) as hdul:
        copies = [hdu.copy() for hdu in hdul]
    for hdu in copies:
        hdu.header.remove("CHECKSUM", ignore_missing=True)
        hdu.header.remove("DATASUM", ignore_missing=True)
    fits.HDUList(copies).writeto(missing, checksum=False, overwrite=True)
    header_flipped = root / "sum-header-flipped.fits"
    raw = bytearray(good.read_bytes())
    second = 2880 + raw[2880:].index(b"OBJECT  = ")
    raw[second + 12] ^= 0x01  # a letter of OBJECT's value
    header_flipped.write_bytes(bytes(raw))
    data_flipped = root / "sum-data-flipped.fits"
    raw = bytearray(good.read_bytes())
    with fits.open(good) as hdul:
        offset = hdul[1]._data_offset
    raw[offset + 1001] ^= 0x10
    data_flipped.write_bytes(bytes(raw))
    checksums = {
        "good": good,
        "missing": missing,
        "header_flipped": header_flipped,
        "data_flipped": data_flipped,
    }
    return SkySurvey(root=root, fields=paths, camera=camera, sector=sector, checksums=checksums)
