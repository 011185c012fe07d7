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
from rel_helpers import Sample, true_layout

from astro_cloud_async.demo.survey import write_test_corpus

GOOD_SAMPLES = ("tess_1", "mosaic", "table", "random_groups", "compressed", "ascii_table")
"""Sample objects that are valid FITS (the corpus also holds broken ones)."""


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
