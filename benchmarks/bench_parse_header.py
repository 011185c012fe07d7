"""Header parsing speed: ``parse_header`` against ``astropy.io.fits.Header.fromstring``.

Run by hand: ``python benchmarks/bench_parse_header.py [--quick]``.

Three inputs: (a) a TESS-FFI-like image header of about 200 cards (WCS with SIP, timing,
COMMENT/HISTORY, a CONTINUE long string), (b) a 3,000-card binary-table header, (c) every
header of every FITS file shipped with astropy, as its raw bytes on disk.

Both parsers are lazy to some degree, so three things are timed, in cards per second:

* ``parse``: the call alone (astropy makes its Card objects and keyword index, values unread;
  we find END/CONTINUE and read every keyword, values unread).
* ``parse + every value``: the call, then ``card.value`` for every card of ``header.cards``
  (for us this builds every Card with value, comment and problem). We also time ``to_dict()``.
* ``parse + 5 lookups``: what a walker does (BITPIX, NAXIS, NAXIS1, NAXIS2, PCOUNT).

"cold" runs clear our keyword-prefix tables before every parse (the first header of a kind a
process ever sees); "warm" runs do not (every later header).
"""

from __future__ import annotations

import argparse
import gc
import glob
import os
import sys
import time
import warnings
from collections.abc import Callable

import astropy
import astropy.io.fits as fits

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from astro_cloud_async.fits import cards as cards_module
from astro_cloud_async.fits.header import parse_header

LOOKUPS = ("BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT")


