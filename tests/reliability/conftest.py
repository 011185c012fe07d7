"""Fixtures of the reliability tests: real FITS objects, their true layouts, the fault server.

Layouts come from astropy reading the stored headers, not from this package's walker, so a
test that compares scan records with them checks the whole read path against an independent
reader. The large sample files are sparse; only their bytes up to the last header are kept in
memory and the fault server serves zeros after them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from rel_faults import FaultServer
from rel_helpers import Sample

from astro_cloud_async.samples import HDULayout, write_test_corpus

GOOD_SAMPLES = ("tess_1", "mosaic", "table", "random_groups", "compressed", "ascii_table")
"""Sample objects that are valid FITS (the corpus also holds broken ones)."""


def _raw_data_size(header: fits.Header) -> int:
    """Data bytes of an HDU from its stored header (FITS 4.0, section 4.4.1)."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    dims = [int(header[f"NAXIS{i}"]) for i in range(1, naxis + 1)]
    if header.get("GROUPS") is True and dims[0] == 0 and "SIMPLE" in header:
        dims = dims[1:]
    count = 1
    for d in dims:
        count *= d
    pcount, gcount = int(header.get("PCOUNT", 0)), int(header.get("GCOUNT", 1))
    if "SIMPLE" in header and header.get("GROUPS") is not True:
        pcount, gcount = 0, 1
    return abs(int(header["BITPIX"])) // 8 * gcount * (pcount + count)


def true_layout(path: Path) -> tuple[HDULayout, ...]:
    """Every HDU's layout as astropy reads the stored headers (compressed HDUs as tables)."""
    with fits.open(path, memmap=False, disable_image_compression=True) as hdul:
        hdul.readall()
        return tuple(
            HDULayout(
                hdul.fileinfo(i)["hdrLoc"], hdul.fileinfo(i)["datLoc"], _raw_data_size(hdu.header)
            )
            for i, hdu in enumerate(hdul)
        )


def _sample(name: str, path: Path) -> Sample:
    layout = true_layout(path)
    keep = layout[-1].data_offset + min(layout[-1].data_size, 64 * 1024)
    with open(path, "rb") as f:
        head = f.read(keep)
    return Sample(name, head, path.stat().st_size, layout)


def _many_images(path: Path, n: int) -> Path:
    """Primary + ``n`` small int16 images: an object that takes several reads to walk."""
    hdul = fits.HDUList([fits.PrimaryHDU()])
    for i in range(n):
        hdul.append(fits.ImageHDU(np.full((20, 30), i, dtype=np.int16), name=f"SCI{i + 1}"))
    hdul.writeto(path)
    return path


@pytest.fixture(scope="session")
def rel_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample test corpus (good and broken objects) in a folder of its own."""
    return write_test_corpus(tmp_path_factory.mktemp("rel-corpus"))


@pytest.fixture(scope="session")
def good_samples(
    rel_corpus: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Sample]:
    """Valid FITS objects by name, with astropy's layout of each."""
    samples = {name: _sample(name, rel_corpus[name]) for name in GOOD_SAMPLES}
    extra = _many_images(tmp_path_factory.mktemp("rel-images") / "images.fits", 6)
    samples["images"] = _sample("images", extra)
    return samples


@pytest.fixture
async def fault_server() -> AsyncIterator[FaultServer]:
    async with FaultServer() as server:
        yield server
