"""Small FITS files with real pixel data for the section tests, written byte for byte.

Headers come from ``astropy.io.fits.Header`` and the pixels are written as stored (big-endian,
before any BSCALE/BZERO), so each case controls exactly what is on disk; astropy then reads the
same files as the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

BITPIX = {
    np.dtype(">u1"): 8,
    np.dtype(">i2"): 16,
    np.dtype(">i4"): 32,
    np.dtype(">i8"): 64,
    np.dtype(">f4"): -32,
    np.dtype(">f8"): -64,
}


def image_hdu_bytes(
    raw: np.ndarray[Any, Any], *, primary: bool, cards: Mapping[str, Any] | None = None
) -> bytes:
    """One image HDU (header and padded data) holding ``raw`` as stored."""
    raw = raw.astype(raw.dtype.newbyteorder(">"))
    header = fits.Header()
    if primary:
        header["SIMPLE"] = True
    else:
        header["XTENSION"] = "IMAGE"
    header["BITPIX"] = BITPIX[raw.dtype]
    header["NAXIS"] = raw.ndim
    for i, n in enumerate(reversed(raw.shape)):
        header[f"NAXIS{i + 1}"] = n
    if primary:
        header["EXTEND"] = True
    else:
        header["PCOUNT"] = 0
        header["GCOUNT"] = 1
    for key, value in (cards or {}).items():
        header[key] = value
    data = raw.tobytes()
    return header.tostring().encode("ascii") + data + b"\0" * (-len(data) % 2880)


def empty_primary_bytes() -> bytes:
    header = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("EXTEND", True)])
    return header.tostring().encode("ascii")


def table_hdu_bytes(seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    columns = [
        fits.Column(name="ra", format="D", array=rng.uniform(0, 360, 40)),
        fits.Column(name="flux", format="E", array=rng.normal(size=40).astype(np.float32)),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="CATALOG")
    data = hdu.data.tobytes() if hdu.data is not None else b""
    return hdu.header.tostring().encode("ascii") + data + b"\0" * (-len(data) % 2880)


def _ints(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    stored = np.dtype(dtype)
    native = stored.newbyteorder("=")
    info = np.iinfo(native)
    return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=native).astype(stored)


@dataclass(frozen=True)
class ImageCase:
    """One image: its stored pixels, extra header cards, and where it sits in its file."""

    name: str
    raw: np.ndarray[Any, Any]
    cards: dict[str, Any] = field(default_factory=dict)
    extension: bool = False
    """Written as the first IMAGE extension after an empty primary (else as the primary)."""

    @property
    def filename(self) -> str:
        return f"{self.name}.fits"

    @property
    def hdu_index(self) -> int:
        return 1 if self.extension else 0

    def file_bytes(self) -> bytes:
        if self.extension:
            return empty_primary_bytes() + image_hdu_bytes(
                self.raw, primary=False, cards=self.cards
            )
        return image_hdu_bytes(self.raw, primary=True, cards=self.cards)


def image_cases(seed: int = 7) -> list[ImageCase]:
    """Every BITPIX, scaled and not, BLANK, the unsigned conventions, 1-d/2-d/3-d."""
    rng = np.random.default_rng(seed)
    shape2 = (37, 53)
    cases = [
        ImageCase("u8", _ints(rng, ">u1", shape2)),
        ImageCase("i16", _ints(rng, ">i2", shape2), extension=True),
        ImageCase("i32", _ints(rng, ">i4", shape2)),
        ImageCase("i64", _ints(rng, ">i8", shape2), extension=True),
        ImageCase("f32", rng.normal(size=shape2).astype(">f4")),
        ImageCase("f64", rng.normal(size=shape2).astype(">f8"), extension=True),
        # BSCALE/BZERO on every type
        ImageCase("u8_scaled", _ints(rng, ">u1", shape2), {"BSCALE": 0.25, "BZERO": -3.0}),
        ImageCase("i16_scaled", _ints(rng, ">i2", shape2), {"BSCALE": 0.01, "BZERO": 250.0}, True),
        ImageCase("i32_scaled", _ints(rng, ">i4", shape2), {"BSCALE": 2.5, "BZERO": -7}),
        ImageCase("i64_scaled", _ints(rng, ">i8", shape2), {"BSCALE": 1e-6, "BZERO": 3.0}, True),
        ImageCase(
            "f32_scaled", rng.normal(size=shape2).astype(">f4"), {"BSCALE": 3.0, "BZERO": 1.5}
        ),
        ImageCase(
            "f64_scaled", rng.normal(size=shape2).astype(">f8"), {"BSCALE": -2.0, "BZERO": 0.5}
        ),
        # BLANK
        ImageCase("i16_blank", _blanked(rng, ">i2", shape2, -32768), {"BLANK": -32768}),
        ImageCase(
            "i32_blank_scaled",
            _blanked(rng, ">i4", shape2, 999),
            {"BSCALE": 0.5, "BZERO": 10.0, "BLANK": 999},
            True,
        ),
        ImageCase("u8_blank", _blanked(rng, ">u1", shape2, 255), {"BLANK": 255}),
        # The unsigned-integer convention, and signed bytes
        ImageCase("uint16", _ints(rng, ">i2", shape2), {"BSCALE": 1, "BZERO": 32768}),
        ImageCase("uint32", _ints(rng, ">i4", shape2), {"BZERO": 2147483648}, True),
        ImageCase("uint64", _ints(rng, ">i8", shape2), {"BZERO": 9223372036854775808}),
        ImageCase("int8", _ints(rng, ">u1", shape2), {"BZERO": -128}, True),
        # Other dimensionalities
        ImageCase("f32_1d", rng.normal(size=(1001,)).astype(">f4")),
        ImageCase("i16_3d", _ints(rng, ">i2", (5, 17, 23)), {"BZERO": 5.0}, True),
        ImageCase("f64_3d", rng.normal(size=(4, 9, 11)).astype(">f8")),
    ]
    return cases


def _blanked(
    rng: np.random.Generator, dtype: str, shape: tuple[int, ...], blank: int
) -> np.ndarray[Any, Any]:
    raw = _ints(rng, dtype, shape)
    raw.flat[rng.choice(raw.size, size=raw.size // 7, replace=False)] = blank
    return raw


KEYS_2D: list[Any] = [
    (slice(2, 9), slice(3, 40)),
    (slice(0, 1), slice(0, 1)),
    (slice(30, None), slice(45, None)),  # the far corner
    (slice(-5, None), slice(None, 4)),
    (slice(None, None, 3), slice(1, None, 4)),
    (slice(30, 2, -2), slice(50, 1, -7)),
    (5, slice(10, 20)),
    (slice(None), 52),
    (36, 0),
    ([1, 5, 2], slice(0, 10, 2)),
    (slice(-100, 3), slice(40, 1000)),  # clipped as numpy clips
    Ellipsis,
]
KEYS_1D: list[Any] = [
    slice(10, 20),
    slice(None, None, 7),
    slice(1000, None),
    slice(None, None, -1),
    500,
    -1,
    [0, 999, 3],
]
KEYS_3D: list[Any] = [
    (slice(1, 3), slice(2, 9), slice(3, 20)),
    (2, slice(None), slice(None)),
    (slice(None), 4, slice(None, None, 5)),
    (Ellipsis, 7),
    (slice(None, None, -2), slice(1, None, 3), slice(None, None, -4)),
    (0, 0, 0),
    (slice(3, 4), slice(None), slice(22, None)),
]


def keys_for(case: ImageCase) -> list[Any]:
    return {1: KEYS_1D, 2: KEYS_2D, 3: KEYS_3D}[case.raw.ndim]


def write_cases(folder: Path, cases: list[ImageCase]) -> dict[str, Path]:
    paths = {}
    for case in cases:
        path = folder / case.filename
        path.write_bytes(case.file_bytes())
        paths[case.name] = path
    return paths


def mixed_file_bytes(seed: int = 3) -> bytes:
    """A primary image, a binary table, then an IMAGE extension."""
    rng = np.random.default_rng(seed)
    return (
        image_hdu_bytes(_ints(rng, ">i2", (20, 30)), primary=True)
        + table_hdu_bytes(seed)
        + image_hdu_bytes(rng.normal(size=(12, 16)).astype(">f4"), primary=False)
    )


BIG_SHAPE = (2048, 2048)


def big_image_bytes(seed: int = 11) -> bytes:
    """A 2048 x 2048 float32 image (16 MiB of pixels) behind an empty primary."""
    rng = np.random.default_rng(seed)
    raw = rng.normal(size=BIG_SHAPE).astype(">f4")
    return empty_primary_bytes() + image_hdu_bytes(raw, primary=False, cards={"EXTNAME": "SCI"})


MANY = 40
"""Small images for the many-files cutouts."""


@dataclass(frozen=True)
class SectionFiles:
    """The files the section tests read, all in ``root``."""

    root: Path
    cases: list[ImageCase]
    paths: dict[str, Path]
    mixed: Path
    big: Path
    truncated: Path
    truncated_full: bytes
    many: list[Path]
    many_raw: list[np.ndarray[Any, Any]]


def write_section_folder(root: Path) -> SectionFiles:
    cases = image_cases()
    paths = write_cases(root, cases)
    mixed = root / "mixed.fits"
    mixed.write_bytes(mixed_file_bytes())
    big = root / "big.fits"
    big.write_bytes(big_image_bytes())
    # An image cut short inside its data: rows 0-39 of 100 are all there.
    rng = np.random.default_rng(5)
    raw = rng.normal(size=(100, 300)).astype(">f8")
    full = image_hdu_bytes(raw, primary=True)
    truncated = root / "truncated.fits"
    truncated.write_bytes(full[: 2880 + 40 * 300 * 8 + 123])
    (root / "many").mkdir()
    many, many_raw = [], []
    for i in range(MANY):
        pixels = rng.integers(-1000, 1000, size=(64, 80)).astype(">i2")
        path = root / "many" / f"img_{i:03d}.fits"
        path.write_bytes(image_hdu_bytes(pixels, primary=True, cards={"BZERO": 32768}))
        many.append(path)
        many_raw.append(pixels)
    return SectionFiles(root, cases, paths, mixed, big, truncated, full, many, many_raw)
