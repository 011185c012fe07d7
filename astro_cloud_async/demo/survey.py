"""Synthetic FITS files shaped like real survey products, for tests and benchmarks.

The headers are built card by card with ``astropy.io.fits.Header`` and serialised with
``Header.tostring()``, so their bytes are standard FITS. The data regions of the large files are
never written: each header is written at its offset and the file is truncated to its full
padded size, which leaves the data as holes in a sparse file (they read back as zeros). A
folder of thousands of 35 MB TESS-like frames therefore costs only their header blocks on disk.

Header sizes are part of the shape a reader is tested against (a TESS full-frame image has a
1-block primary header, then 6-block and 4-block image headers), so every header is padded with
realistic HISTORY cards to an exact number of 2880-byte blocks. Everything is deterministic
given ``seed``: the same arguments always give the same bytes.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..fits.layout import BLOCK, padded

__all__ = [
    "BLOCK",
    "MOSAIC_CCD_SHAPE",
    "MOSAIC_HEADER_BLOCKS",
    "MOSAIC_PRIMARY_BLOCKS",
    "TESS_DATA_BYTES",
    "TESS_FFI_SHAPE",
    "TESS_HEADER_BLOCKS",
    "HDULayout",
    "astropy_layout",
    "padded",
    "tess_ffi_name",
    "write_mosaic_like",
    "write_survey",
    "write_table_like",
    "write_tess_ffi_like",
    "write_test_corpus",
]

TESS_FFI_SHAPE = (2078, 2136)
"""(NAXIS2, NAXIS1) of a TESS full-frame image (numpy order)."""
TESS_HEADER_BLOCKS = (1, 6, 4)
"""Header sizes in blocks of the primary, the calibrated image and the uncertainty image."""
TESS_DATA_BYTES = 2136 * 2078 * 4
"""Unpadded data bytes of each TESS image extension (17,754,432)."""

MOSAIC_CCD_SHAPE = (4096, 2048)
"""(NAXIS2, NAXIS1) of one CCD of the mosaic camera (numpy order)."""
MOSAIC_PRIMARY_BLOCKS = 2
MOSAIC_HEADER_BLOCKS = 4

# Julian date 2457000.0 (the TESS time origin, BTJD 0) as a UTC calendar date.
_BTJD0 = datetime(2014, 12, 8, 12, 0, 0)
_SECTOR1_START = 1325.293  # BTJD of the first FFI of sector 1
_SECTOR_DAYS = 27.4


@dataclass(frozen=True, slots=True)
class HDULayout:
    """Where one HDU lies in a file: header start, data start, data bytes (unpadded)."""

    header_offset: int
    data_offset: int
    data_size: int

    @property
    def header_blocks(self) -> int:
        return (self.data_offset - self.header_offset) // BLOCK


def astropy_layout(path: str | Path) -> tuple[HDULayout, ...]:
    """The layout of every HDU of ``path`` as astropy reads it (for checking other readers)."""
    layouts = []
    with fits.open(
        path, memmap=False, lazy_load_hdus=False, disable_image_compression=True
    ) as hdul:
        for i, hdu in enumerate(hdul):
            info = hdul.fileinfo(i)
            if info is None:
                raise ValueError(f"astropy gives no file position for HDU {i} of {path}")
            layouts.append(HDULayout(info["hdrLoc"], info["datLoc"], _data_size(hdu.header)))
    return tuple(layouts)


# --- header building -----------------------------------------------------------------------

_Card = tuple[str, object, str]

_HISTORY = (
    "spoc-4.0.{n} calibration: 2-D black level from collateral pixels",
    "smear correction applied, {n} masked columns",
    "flat field applied: tess2018{n:03d}-flat.fits",
    "linearity correction model version {n}",
    "undershoot correction applied, kernel length {n}",
    "cosmic ray mitigation: onboard block size 10, {n} cadences",
    "pixel response non-uniformity map revision {n}",
    "background estimate: 2-D polynomial, order {n}",
)


def _header(
    cards: Iterable[_Card], *, blocks: int, history: Sequence[str] = _HISTORY
) -> fits.Header:
    """A header of ``cards``, then HISTORY cards up to exactly ``blocks`` blocks."""
    header = fits.Header()
    for key, value, comment in cards:
        if key in ("COMMENT", "HISTORY"):
            header.append((key, value), end=True)
        else:
            header.append((key, value, comment), end=True)
    # One HISTORY card per short line: add just enough to spill into the last block.
    for n in range((blocks - 1) * 36 + 1 - _card_images(header)):
        header.add_history(history[n % len(history)].format(n=n + 1))
    if not (blocks - 1) * 36 < _card_images(header) <= blocks * 36:
        raise ValueError(f"{_card_images(header)} card images do not fit in {blocks} blocks")
    return header


def _card_images(header: fits.Header) -> int:
    """Card images of ``header`` counting CONTINUE cards and END."""
    return len(header.tostring(padding=False)) // 80


def _data_size(header: fits.Header) -> int:
    """Unpadded data bytes of the HDU described by ``header`` (FITS 4.0, section 4.4.1)."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    dims = [int(header[f"NAXIS{i}"]) for i in range(1, naxis + 1)]
    groups = bool(header.get("GROUPS", False)) and dims[0] == 0
    product = 1
    for d in dims[1:] if groups else dims:
        product *= d
    pcount = int(header.get("PCOUNT", 0))
    gcount = int(header.get("GCOUNT", 1))
    return abs(int(header["BITPIX"])) // 8 * gcount * (pcount + product)