def tess_ffi_header() -> bytes:
    """An image-extension header shaped like a TESS full-frame image's (about 200 cards)."""
    h = fits.Header()
    h["XTENSION"] = ("IMAGE", "Image extension")
    h["BITPIX"] = (-32, "array data type")
    h["NAXIS"] = (2, "number of array dimensions")
    h["NAXIS1"] = 2136
    h["NAXIS2"] = 2078
    h["PCOUNT"] = (0, "number of parameters")
    h["GCOUNT"] = (1, "number of groups")
    h["INHERIT"] = (True, "inherit the primary header")
    h["EXTNAME"] = ("CAMERA.CCD 1.1 cal", "extension name")
    h["EXTVER"] = (1, "extension version number (not format version)")
    h["SIMDATA"] = (False, "file is based on simulated data")
    h["TELESCOP"] = ("TESS", "telescope")
    h["INSTRUME"] = ("TESS Photometer", "detector type")
    h["CAMERA"] = (1, "Camera number")
    h["CCD"] = (1, "CCD chip number")
    h["CCDSERNO"] = ("SS-1234", "CCD serial number")
    h["TSTART"] = (1683.3528, "observation start time in TJD")
    h["TSTOP"] = (1683.3736333, "observation stop time in TJD")
    h["DATE-OBS"] = ("2019-08-14T20:26:58.430Z", "TSTART as UTC calendar date")
    h["DATE-END"] = ("2019-08-14T20:56:58.430Z", "TSTOP as UTC calendar date")
    h["BJDREFI"] = (2457000, "integer part of BJD reference date")
    h["BJDREFF"] = (0.0, "fraction of the day in BJD reference date")
    h["TIMEUNIT"] = ("d", "time unit for TIME, TSTART and TSTOP")
    h["TELAPSE"] = (0.0208333, "[d] TSTOP - TSTART")
    h["LIVETIME"] = (0.01658333, "[d] TELAPSE multiplied by DEADC")
    h["EXPOSURE"] = (0.01658333, "[d] time on source")
    h["DEADC"] = (0.792, "deadtime correction")
    h["TIMEPIXR"] = (0.5, "bin time beginning=0 middle=0.5 end=1")
    h["TIERRELA"] = (1.16e-05, "[d] relative time error")
    h["INT_TIME"] = (1.98, "[s] photon accumulation time per frame")
    h["READTIME"] = (0.02, "[s] readout time per frame")
    h["FRAMETIM"] = (2.0, "[s] frame time (INT_TIME + READTIME)")
    h["NUM_FRM"] = (900, "number of frames per time stamp")
    h["TIMEDEL"] = (0.02083333333333, "[d] time resolution of data")
    h["BACKAPP"] = (True, "background is subtracted")
    h["VIGNAPP"] = (True, "vignetting or collimator correction applied")
    for amp in "ABCD":
        h[f"GAIN{amp}"] = (5.22, f"[electrons/count] CCD output {amp} gain")
        h[f"READNOI{amp}"] = (9.7, f"[electrons] read noise CCD output {amp}")
        h[f"MEANBLC{amp}"] = (6590.6, f"[count] FSW mean black level CCD output {amp}")
    for amp in "ABCD":
        h[f"BLKCOL{amp}"] = (11 + 512 * "ABCD".index(amp), f"first virtual column of output {amp}")
        h[f"SMRROW{amp}"] = (2058, f"first smear row of output {amp}")
        h[f"FLATFLD{amp}"] = ("tess2018323-1-1-flat.fits", f"flat field used for output {amp}")
    extra = {
        "ORIGIN": ("NASA/Ames", "institution responsible for creating this file"),
        "DATE": ("2019-08-17", "file creation date."),
        "CREATOR": ("12345 FfiExporter", "pipeline job and program"),
        "PROCVERS": ("spoc-4.0.14-20190816", "SW version"),
        "FILEVER": ("1.0", "file format version"),
        "TSTARTJD": (2458683.3528, "[d] observation start time in JD"),
        "FFIINDEX": (134851, "number of FFI cadence interval of first cadence"),
        "DATA_REL": (14, "data release version number"),
        "SCCONFIG": (143, "spacecraft configuration ID"),
        "PMTABLE": (123, "pixel map table ID"),
        "CRMITEN": (True, "spacecraft cosmic ray mitigation enabled"),
        "CRBLKSZ": (10, "[exposures] s/c cosmic ray mitigation block siz"),
        "RA_NOM": (330.6794189758, "[deg] RA of camera boresight"),
        "DEC_NOM": (-20.85066044927, "[deg] declination of camera boresight"),
        "ROLL_NOM": (206.5836316745, "[deg] roll angle of camera boresight"),
        "SECTOR": (15, "Observing sector"),
        "OBJECT": ("", "string version of target id"),
        "TESSMAG": (None, "[mag] TESS magnitude"),
        "TEFF": (None, "[K] Effective temperature"),
        "LOGG": (None, "[cm/s2] log10 surface gravity"),
        "MH": (None, "[log10([M/H])] metallicity"),
        "RADIUS": (None, "[solar radii] stellar radius"),
        "TICVER": (8, "TICVER"),
        "CALVER": ("1.4.7", "calibration software version"),
        "PXTABLE": (129, "pixel table ID"),
        "COADDS": (60, "number of coadds per cadence"),
        "FINE_PNT": (True, "fine pointing mode"),
        "COARSPNT": (False, "coarse pointing mode"),
        "MOMENTUM": (-0.00317, "[N m s] reaction wheel momentum"),
    }
    for key, value in extra.items():
        h[key] = value
    h["NREADOUT"] = (720, "number of read per cadence")
    h["FXDOFF"] = (209715200, "compression fixed offset")
    h["RADESYS"] = ("ICRS", "reference frame of celestial coordinates")
    h["EQUINOX"] = (2000.0, "equinox of celestial coordinate system")
    h["WCSAXES"] = (2, "number of WCS axes")
    h["CTYPE1"] = ("RA---TAN-SIP", "Gnomonic projection + SIP distortions")
    h["CTYPE2"] = ("DEC--TAN-SIP", "Gnomonic projection + SIP distortions")
    h["CRVAL1"] = (325.5847617233, "RA at CRPIX1, CRPIX2")
    h["CRVAL2"] = (-26.80913226436, "DEC at CRPIX1, CRPIX2")
    h["CRPIX1"] = (1069.0, "X reference pixel")
    h["CRPIX2"] = (1024.0, "Y reference pixel")
    h["CD1_1"] = (0.005656738469425, "Transformation matrix")
    h["CD1_2"] = (-0.0001729094474545, "Transformation matrix")
    h["CD2_1"] = (0.0001912417287015, "Transformation matrix")
    h["CD2_2"] = (0.005636829574372, "Transformation matrix")
    for prefix in ("A", "B", "AP", "BP"):
        order = 4 if len(prefix) == 1 else 5
        h[f"{prefix}_ORDER"] = (order, "Polynomial order, axis 1" if "A" in prefix else "axis 2")
        for i in range(order + 1):
            for j in range(order + 1 - i):
                if len(prefix) == 1 and i + j < 2:
                    continue
                h[f"{prefix}_{i}_{j}"] = (
                    (-1) ** (i + j) * 1.234567890123e-5 / (1 + i * 7 + j * 3),
                    "distortion coefficient",
                )
    h["A_DMAX"] = (44.72893589844534, "maximum distortion, axis 1")
    h["B_DMAX"] = (44.02167568808396, "maximum distortion, axis 2")
    h["WCSNAMEP"] = ("PHYSICAL", "name of world coordinate system alternate P")
    h["WCSAXESP"] = (2, "number of WCS physical axes")
    for axis, (val, pix) in enumerate(((45, 1.0), (1, 1.0)), start=1):
        h[f"CTYPE{axis}P"] = ("RAWX" if axis == 1 else "RAWY", "physical WCS axis type")
        h[f"CUNIT{axis}P"] = ("PIXEL", "physical WCS axis unit")
        h[f"CRPIX{axis}P"] = (pix, "reference CCD pixel")
        h[f"CRVAL{axis}P"] = (val, "value at reference CCD pixel")
        h[f"CDELT{axis}P"] = (1.0, "physical WCS axis increment")
    h["DQUALITY"] = (0, "data quality flags")
    h["IMAGTYPE"] = ("cal", "FFI image type: uncal, cal, err")
    h["PROCVER"] = (
        "spoc-4.0.14-20190816 /pipeline/tess/build/spoc-4.0.14/spoc/calibration/ffi_cal_module",
        "pipeline version and build path",
    )
    for n in range(8):
        h.add_comment(f"This FFI was calibrated by the SPOC pipeline; see the release notes {n}.")
    for n in range(6):
        h.add_history(f"cal: smear correction applied to CCD output {'ABCD'[n % 4]} (step {n})")
    h["CHECKSUM"] = ("JZAOKY1LJY9LJY9L", "HDU checksum updated 2019-08-17T02:44:46")
    h["DATASUM"] = ("3215823817", "data unit checksum updated 2019-08-17T02:44:46")
    return h.tostring().encode("ascii")


