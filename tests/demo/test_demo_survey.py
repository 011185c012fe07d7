"""The synthetic survey files: astropy reads them with exactly the intended layout."""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS

from astro_cloud_async.demo import survey as samples
from astro_cloud_async.demo.survey import BLOCK, HDULayout, astropy_layout, padded

TESS_DATA = padded(samples.TESS_DATA_BYTES)
MOSAIC_DATA = padded(2048 * 4096 * 2)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _disk_bytes(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def test_tess_layout(tmp_path: Path) -> None:
    path = samples.write_tess_ffi_like(tmp_path / "ffi.fits", seed=3, sector=5, camera=2, ccd=4)
    expected = (
        HDULayout(0, BLOCK, 0),
        HDULayout(BLOCK, 7 * BLOCK, 17_754_432),
        HDULayout(7 * BLOCK + TESS_DATA, 11 * BLOCK + TESS_DATA, 17_754_432),
    )
    assert astropy_layout(path) == expected
    assert [h.header_blocks for h in expected] == list(samples.TESS_HEADER_BLOCKS)
    assert path.stat().st_size == 11 * BLOCK + 2 * TESS_DATA == 35_542_080
    # The acceptance shape: every header byte lies within two reads of 10 and 8 blocks.
    assert expected[1].data_offset <= 10 * BLOCK
    assert expected[2].data_offset - expected[2].header_offset <= 8 * BLOCK


def test_tess_headers_look_like_tess(tmp_path: Path) -> None:
    path = samples.write_tess_ffi_like(tmp_path / "ffi.fits", seed=1, sector=14, camera=3, ccd=2)
    with fits.open(path) as hdul:
        primary, cal, uncert = (hdu.header for hdu in hdul)
        assert primary["TELESCOP"] == "TESS"
        assert (primary["SECTOR"], primary["CAMERA"], primary["CCD"]) == (14, 3, 2)
        assert primary["NAXIS"] == 0
        assert cal["BJDREFI"] == 2457000
        assert cal["TSTOP"] > cal["TSTART"] > 1325 + 13 * 27
        assert cal["EXTNAME"] == "CAMERA.CCD 3.2 cal"
        assert uncert["EXTNAME"] == "CAMERA.CCD 3.2 uncert"
        assert (cal["NAXIS1"], cal["NAXIS2"], cal["BITPIX"]) == (2136, 2078, -32)
        assert cal["A_ORDER"] == 4 and "AP_4_0" in cal and "BP_0_4" in cal
        # The long string is stored over CONTINUE cards and read back whole.
        assert len(cal["CALFILES"]) > 68
        assert "CONTINUE" in cal.tostring()
        assert len(cal["HISTORY"]) > 0 and len(cal["COMMENT"]) == 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy notes the fixes it applies to TESS dates
            wcs = WCS(cal)
        assert wcs.sip is not None and wcs.sip.a_order == 4
        data = hdul[1].data
        assert data.shape == samples.TESS_FFI_SHAPE
        assert not data[::97, ::89].any()


def test_tess_name_matches_header(tmp_path: Path) -> None:
    name = samples.tess_ffi_name(seed=2, sector=1, camera=4, ccd=3)
    assert name.startswith("tess2018") and name.endswith("-s0001-4-3-0120-s_ffic.fits")
    path = samples.write_tess_ffi_like(tmp_path / name, seed=2, sector=1, camera=4, ccd=3)
    end = fits.getheader(path)["DATE-END"]
    year, day = int(name[4:8]), int(name[8:11])
    assert end.startswith(str(year)) and day > 200


@pytest.fixture(scope="module")
def full_mosaic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full 60-CCD mosaic exposure (1 GB apparent, sparse)."""
    return samples.write_mosaic_like(tmp_path_factory.mktemp("mosaic") / "m.fits", seed=4)


def test_large_files_are_sparse(tmp_path: Path, full_mosaic: Path) -> None:
    tess = samples.write_tess_ffi_like(tmp_path / "ffi.fits")
    mosaic = full_mosaic
    assert tess.stat().st_size > 35_000_000
    assert _disk_bytes(tess) < 200_000
    assert mosaic.stat().st_size == (2 + 60 * 4) * BLOCK + 60 * MOSAIC_DATA
    assert _disk_bytes(mosaic) < 2_000_000


def test_mosaic_layout(full_mosaic: Path) -> None:
    path = full_mosaic
    layout = astropy_layout(path)
    assert len(layout) == 61
    assert layout[0] == HDULayout(0, 2 * BLOCK, 0)
    for i, hdu in enumerate(layout[1:]):
        start = 2 * BLOCK + i * (4 * BLOCK + MOSAIC_DATA)
        assert hdu == HDULayout(start, start + 4 * BLOCK, 2048 * 4096 * 2)
    with fits.open(path) as hdul:
        ccd = hdul["CCD60"]
        assert ccd.header["CCDNAME"] == "CCD60"
        assert ccd.header["DATASEC"] == "[1:2048,1:4096]"
        assert ccd.header["BZERO"] == 32768 and ccd.header["BSCALE"] == 1
        assert hdul[0].header["DETSIZE"] == "[1:20480,1:24576]"
        assert {"GAIN", "RDNOISE", "DETSEC", "CD1_1"} <= set(ccd.header)
        # BZERO 32768 turns the zero holes into unsigned 32768.
        assert int(ccd.data[0, 0]) == 32768


def test_table_like_has_real_rows(tmp_path: Path) -> None:
    path = samples.write_table_like(tmp_path / "t.fits", seed=5)
    assert 30_000 < path.stat().st_size < 60_000
    with fits.open(path) as hdul:
        table = hdul["SOURCES"].data
        assert len(table) == 800
        assert table["ID"][-1] == 800
        assert table["RA"].min() >= 150 and table["RA"].max() <= 151
        assert table["NAME"][0].startswith("J150.")


def test_generators_are_deterministic(tmp_path: Path, sample_corpus: dict[str, Path]) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        samples.write_tess_ffi_like(tmp_path / sub / "t.fits", seed=9, sector=30)
        samples.write_mosaic_like(tmp_path / sub / "m.fits", seed=9, n_ccds=2)
        samples.write_table_like(tmp_path / sub / "c.fits", seed=9)
    for path in sorted((tmp_path / "a").iterdir()):
        assert _digest(path) == _digest(tmp_path / "b" / path.name), path.name
    again = samples.write_test_corpus(tmp_path / "corpus")
    assert again.keys() == sample_corpus.keys()
    for name, path in again.items():
        assert path.name == sample_corpus[name].name
        assert _digest(path) == _digest(sample_corpus[name]), name
    other = samples.write_tess_ffi_like(tmp_path / "other.fits", seed=10, sector=30)
    assert _digest(other) != _digest(tmp_path / "a" / "t.fits")


def test_survey_names_and_count(tmp_path: Path) -> None:
    paths = samples.write_survey(tmp_path, n_tess=20, n_mosaic=1, n_table=2, seed=1)
    assert len(paths) == len(set(paths)) == 23
    assert all(p.exists() for p in paths)
    tess = [p.name for p in paths if p.name.startswith("tess")]
    assert len(tess) == 20
    assert sum("-s0001-" in n for n in tess) == 16 and sum("-s0002-" in n for n in tess) == 4
    assert any(p.name.startswith("c4d_") for p in paths)
    assert sum(_disk_bytes(p) for p in paths) < 3_000_000


# --- the integration corpus -----------------------------------------------------------------


def test_corpus_contents(sample_corpus: dict[str, Path]) -> None:
    expected = {
        "tess_1", "tess_2", "tess_3", "mosaic", "table", "random_groups", "compressed",
        "ascii_table", "truncated", "unpadded", "trailing_garbage", "not_fits", "empty",
    }  # fmt: skip
    assert set(sample_corpus) == expected
    assert len({p.parent for p in sample_corpus.values()}) == 1
    assert sum(_disk_bytes(p) for p in sample_corpus.values()) < 1_000_000


def test_corpus_well_formed_files(sample_corpus: dict[str, Path]) -> None:
    assert len(astropy_layout(sample_corpus["mosaic"])) == 4
    assert [h.header_blocks for h in astropy_layout(sample_corpus["tess_2"])] == [1, 6, 4]

    with fits.open(sample_corpus["random_groups"]) as hdul:
        assert len(hdul) == 1
        header = hdul[0].header
        assert header["GROUPS"] is True and header["NAXIS1"] == 0
        assert (header["PCOUNT"], header["GCOUNT"]) == (5, 20)
        assert hdul[0].data.par("UU").shape == (20,)
    assert astropy_layout(sample_corpus["random_groups"])[0].data_size == 4 * 20 * (5 + 12)

    with fits.open(sample_corpus["compressed"], disable_image_compression=True) as hdul:
        assert hdul[1].header["XTENSION"] == "BINTABLE" and hdul[1].header["ZIMAGE"] is True
    with fits.open(sample_corpus["compressed"]) as hdul:
        assert hdul[1].data.shape == (128, 96)
        assert 50 < float(np.mean(hdul[1].data)) < 150
    assert sample_corpus["compressed"].name.endswith(".fits.fz")

    with fits.open(sample_corpus["ascii_table"]) as hdul:
        assert hdul[0].header["NAXIS"] == 0
        assert hdul[1].header["XTENSION"] == "TABLE"
        assert len(hdul[1].data) == 40

    with fits.open(sample_corpus["table"]) as hdul:
        assert hdul[1].header["XTENSION"] == "BINTABLE"


def test_corpus_damaged_files(sample_corpus: dict[str, Path]) -> None:
    truncated = sample_corpus["truncated"]
    with pytest.warns(AstropyUserWarning, match="truncated"):
        layout = astropy_layout(truncated)
    assert len(layout) == 3
    assert layout[2].data_offset < truncated.stat().st_size < layout[2].data_offset + 16384
    assert truncated.stat().st_size == layout[2].data_offset + 5000

    unpadded = sample_corpus["unpadded"]
    with pytest.warns(AstropyUserWarning, match="truncated"):
        layout = astropy_layout(unpadded)
    assert unpadded.stat().st_size == layout[-1].data_offset + layout[-1].data_size == 5760 + 10000
    assert unpadded.stat().st_size % BLOCK != 0

    garbage = sample_corpus["trailing_garbage"]
    with pytest.warns(fits.verify.VerifyWarning, match="not multiple of 2880"):
        layout = astropy_layout(garbage)
    end = layout[-1].data_offset + padded(layout[-1].data_size)
    assert len(layout) == 2 and garbage.stat().st_size - end == 488
    assert not garbage.read_bytes()[end:].startswith(b"XTENSION")

    with pytest.raises(OSError, match="SIMPLE"):
        fits.open(sample_corpus["not_fits"])
    assert sample_corpus["not_fits"].read_bytes().startswith(b"<!DOCTYPE html>")
    assert sample_corpus["empty"].stat().st_size == 0
    with pytest.raises(OSError, match="Empty"):
        fits.open(sample_corpus["empty"])
