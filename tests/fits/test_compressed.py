"""Tile-compressed images: the image header we derive against ``CompImageHDU.header``.

Files are written by astropy (every compression it offers, quantised floats, unsigned
integers, cubes, checksums, trailing HISTORY and blank cards) and edited by hand where astropy
writes no such file (a ``ZSIMPLE`` image, BSCALE/BZERO/ZBLANK and a duplicated default EXTNAME
in the table header). Each derived header must match astropy's card for card: keyword, value
and comment, in order.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from servers.survey import write_survey

from astro_cloud_async.fits import walk_file
from astro_cloud_async.fits.compressed import image_header, is_tile_compressed
from astro_cloud_async.fits.header import parse_header
from astro_cloud_async.records import HDURecord


def _replace_card(raw: bytearray, old_start: str, new: str, after: int = 0) -> None:
    text = raw.decode("latin-1")
    i = text.index(old_start, after)
    raw[i : i + 80] = new.ljust(80).encode()


def _tricky(folder: Path) -> list[Path]:
    rng = np.random.default_rng(1)
    header = fits.Header()
    header["OBSERVER"] = "someone"
    header["HISTORY"] = "flat-fielded"
    header["COMMENT"] = "a comment at the end"
    header.append()
    header.append()
    u16 = rng.integers(0, 60000, size=(20, 30)).astype(np.uint16)
    cube = rng.integers(-5, 5, size=(3, 10, 12)).astype(np.int32)
    small = rng.integers(0, 100, size=(16, 16)).astype(np.int16)
    floats = rng.random((16, 16)).astype(np.float32)
    made = {
        "u16.fits": (fits.CompImageHDU(u16, header=header), True),
        "cube.fits": (
            fits.CompImageHDU(cube, compression_type="GZIP_2", name="CUBE", tile_shape=(1, 10, 12)),
            False,
        ),
        "plio.fits": (fits.CompImageHDU(small, compression_type="PLIO_1"), False),
        "hcompress.fits": (
            fits.CompImageHDU(floats, compression_type="HCOMPRESS_1", quantize_level=8),
            False,
        ),
        "dithered.fits": (
            fits.CompImageHDU(floats, quantize_method=2, quantize_level=16, name="SCI"),
            True,
        ),
    }
    paths = []
    for name, (hdu, checksum) in made.items():
        path = folder / name
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, checksum=checksum)
        paths.append(path)
    plio = (folder / "plio.fits").read_bytes()
    zsimple = bytearray(plio)
    _replace_card(zsimple, "ZTENSION=", "ZSIMPLE =                    T / conforms to FITS")
    (folder / "zsimple.fits").write_bytes(bytes(zsimple))
    scaled = bytearray(plio)
    end = scaled.decode("latin-1").index("END" + " " * 77, 2880)
    extra = "".join(
        card.ljust(80)
        for card in (
            "BSCALE  =                  2.5 / scale",
            "BZERO   =                 10.0",
            "EXTNAME = 'COMPRESSED_IMAGE'",
            "EXTNAME = 'REAL    '",
            "ZBLANK  =                  -99",
            "END",
        )
    )
    assert (end // 2880 + 1) * 2880 - end >= len(extra)  # room in the header's last block
    scaled[end : end + len(extra)] = extra.encode()
    (folder / "scaled.fits").write_bytes(bytes(scaled))
    return [*paths, folder / "zsimple.fits", folder / "scaled.fits"]


def _astropy_image_headers(path: Path) -> dict[int, list[tuple[str, object, str]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as hdul:
            return {
                i: [(c.keyword, c.value, c.comment) for c in hdu.header.cards]
                for i, hdu in enumerate(hdul)
                if isinstance(hdu, fits.CompImageHDU)
            }


def _ours(path: Path) -> dict[int, list[tuple[str, object, str]]]:
    found = {}
    with open(path, "rb") as f:
        for hdu in walk_file(f):
            derived = image_header(hdu.header)
            assert (derived is not None) is is_tile_compressed(hdu.header)
            if derived is not None:
                found[hdu.index] = [(c.keyword, c.value, c.comment) for c in derived.cards]
    return found


@pytest.fixture(scope="module")
def compressed_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("compressed")
    survey = write_survey(folder, 12)  # every kind twice: RICE and GZIP images among them
    return [*survey.values(), *_tricky(folder)]


def test_image_headers_match_astropy(compressed_files: list[Path]) -> None:
    compressed = 0
    for path in compressed_files:
        expected = _astropy_image_headers(path)
        assert _ours(path) == expected, path.name
        compressed += len(expected)
    assert compressed >= 11  # the survey's 4 and the 7 made here


def test_other_headers_are_not_images(compressed_files: list[Path]) -> None:
    table = next(p for p in compressed_files if p.name == "obs-0002.fits")  # a table
    with open(table, "rb") as f:
        hdus = list(walk_file(f))
    assert [is_tile_compressed(h.header) for h in hdus] == [False, False]
    assert all(image_header(h.header) is None for h in hdus)


def test_unusable_compressed_header_gives_none() -> None:
    cards = [
        "XTENSION= 'BINTABLE'",
        "BITPIX  =                    8",
        "NAXIS   =                    2",
        "NAXIS1  =                    8",
        "NAXIS2  =                    1",
        "PCOUNT  =                    0",
        "GCOUNT  =                    1",
        "TFIELDS =                    1",
        "TTYPE1  = 'COMPRESSED_DATA'",
        "TFORM1  = '1PB(0) '",
        "ZIMAGE  =                    T",
        "ZBITPIX =                   16",
        "ZNAXIS  =                    2",
        "ZNAXIS1 =                   10",
    ]
    header = parse_header("".join(c.ljust(80) for c in [*cards, "END"]).encode())
    assert is_tile_compressed(header)
    assert image_header(header) is None  # ZNAXIS2 is missing
    complete = parse_header(
        "".join(c.ljust(80) for c in [*cards, "ZNAXIS2 =                   20", "END"]).encode()
    )
    image = image_header(complete)
    assert image is not None
    assert (image["XTENSION"], image["BITPIX"], image["NAXIS1"], image["NAXIS2"]) == (
        "IMAGE",
        16,
        10,
        20,
    )
    record = HDURecord("x.fits", 1, 0, 2880, 8, complete)
    assert record.tile_compressed and record.image_header == image
    assert record.header is complete  # the stored table header stays the record's header