def big_table_header(columns: int = 500) -> bytes:
    """A binary-table header of 3,000+ cards (500 columns with six keywords each)."""
    h = fits.Header()
    h["XTENSION"] = ("BINTABLE", "binary table extension")
    h["BITPIX"] = 8
    h["NAXIS"] = 2
    h["NAXIS1"] = columns * 8
    h["NAXIS2"] = 100000
    h["PCOUNT"] = 0
    h["GCOUNT"] = 1
    h["TFIELDS"] = columns
    for i in range(1, columns + 1):
        h[f"TTYPE{i}"] = (f"FLUX_APER_{i:03d}", "label for field")
        h[f"TFORM{i}"] = ("D", "data format of field: 8-byte DOUBLE")
        h[f"TUNIT{i}"] = ("e-/s", "physical unit of field")
        h[f"TDISP{i}"] = ("E14.7", "display format")
        h[f"TNULL{i}"] = (-(2**31), "null value")
        h[f"TZERO{i}"] = (0.5 * i, "zero point")
    return h.tostring().encode("ascii")


def astropy_test_headers() -> list[bytes]:
    """Every header of every FITS file shipped with astropy, as raw bytes on disk."""
    folder = os.path.join(os.path.dirname(fits.__file__), "tests", "data")
    headers = []
    for path in sorted(glob.glob(os.path.join(folder, "*.fits"))):
        try:
            with open(path, "rb") as f:
                blob = f.read()
            with fits.open(path, ignore_missing_simple=True) as hdul:
                for i in range(len(hdul)):
                    info = hdul.fileinfo(i)
                    headers.append(blob[info["hdrLoc"] : info["datLoc"]])
        except Exception:
            continue
    return headers


