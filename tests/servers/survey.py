"""A survey of many small, varied FITS files for the cloud emulators' acceptance scans.

Written with astropy, so the files are what a survey pipeline writes: a primary image, an
empty primary with image extensions, a binary table, a tile-compressed (RICE and GZIP) image
and a primary-only header with long strings. Each file differs from its neighbours in its
OBJECT, its size and its position in the cycle of kinds. Kept small (a few kB each) so 500 of
them load into an emulator in seconds.
"""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = ["KINDS", "write_survey"]

KINDS = ("image", "mef", "table", "rice", "gzip", "long")


def _write_one(path: Path, index: int) -> None:
    import numpy as np
    from astropy.io import fits

    kind = KINDS[index % len(KINDS)]
    side = 8 + index % 7
    rng = np.random.default_rng(index)
    image = rng.integers(0, 1000, size=(side, side + 3)).astype(np.int16)
    primary = fits.PrimaryHDU()
    primary.header["OBJECT"] = f"FIELD-{index:04d}"
    primary.header["EXPTIME"] = 10.0 + index
    primary.header["DATE-OBS"] = f"2024-01-{1 + index % 28:02d}T00:00:00"
    if kind == "image":
        hdus = fits.HDUList([fits.PrimaryHDU(image, header=primary.header)])
    elif kind == "mef":
        extensions = [fits.ImageHDU(image + n, name=f"CCD{n}") for n in range(1, 2 + index % 3)]
        hdus = fits.HDUList([primary, *extensions])
    elif kind == "table":
        columns = [
            fits.Column("ID", "J", array=np.arange(side)),
            fits.Column("FLUX", "E", array=rng.random(side).astype(np.float32)),
            fits.Column("NAME", "8A", array=[f"s{n}" for n in range(side)]),
        ]
        hdus = fits.HDUList([primary, fits.BinTableHDU.from_columns(columns, name="SOURCES")])
    elif kind in ("rice", "gzip"):
        compression = "RICE_1" if kind == "rice" else "GZIP_1"
        comp = fits.CompImageHDU(
            (image.astype(np.float32) / 7.0) if kind == "gzip" else image,
            compression_type=compression,
            name="SCI" if index % 2 else None,
        )
        comp.header["FILTER"] = "r"
        comp.header["GAIN"] = 1.5
        hdus = fits.HDUList([primary, comp])
    else:
        primary.header["HISTORY"] = "reduced " * 4
        primary.header["LONGSTR"] = "x" * (70 + index % 90)
        hdus = fits.HDUList([primary])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdus.writeto(path, overwrite=True)


def write_survey(folder: Path, count: int = 500) -> dict[str, Path]:
    """``count`` files ``survey/obs-0000.fits``... under ``folder``: key -> path."""
    (folder / "survey").mkdir(parents=True, exist_ok=True)
    files = {}
    for index in range(count):
        key = f"survey/obs-{index:04d}.fits"
        _write_one(folder / key, index)
        files[key] = folder / key
    return files
