"""A numcodecs filter that turns stored FITS pixels into the values astropy gives.

Strategy: zarr reads each chunk as raw big-endian pixels straight from the original object
and hands them to this filter, which decodes them with the same code the section reader uses
(:func:`astro_cloud_async.sections.decode.decode`, astropy's BSCALE/BZERO/BLANK rules in
astropy's order of operations), so values read through references equal astropy's, float
rounding included. Only images whose scaling is not the identity need it; the others are plain
zarr arrays of the stored big-endian type.

The codec is found by zarr through numcodecs' registry: importing this module registers it
(``astro_cloud_async.virtual`` does so), and the package also declares it as a ``numcodecs.codecs``
entry point.
"""

from __future__ import annotations

from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec

from ..sections.decode import Scaling, decode
from ..sections.plan import BITPIX_DTYPES

__all__ = ["CODEC_ID", "FITSScale", "register"]

CODEC_ID = "astro_cloud_async.fits_scale"


class FITSScale(Codec):  # type: ignore[misc]
    """Decode-only filter: stored pixels (big-endian ``BITPIX``) to scaled values."""

    codec_id = CODEC_ID

    def __init__(
        self,
        bitpix: int,
        bscale: float = 1,
        bzero: float = 0,
        blank: int | None = None,
        uint: bool = True,
    ) -> None:
        self.bitpix = int(bitpix)
        self.bscale = bscale
        self.bzero = bzero
        self.blank = blank
        self.uint = bool(uint)

    @property
    def scaling(self) -> Scaling:
        return Scaling(self.bitpix, self.bscale, self.bzero, self.blank, self.uint)

    def decode(self, buf: Any, out: Any = None) -> Any:
        stored = np.frombuffer(memoryview(buf).cast("B"), dtype=BITPIX_DTYPES[self.bitpix])
        values = decode(stored, self.scaling)
        if out is not None:
            out_view = np.asarray(out).reshape(-1).view(values.dtype)
            out_view[...] = values
            return out
        return values

    def encode(self, buf: Any) -> Any:
        raise NotImplementedError("FITS references are read-only")

    def get_config(self) -> dict[str, Any]:
        return {
            "id": CODEC_ID,
            "bitpix": self.bitpix,
            "bscale": self.bscale,
            "bzero": self.bzero,
            "blank": self.blank,
            "uint": self.uint,
        }


def register() -> None:
    """Make the codec known to numcodecs (and so to zarr)."""
    numcodecs.register_codec(FITSScale)


register()