def count_cards(headers: list[bytes]) -> int:
    """Cards as astropy counts them (a long string with its CONTINUEs is one card)."""
    return sum(len(fits.Header.fromstring(h).cards) for h in headers)


def best_rates(
    theirs: Callable[[bytes], object],
    ours: Callable[[bytes], object],
    headers: list[bytes],
    cards: int,
    budget: float,
) -> tuple[float, float]:
    """Cards per second of both, each the best of many passes over all ``headers``.

    Passes alternate between the two so that a busy machine slows both alike.
    """
    best = [float("inf"), float("inf")]
    started = time.perf_counter()
    rounds = 0
    gc.collect()
    while rounds < 3 or (time.perf_counter() - started < budget and rounds < 500):
        for k, fn in enumerate((theirs, ours)):
            t0 = time.perf_counter()
            for h in headers:
                fn(h)
            best[k] = min(best[k], time.perf_counter() - t0)
        rounds += 1
    return cards / best[0], cards / best[1]


def clear_tables() -> None:
    cards_module._KEYWORDS.clear()
    cards_module._STANDARD.clear()
    cards_module._TEXT.clear()


def astropy_parse(b: bytes) -> object:
    return fits.Header.fromstring(b)


def ours_parse(b: bytes) -> object:
    return parse_header(b)


def ours_parse_cold(b: bytes) -> object:
    clear_tables()
    return parse_header(b)


def astropy_values(b: bytes) -> object:
    return [c.value for c in fits.Header.fromstring(b).cards]


def ours_values(b: bytes) -> object:
    return [c.value for c in parse_header(b).cards]


def ours_values_cold(b: bytes) -> object:
    clear_tables()
    return [c.value for c in parse_header(b).cards]


def ours_to_dict(b: bytes) -> object:
    return parse_header(b).to_dict()


def astropy_lookups(b: bytes) -> object:
    h = fits.Header.fromstring(b)
    return [h.get(k) for k in LOOKUPS]


def ours_lookups(b: bytes) -> object:
    h = parse_header(b)
    return [h.get(k) for k in LOOKUPS]


def check_agreement(headers: list[bytes]) -> int:
    """Cards whose value or keyword differ from astropy's reading (should be 0)."""
    bad = 0
    with fits.conf.set_temp("enable_record_valued_keyword_cards", False):
        for b in headers:
            theirs = fits.Header.fromstring(b).cards
            ours = parse_header(b).cards
            if len(theirs) != len(ours):
                bad += abs(len(theirs) - len(ours))
                continue
            for a, o in zip(theirs, ours, strict=True):
                try:
                    value = a.value
                except Exception:
                    bad += o.problem is None
                    continue
                value = None if isinstance(value, fits.card.Undefined) else value
                bad += a.keyword != o.keyword or value != o.value
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing budget")
    args = parser.parse_args()
    budget = 0.5 if args.quick else 2.0
    warnings.simplefilter("ignore")

    inputs = {
        "TESS-FFI-like": [tess_ffi_header()],
        "3,000-card table": [big_table_header()],
        "astropy test files": astropy_test_headers(),
    }
    rows = (
        ("parse (warm)", astropy_parse, ours_parse),
        ("parse (cold)", astropy_parse, ours_parse_cold),
        ("parse + every value (warm)", astropy_values, ours_values),
        ("parse + every value (cold)", astropy_values, ours_values_cold),
        ("parse + to_dict (warm)", astropy_values, ours_to_dict),
        ("parse + 5 lookups (warm)", astropy_lookups, ours_lookups),
    )
    print(f"Python {sys.version.split()[0]}, astropy {astropy.__version__}")
    for name, headers in inputs.items():
        cards = count_cards(headers)
        print(
            f"\n{name}: {len(headers)} header(s), {cards} cards; "
            f"value mismatches vs astropy: {check_agreement(headers)}"
        )
        print(f"  {'':28} {'astropy cards/s':>16} {'ours cards/s':>14} {'ratio':>7}")
        for label, theirs, ours in rows:
            a, o = best_rates(theirs, ours, headers, cards, budget)
            print(f"  {label:28} {a:16,.0f} {o:14,.0f} {o / a:6.1f}x")


if __name__ == "__main__":
    main()