def _write_sparse(path: Path, headers: Sequence[fits.Header]) -> Path:
    """Write each header at its offset and leave every data region as a hole."""
    offset = 0
    with open(path, "wb") as f:
        for header in headers:
            raw = header.tostring().encode("ascii")
            f.seek(offset)
            f.write(raw)
            offset += len(raw) + padded(_data_size(header))
        f.truncate(offset)
    return path


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}"


def _sip(
    prefix: str, order: int, rng: random.Random, scale: float, *, inverse: bool
) -> list[_Card]:
    """SIP polynomial cards: forward (A, B: terms of order 2 and up) or inverse (AP, BP)."""
    axis = 2 if prefix.startswith("B") else 1
    direction = "sky to detector" if inverse else "detector to sky"
    cards: list[_Card] = [(f"{prefix}_ORDER", order, f"polynomial order, axis {axis} {direction}")]
    low = 0 if inverse else 2
    for p in range(order + 1):
        for q in range(order + 1 - p):
            if p + q < low:
                continue
            value = round(rng.gauss(0.0, scale / 10 ** (2 * (p + q))), 14 + p + q)
            cards.append((f"{prefix}_{p}_{q}", value, "distortion coefficient"))
    return cards


# --- TESS full-frame images ------------------------------------------------------------------


def _tess_timing(seed: int, sector: int) -> tuple[float, float, float]:
    """(TSTART, TSTOP, cadence in days) of one FFI of ``sector``, picked by ``seed``."""
    exposure = 1800.0 if sector <= 26 else (600.0 if sector <= 55 else 200.0)
    cadence = exposure / 86400.0
    n_frames = int(_SECTOR_DAYS / cadence)
    index = random.Random(f"tess-time-{seed}").randrange(n_frames)
    tstart = round(_SECTOR1_START + (sector - 1) * _SECTOR_DAYS + index * cadence, 9)
    return tstart, round(tstart + cadence, 9), cadence


def tess_ffi_name(*, seed: int = 0, sector: int = 1, camera: int = 1, ccd: int = 1) -> str:
    """The archive file name of the frame :func:`write_tess_ffi_like` writes for these values."""
    _, tstop, _ = _tess_timing(seed, sector)
    end = _BTJD0 + timedelta(days=tstop)
    return f"tess{end:%Y%j%H%M%S}-s{sector:04d}-{camera}-{ccd}-0120-s_ffic.fits"


def _tess_primary(seed: int, sector: int, camera: int, ccd: int) -> fits.Header:
    tstart, tstop, _ = _tess_timing(seed, sector)
    cards: list[_Card] = [
        ("SIMPLE", True, "conforms to FITS standards"),
        ("BITPIX", 8, "array data type"),
        ("NAXIS", 0, "number of array dimensions"),
        ("EXTEND", True, "file contains extensions"),
        ("NEXTEND", 2, "number of standard extensions"),
        ("EXTNAME", "PRIMARY", "name of extension"),
        ("EXTVER", 1, "extension version number (not format version)"),
        ("SIMDATA", False, "file is based on simulated data"),
        ("ORIGIN", "NASA/Ames", "institution responsible for creating this file"),
        ("DATE", f"{_BTJD0 + timedelta(days=tstop + 20):%Y-%m-%d}", "file creation date."),
        ("TSTART", tstart, "observation start time in TJD"),
        ("TSTOP", tstop, "observation stop time in TJD"),
        ("DATE-OBS", _iso(_BTJD0 + timedelta(days=tstart)) + "Z", "TSTART as UTC calendar date"),
        ("DATE-END", _iso(_BTJD0 + timedelta(days=tstop)) + "Z", "TSTOP as UTC calendar date"),
        ("CREATOR", "5917 FfiExporter", "pipeline job and program used"),
        ("PROCVER", "spoc-4.0.14-20180813", "SW version"),
        ("FILEVER", "1.0", "file format version"),
        ("TIMVERSN", "OGIP/93-003", "OGIP memo number for file format"),
        ("TELESCOP", "TESS", "telescope"),
        ("INSTRUME", "TESS Photometer", "detector type"),
        ("DATA_REL", 1 + sector // 2, "data release version number"),
        ("SECTOR", sector, "Observing sector"),
        ("CAMERA", camera, "Camera number"),
        ("CCD", ccd, "CCD chip number"),
        ("PXTABLE", 129, "pixel table id"),
        ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
        ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
        ("CRMITEN", True, "spacecraft cosmic ray mitigation enabled"),
        ("CRBLKSZ", 10, "[exposures] s/c cosmic ray mitigation block"),
        ("CRSPOC", False, "SPOC cosmic ray cleaning enabled"),
    ]
    return _header(cards, blocks=TESS_HEADER_BLOCKS[0])


def _tess_image(
    seed: int, sector: int, camera: int, ccd: int, *, kind: str, blocks: int
) -> fits.Header:
    rng = random.Random(f"tess-wcs-{seed}-{sector}-{camera}-{ccd}")
    tstart, tstop, cadence = _tess_timing(seed, sector)
    exposure = round(cadence * 0.8 * 0.99, 12)
    ra = round((camera * 24.0 + sector * 27.7 + rng.uniform(-2, 2)) % 360.0, 10)
    dec = round(-66.5 + 24.0 * (camera - 1) + rng.uniform(-3, 3), 10)
    pix = 21.0 / 3600.0
    theta = rng.uniform(0, 6.283)
    cd11, cd12 = -pix * np.cos(theta), pix * np.sin(theta)
    cd21, cd22 = pix * np.sin(theta), pix * np.cos(theta)
    extname = f"CAMERA.CCD {camera}.{ccd} {kind}"
    cards: list[_Card] = [
        ("XTENSION", "IMAGE", "marks beginning of new HDU"),
        ("BITPIX", -32, "array data type"),
        ("NAXIS", 2, "number of array dimensions"),
        ("NAXIS1", TESS_FFI_SHAPE[1], "length of first array dimension"),
        ("NAXIS2", TESS_FFI_SHAPE[0], "length of second array dimension"),
        ("PCOUNT", 0, "group parameter count (not used)"),
        ("GCOUNT", 1, "group count (not used)"),
        ("INHERIT", True, "inherit the primary header"),
        ("EXTNAME", extname, "extension name"),
        ("EXTVER", 1, "extension version number (not format version)"),
        ("TELESCOP", "TESS", "telescope"),
        ("INSTRUME", "TESS Photometer", "detector type"),
        ("CAMERA", camera, "Camera number"),
        ("CCD", ccd, "CCD chip number"),
        ("TIMEREF", "SOLARSYSTEM", "barycentric correction applied to times"),
        ("TASSIGN", "SPACECRAFT", "where time is assigned"),
        ("TIMESYS", "TDB", "time system is Barycentric Dynamical Time (TDB)"),
        ("BJDREFI", 2457000, "integer part of BTJD reference date"),
        ("BJDREFF", 0.0, "fraction of the day in BTJD reference date"),
        ("TIMEUNIT", "d", "time unit for TIME, TSTART and TSTOP"),
        ("TELAPSE", round(tstop - tstart, 12), "[d] TSTOP - TSTART"),
        ("LIVETIME", exposure, "[d] TELAPSE multiplied by DEADC"),
        ("TSTART", tstart, "observation start time in BTJD"),
        ("TSTOP", tstop, "observation stop time in BTJD"),
        ("DATE-OBS", _iso(_BTJD0 + timedelta(days=tstart)), "TSTART as UTC calendar date"),
        ("DATE-END", _iso(_BTJD0 + timedelta(days=tstop)), "TSTOP as UTC calendar date"),
        ("DEADC", 0.792, "deadtime correction"),
        ("TIMEPIXR", 0.5, "bin time beginning=0 middle=0.5 end=1"),
        ("TIERRELA", 1.16e-05, "[d] relative time error"),
        ("INT_TIME", 1.98, "[s] photon accumulation time per frame"),
        ("READTIME", 0.02, "[s] readout time per frame"),
        ("FRAMETIM", 2.0, "[s] frame time (INT_TIME + READTIME)"),
        ("NUM_FRM", round(cadence * 86400 / 2), "number of frames per time stamp"),
        ("TIMEDEL", round(cadence, 12), "[d] time resolution of data"),
        ("BACKAPP", True, "background is subtracted"),
        ("DEADAPP", True, "deadtime applied"),
        ("VIGNAPP", True, "vignetting or collimator correction applied"),
    ]
    if kind == "cal":
        calfiles = ";".join(
            f"tess2018{200 + sector:03d}-{camera}-{ccd}-{part}.fits"
            for part in ("2Dblack", "bias", "flat", "linearity", "smear", "undershoot")
        )
        cards += [
            ("CALFILES", calfiles, "calibration models applied"),
            *[(f"GAIN{o}", round(5.2 + rng.uniform(-0.2, 0.2), 4), "[e/ADU] gain") for o in "ABCD"],
            *[
                (f"READNOI{o}", round(9.5 + rng.uniform(-1, 1), 4), "[e] read noise")
                for o in "ABCD"
            ],
            ("NREADOUT", 48, "number of read per cadence"),
            ("FXDOFF", 209700, "compression fixed offset"),
            *[
                (f"MEANBLC{o}", 6600 + rng.randrange(100), "[count] mean black level")
                for o in "ABCD"
            ],
        ]
    cards += [
        ("RADESYS", "ICRS", "reference frame of celestial coordinates"),
        ("EQUINOX", 2000.0, "equinox of celestial coordinate system"),
        ("WCSAXES", 2, "number of WCS axes"),
        ("CTYPE1", "RA---TAN-SIP", "Gnomonic projection + SIP distortions"),
        ("CTYPE2", "DEC--TAN-SIP", "Gnomonic projection + SIP distortions"),
        ("CUNIT1", "deg", "unit of axis 1"),
        ("CUNIT2", "deg", "unit of axis 2"),
        ("CRVAL1", ra, "RA at CRPIX1, CRPIX2"),
        ("CRVAL2", dec, "DEC at CRPIX1, CRPIX2"),
        ("CRPIX1", 1069.0, "X reference pixel"),
        ("CRPIX2", 1025.0, "Y reference pixel"),
        ("CD1_1", float(cd11), "Transformation matrix"),
        ("CD1_2", float(cd12), "Transformation matrix"),
        ("CD2_1", float(cd21), "Transformation matrix"),
        ("CD2_2", float(cd22), "Transformation matrix"),
    ]
    order = 4 if kind == "cal" else 2
    cards += _sip("A", order, rng, 1e-3, inverse=False)
    cards += _sip("B", order, rng, 1e-3, inverse=False)
    cards.append(("A_DMAX", round(rng.uniform(40, 45), 9), "maximum distortion, axis 1"))
    cards.append(("B_DMAX", round(rng.uniform(40, 45), 9), "maximum distortion, axis 2"))
    cards += _sip("AP", order, rng, 1e-3, inverse=True)
    cards += _sip("BP", order, rng, 1e-3, inverse=True)
    cards += [
        ("WCSNAMEP", "PHYSICAL", "name of world coordinate system alternate P"),
        ("WCSAXESP", 2, "number of WCS physical axes"),
        ("CTYPE1P", "RAWX", "physical WCS axis 1 type CCD col"),
        ("CUNIT1P", "PIXEL", "physical WCS axis 1 unit"),
        ("CRPIX1P", 1, "reference CCD column"),
        ("CRVAL1P", 45, "value at reference CCD column"),
        ("CDELT1P", 1.0, "physical WCS axis 1 step"),
        ("CTYPE2P", "RAWY", "physical WCS axis 2 type CCD row"),
        ("CUNIT2P", "PIXEL", "physical WCS axis 2 unit"),
        ("CRPIX2P", 1, "reference CCD row"),
        ("CRVAL2P", 1, "value at reference CCD row"),
        ("CDELT2P", 1.0, "physical WCS axis 2 step"),
        ("DQUALITY", 0, "Data quality flags"),
        ("IMAGTYPE", kind, "FFI image type: raw, cal, uncert"),
        ("BUNIT", "electrons/s", "physical unit of the image values"),
        ("SCCSA", 45, "start science collateral column"),
        ("SCCED", 2092, "end science collateral column"),
        ("SCIROWS", 1, "start science collateral row"),
        ("SCIROWE", 2048, "end science collateral row"),
        ("COMMENT", "Data are calibrated by the SPOC pipeline; see the TESS SDPDD.", ""),
        ("COMMENT", "Pixels outside the science rows and columns are collateral data.", ""),
    ]
    return _header(cards, blocks=blocks)


def write_tess_ffi_like(
    path: str | Path, *, seed: int = 0, sector: int = 1, camera: int = 1, ccd: int = 1
) -> Path:
    """A TESS-like full-frame image: empty primary, calibrated image, uncertainty image.

    Headers are exactly 1, 6 and 4 blocks; each image is 2136 x 2078 float32 (17,754,432 data
    bytes, padded to 17,755,200), written as a hole. The file is 35,542,080 bytes long and holds
    only its eleven header blocks on disk.
    """
    headers = [
        _tess_primary(seed, sector, camera, ccd),
        _tess_image(seed, sector, camera, ccd, kind="cal", blocks=TESS_HEADER_BLOCKS[1]),
        _tess_image(seed, sector, camera, ccd, kind="uncert", blocks=TESS_HEADER_BLOCKS[2]),
    ]
    return _write_sparse(Path(path), headers)


# --- mosaic camera exposures -----------------------------------------------------------------

_FILTERS = ("g", "r", "i", "z", "Y")


def _mosaic_headers(seed: int, n_ccds: int) -> list[fits.Header]:
    rng = random.Random(f"mosaic-{seed}")
    ny, nx = MOSAIC_CCD_SHAPE
    columns = 10
    rows = max(1, -(-n_ccds // columns))
    detsize = f"[1:{nx * columns},1:{ny * rows}]"
    start = datetime(2019, 1, 1, 0, 0, 0) + timedelta(seconds=rng.randrange(3 * 365 * 86400))
    mjd = round((start - datetime(1858, 11, 17)).total_seconds() / 86400.0, 8)
    ra, dec = round(rng.uniform(0, 360), 6), round(rng.uniform(-70, 10), 6)
    band = _FILTERS[seed % len(_FILTERS)]
    exptime = float(rng.choice((30, 60, 90, 200)))
    primary_cards: list[_Card] = [
        ("SIMPLE", True, "file does conform to FITS standard"),
        ("BITPIX", 16, "number of bits per data pixel"),
        ("NAXIS", 0, "number of data axes"),
        ("EXTEND", True, "FITS dataset may contain extensions"),
        ("NEXTEND", n_ccds, "Number of extensions"),
        ("FILENAME", mosaic_name(seed=seed), "Original host filename"),
        ("OBSTYPE", "object", "Observation type"),
        ("OBJECT", f"field {rng.randrange(1, 9999):04d}", "Object name"),
        ("OBSERVAT", "CTIO", "Observatory"),
        ("TELESCOP", "CTIO 4.0-m telescope", "Telescope name"),
        ("INSTRUME", "MosaicCam", "Instrument used to obtain these data"),
        ("DETSIZE", detsize, "Detector size"),
        ("NDETS", n_ccds, "Number of CCDs in the mosaic"),
        ("FILTER", f"{band} broad filter", "Unique filter identifier"),
        ("EXPTIME", exptime, "[s] Exposure duration"),
        ("DARKTIME", exptime + 1.1, "[s] Dark time"),
        ("DATE-OBS", _iso(start), "UTC epoch of exposure start"),
        ("MJD-OBS", mjd, "MJD of observation start"),
        ("TIMESYS", "UTC", "Time system"),
        ("RA", f"{int(ra / 15):02d}:{int(ra * 4 % 60):02d}:{ra * 240 % 60:05.2f}", "RA"),
        ("DEC", f"{dec:+.4f}", "Declination of telescope pointing"),
        ("TELRA", ra, "[deg] Telescope RA"),
        ("TELDEC", dec, "[deg] Telescope Dec"),
        ("AIRMASS", round(rng.uniform(1.0, 2.0), 3), "Airmass at exposure start"),
        ("ZD", round(rng.uniform(0, 60), 4), "[deg] Zenith distance"),
        ("HA", f"{rng.randrange(-4, 5):+03d}:{rng.randrange(60):02d}:00.00", "Hour angle"),
        ("PROPID", f"2019A-{rng.randrange(1000):04d}", "Proposal ID"),
        ("OBSERVER", "A. Observer", "Observer name(s)"),
        ("PROCTYPE", "InstCal", "Data processing type"),
        ("PRODTYPE", "image", "Data product type"),
        ("RADESYS", "ICRS", "Celestial coordinate reference frame"),
        ("EQUINOX", 2000.0, "Equinox of coordinates"),
        ("COMMENT", "Processed by the community pipeline (instcal).", ""),
    ]
    headers = [_header(primary_cards, blocks=MOSAIC_PRIMARY_BLOCKS)]
    pix = 0.263 / 3600.0
    for i in range(1, n_ccds + 1):
        col, row = (i - 1) % columns, (i - 1) // columns
        x0, y0 = col * nx + 1, row * ny + 1
        detsec = f"[{x0}:{x0 + nx - 1},{y0}:{y0 + ny - 1}]"
        gain_a, gain_b = round(rng.uniform(3.8, 4.4), 4), round(rng.uniform(3.8, 4.4), 4)
        noise_a, noise_b = round(rng.uniform(5.5, 7.5), 4), round(rng.uniform(5.5, 7.5), 4)
        sat = 40000 + rng.randrange(20000)
        cards: list[_Card] = [
            ("XTENSION", "IMAGE", "Image extension"),
            ("BITPIX", 16, "array data type"),
            ("NAXIS", 2, "number of array dimensions"),
            ("NAXIS1", nx, ""),
            ("NAXIS2", ny, ""),
            ("PCOUNT", 0, "number of parameters"),
            ("GCOUNT", 1, "number of groups"),
            ("BZERO", 32768, "offset data range to that of unsigned short"),
            ("BSCALE", 1, "default scaling factor"),
            ("INHERIT", True, "Inherits global header"),
            ("EXTNAME", f"CCD{i:02d}", "Extension name"),
            ("EXTVER", i, "Extension version"),
            ("CCDNAME", f"CCD{i:02d}", "CCD name"),
            ("CCDNUM", i, "CCD number"),
            ("DETPOS", f"{'NS'[row % 2]}{col + 1}", "Detector position"),
            ("DETSIZE", detsize, "Detector size"),
            ("DATASEC", f"[1:{nx},1:{ny}]", "Data section"),
            ("TRIMSEC", f"[1:{nx},1:{ny}]", "Trimmed section"),
            ("DETSEC", detsec, "Detector section"),
            ("CCDSEC", f"[1:{nx},1:{ny}]", "CCD section"),
            ("AMPSECA", f"[1:{nx // 2},1:{ny}]", "Amplifier A section"),
            ("AMPSECB", f"[{nx // 2 + 1}:{nx},1:{ny}]", "Amplifier B section"),
            ("GAIN", round((gain_a + gain_b) / 2, 4), "[e/ADU] Mean gain"),
            ("GAINA", gain_a, "[e/ADU] Gain of amplifier A"),
            ("GAINB", gain_b, "[e/ADU] Gain of amplifier B"),
            ("RDNOISE", round((noise_a + noise_b) / 2, 4), "[e] Mean read noise"),
            ("RDNOISEA", noise_a, "[e] Read noise of amplifier A"),
            ("RDNOISEB", noise_b, "[e] Read noise of amplifier B"),
            ("SATURATE", sat, "[ADU] Saturation level"),
            ("SATURATA", sat + 112, "[ADU] Saturation of amplifier A"),
            ("SATURATB", sat - 87, "[ADU] Saturation of amplifier B"),
            ("EXPTIME", exptime, "[s] Exposure duration"),
            ("MJD-OBS", mjd, "MJD of observation start"),
            ("FILTER", f"{band} broad filter", "Unique filter identifier"),
            ("LTV1", 0.0, "Image transformation vector"),
            ("LTV2", 0.0, "Image transformation vector"),
            ("LTM1_1", 1.0, "Image transformation matrix"),
            ("LTM2_2", 1.0, "Image transformation matrix"),
            ("DTV1", float(x0 - 1), "Detector transformation vector"),
            ("DTV2", float(y0 - 1), "Detector transformation vector"),
            ("DTM1_1", 1.0, "Detector transformation matrix"),
            ("DTM2_2", 1.0, "Detector transformation matrix"),
            ("WCSAXES", 2, "WCS dimensionality"),
            ("CTYPE1", "RA---TAN", "WCS projection type for axis 1"),
            ("CTYPE2", "DEC--TAN", "WCS projection type for axis 2"),
            ("CUNIT1", "deg", "Axis unit"),
            ("CUNIT2", "deg", "Axis unit"),
            ("CRVAL1", ra, "[deg] World coordinate at reference point"),
            ("CRVAL2", dec, "[deg] World coordinate at reference point"),
            ("CRPIX1", round(nx * columns / 2 - x0 + 1, 3), "[pixel] Reference pixel, axis 1"),
            ("CRPIX2", round(ny * rows / 2 - y0 + 1, 3), "[pixel] Reference pixel, axis 2"),
            ("CD1_1", round(pix * (1 + rng.gauss(0, 1e-4)), 12), "Linear projection matrix"),
            ("CD1_2", round(rng.gauss(0, 1e-8), 14), "Linear projection matrix"),
            ("CD2_1", round(rng.gauss(0, 1e-8), 14), "Linear projection matrix"),
            ("CD2_2", round(-pix * (1 + rng.gauss(0, 1e-4)), 12), "Linear projection matrix"),
            ("FWHM", round(rng.uniform(3, 6), 4), "[pixel] Median FWHM"),
            ("ELLIPTIC", round(rng.uniform(0.02, 0.12), 4), "Median ellipticity"),
            ("AVSKY", round(rng.uniform(100, 3000), 3), "[ADU] Average sky level"),
            ("AVSIG", round(rng.uniform(8, 60), 3), "[ADU] Average sky sigma"),
            ("PHOTFLAG", 1, "Night photometric (1) or not (0)"),
            ("WCSCAL", "Successful", "WCS calibration status"),
        ]
        headers.append(_header(cards, blocks=MOSAIC_HEADER_BLOCKS))
    return headers


def mosaic_name(*, seed: int = 0) -> str:
    """The archive file name of the exposure :func:`write_mosaic_like` writes for ``seed``."""
    rng = random.Random(f"mosaic-{seed}")
    start = datetime(2019, 1, 1, 0, 0, 0) + timedelta(seconds=rng.randrange(3 * 365 * 86400))
    return f"c4d_{start:%y%m%d_%H%M%S}_ooi_{_FILTERS[seed % len(_FILTERS)]}_v1.fits"


def write_mosaic_like(path: str | Path, *, seed: int = 0, n_ccds: int = 60) -> Path:
    """A mosaic-camera exposure: 2-block primary, ``n_ccds`` 2048 x 4096 int16 CCD images.

    Every CCD header (EXTNAME 'CCD01', ...) is exactly 4 blocks and uses BZERO = 32768;
    the data (16,777,216 bytes per CCD, padded to 16,778,880) are holes.
    """
    if n_ccds < 1:
        raise ValueError(f"n_ccds must be at least 1, got {n_ccds}")
    return _write_sparse(Path(path), _mosaic_headers(seed, n_ccds))


# --- small files written in full ---------------------------------------------------------------


def _hdul_bytes(hdul: fits.HDUList) -> bytes:
    # Through a real file: astropy cannot write random-groups data to an in-memory buffer.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hdul.fits"
        hdul.writeto(path)
        return path.read_bytes()


def _table_hdul(seed: int) -> fits.HDUList:
    rng = np.random.default_rng(seed)
    n = 800
    ra = rng.uniform(150.0, 151.0, n)
    dec = rng.uniform(2.0, 3.0, n)
    columns = [
        fits.Column(name="ID", format="K", array=np.arange(1, n + 1, dtype=np.int64)),
        fits.Column(name="RA", format="D", unit="deg", array=ra),
        fits.Column(name="DEC", format="D", unit="deg", array=dec),
        fits.Column(name="MAG", format="E", unit="mag", array=rng.uniform(16, 24, n)),
        fits.Column(name="MAGERR", format="E", unit="mag", array=rng.uniform(0.001, 0.3, n)),
        fits.Column(name="FLAGS", format="J", array=rng.integers(0, 4, n).astype(np.int32)),
        fits.Column(
            name="NAME",
            format="12A",
            array=np.array([f"J{r:07.3f}{d:+07.3f}" for r, d in zip(ra, dec, strict=True)]),
        ),
    ]
    table = fits.BinTableHDU.from_columns(columns, name="SOURCES")
    table.header["CATALOG"] = ("synthetic field catalogue", "source list of one pointing")
    table.header["EPOCH"] = (2000.0, "epoch of the coordinates")
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = ("Synthetic", "telescope")
    primary.header["ORIGIN"] = ("astro_cloud_async samples", "")
    return fits.HDUList([primary, table])


def write_table_like(path: str | Path, *, seed: int = 0) -> Path:
    """A small (about 40 kB) catalogue: empty primary and one 800-row BINTABLE with real data."""
    path = Path(path)
    path.write_bytes(_hdul_bytes(_table_hdul(seed)))
    return path


def _image_hdul(seed: int, shape: tuple[int, int], n_images: int) -> fits.HDUList:
    rng = np.random.default_rng(seed)
    hdus: list[fits.PrimaryHDU | fits.ImageHDU] = [fits.PrimaryHDU()]
    for i in range(n_images):
        data = rng.normal(1000.0, 30.0, shape).astype(np.float32)
        hdus.append(fits.ImageHDU(data, name=f"SCI{i + 1}"))
    return fits.HDUList(hdus)


def _random_groups_bytes(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    n_groups = 20
    # UV data: (GCOUNT, DEC, RA, IF, FREQ, STOKES, COMPLEX) in numpy order.
    visibilities = rng.normal(0.0, 1.0, (n_groups, 1, 1, 1, 4, 1, 3)).astype(np.float32)
    names = ["UU", "VV", "WW", "BASELINE", "DATE"]
    pardata = [
        rng.normal(0, 1e-6, n_groups),
        rng.normal(0, 1e-6, n_groups),
        rng.normal(0, 1e-7, n_groups),
        (256 * rng.integers(1, 8, n_groups) + rng.integers(1, 8, n_groups)).astype(float),
        np.full(n_groups, 2458849.5),
    ]
    groups = fits.GroupData(visibilities, parnames=names, pardata=pardata, bitpix=-32)
    hdu = fits.GroupsHDU(groups)
    hdu.header["OBJECT"] = ("3C286", "source name")
    hdu.header["TELESCOP"] = ("VLA", "")
    for i, (ctype, crval) in enumerate(
        [
            ("COMPLEX", 1.0),
            ("STOKES", -1.0),
            ("FREQ", 1.4e9),
            ("IF", 1.0),
            ("RA", 202.78),
            ("DEC", 30.5),
        ],
        start=2,
    ):
        hdu.header[f"CTYPE{i}"] = ctype
        hdu.header[f"CRVAL{i}"] = crval
    return _hdul_bytes(fits.HDUList([hdu]))


def _compressed_bytes(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    data = rng.poisson(100, (128, 96)).astype(np.int16)
    comp = fits.CompImageHDU(data, compression_type="RICE_1", name="SCI")
    return _hdul_bytes(fits.HDUList([fits.PrimaryHDU(), comp]))


def _ascii_table_bytes(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    n = 40
    columns = [
        fits.Column(name="NAME", format="A10", array=np.array([f"STAR{i:05d}" for i in range(n)])),
        fits.Column(name="RA", format="F11.6", unit="deg", array=rng.uniform(0, 360, n)),
        fits.Column(name="DEC", format="F11.6", unit="deg", array=rng.uniform(-90, 90, n)),
        fits.Column(name="VMAG", format="E12.4", unit="mag", array=rng.uniform(6, 12, n)),
        fits.Column(name="NOBS", format="I5", array=rng.integers(1, 500, n)),
    ]
    table = fits.TableHDU.from_columns(columns, name="STARS")
    return _hdul_bytes(fits.HDUList([fits.PrimaryHDU(), table]))


_ERROR_PAGE = b"""<!DOCTYPE html>
<html>
<head><title>503 Service Temporarily Unavailable</title></head>
<body>
<center><h1>503 Service Temporarily Unavailable</h1></center>
<p>The archive is undergoing maintenance. Please try again later.</p>
<hr><center>nginx</center>
</body>
</html>
"""

_TRAILING_GARBAGE = b"Archive transfer log: checksum verified 2021-03-04T05:06:07Z\n" * 8


def write_test_corpus(directory: str | Path) -> dict[str, Path]:
    """Write the small set of objects the integration tests scan; return name -> path.

    All files go in ``directory``. The large-shaped files are sparse, so the corpus uses about
    200 kB of disk whatever its apparent size. Names and what they hold:

    - ``tess_1``, ``tess_2``, ``tess_3``: TESS-like full-frame images (:func:`write_tess_ffi_like`)
    - ``mosaic``: a mosaic-camera exposure with 3 CCDs (:func:`write_mosaic_like`)
    - ``table``: primary + BINTABLE with real data (:func:`write_table_like`)
    - ``random_groups``: a random-groups primary (GROUPS = T, NAXIS1 = 0), no extensions
    - ``compressed``: a tile-compressed image (``.fits.fz``, RICE_1, ZIMAGE = T BINTABLE)
    - ``ascii_table``: empty primary + ASCII TABLE extension
    - ``truncated``: primary + two 64 x 64 float32 images, cut 5000 bytes into the last data
    - ``unpadded``: primary + one image whose data is not padded to a whole block
    - ``trailing_garbage``: a valid two-HDU file followed by 488 bytes of text
    - ``not_fits``: an HTML error page saved under a ``.fits`` name
    - ``empty``: a 0-byte ``.fits`` file
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for i, (sector, camera, ccd) in enumerate([(1, 1, 1), (1, 1, 2), (14, 3, 4)], start=1):
        name = tess_ffi_name(seed=i, sector=sector, camera=camera, ccd=ccd)
        paths[f"tess_{i}"] = write_tess_ffi_like(
            directory / name, seed=i, sector=sector, camera=camera, ccd=ccd
        )
    paths["mosaic"] = write_mosaic_like(directory / mosaic_name(seed=7), seed=7, n_ccds=3)
    paths["table"] = write_table_like(directory / "catalog_sources.fits", seed=1)

    files: dict[str, tuple[str, bytes]] = {
        "random_groups": ("uvdata_random_groups.fits", _random_groups_bytes(2)),
        "compressed": ("image_rice.fits.fz", _compressed_bytes(3)),
        "ascii_table": ("ascii_table.fits", _ascii_table_bytes(4)),
        "not_fits": ("error_page.fits", _ERROR_PAGE),
        "empty": ("empty.fits", b""),
    }
    full = _hdul_bytes(_image_hdul(5, (64, 64), 2))
    last_data = len(full) - padded(64 * 64 * 4)
    files["truncated"] = ("truncated.fits", full[: last_data + 5000])
    one = _hdul_bytes(_image_hdul(6, (50, 50), 1))
    files["unpadded"] = ("unpadded.fits", one[: len(one) - padded(50 * 50 * 4) + 50 * 50 * 4])
    files["trailing_garbage"] = (
        "trailing_garbage.fits",
        _hdul_bytes(_image_hdul(8, (32, 32), 1)) + _TRAILING_GARBAGE,
    )
    for key, (name, data) in files.items():
        path = directory / name
        path.write_bytes(data)
        paths[key] = path
    return paths


def write_survey(
    directory: str | Path, *, n_tess: int = 16, n_mosaic: int = 0, n_table: int = 0, seed: int = 0
) -> list[Path]:
    """A folder of survey-like files with archive-style names; returns their paths in order.

    TESS-like frames cycle through the 16 camera/CCD pairs of a sector, then move to the next
    sector; mosaic exposures have the full 60 CCDs.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_tess):
        sector, camera, ccd = 1 + i // 16, 1 + (i // 4) % 4, 1 + i % 4
        frame_seed = seed * 1_000_003 + i // 16
        name = tess_ffi_name(seed=frame_seed, sector=sector, camera=camera, ccd=ccd)
        paths.append(
            write_tess_ffi_like(
                directory / name, seed=frame_seed, sector=sector, camera=camera, ccd=ccd
            )
        )
    for i in range(n_mosaic):
        mosaic_seed = seed * 1_000_003 + i
        paths.append(write_mosaic_like(directory / mosaic_name(seed=mosaic_seed), seed=mosaic_seed))
    for i in range(n_table):
        paths.append(
            write_table_like(directory / f"catalog_{seed:04d}_{i:05d}.fits", seed=seed + i)
        )
    return paths
