"""Stored pixels to the values astropy gives: native byte order, BSCALE/BZERO and BLANK applied.

Strategy: follow ``astropy.io.fits`` (``_ImageBaseHDU._scale_data`` and ``_dtype_for_bitpix``)
step for step, in the same types and the same order of operations, so that a section read here
equals ``hdul[i].section[key]`` and ``hdul[i].data[key]`` element for element, float rounding
included:

* no BSCALE/BZERO (1 and 0) and no BLANK: the stored type, in native byte order;
* the unsigned convention (BSCALE = 1, BZERO = 2**(BITPIX-1); with ``uint``, astropy's default):
  ``uint16``/``uint32``/``uint64``, and BITPIX = 8 with BZERO = -128 gives ``int8``. Flipping
  the sign bit is exactly astropy's wrapping ``- 2**(BITPIX-1)``; BLANK is not applied;
* otherwise floats: ``float32`` for BITPIX 8 and 16, ``float64`` for 32 and 64, the stored
  type for -32 and -64; multiplied by BSCALE in place, then BZERO added, then pixels equal to
  BLANK (integer images only) set to NaN. As in astropy, ``BLANK = 0`` marks nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidHeaderError

__all__ = ["Scaling", "decode"]

_UNSIGNED: dict[int, np.dtype[Any]] = {
    16: np.dtype(np.uint16),
    32: np.dtype(np.uint32),
    64: np.dtype(np.uint64),
}


def _number(header: Mapping[str, Any], key: str, default: int, url: str | None) -> int | float:
    value = header.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidHeaderError(f"{key} = {value!r} is not a number", url=url)
    return value


@dataclass(frozen=True, slots=True)
class Scaling:
    """How stored pixels become values: ``value = stored * bscale + bzero``, BLANK -> NaN.

    ``blank`` is kept only where astropy keeps it: an integer BLANK on an integer image.
    ``uint`` is astropy's ``uint`` switch for the unsigned-integer convention.
    """

    bitpix: int
    bscale: int | float = 1
    bzero: int | float = 0
    blank: int | None = None
    uint: bool = True

    @classmethod
    def from_header(
        cls, header: Mapping[str, Any], *, uint: bool = True, url: str | None = None
    ) -> Scaling:
        bitpix = header.get("BITPIX")
        if isinstance(bitpix, bool) or not isinstance(bitpix, int):
            raise InvalidHeaderError(f"BITPIX = {bitpix!r} is not an integer", url=url)
        blank = header.get("BLANK")
        if isinstance(blank, bool) or not isinstance(blank, int) or bitpix < 0:
            blank = None
        return cls(
            bitpix=bitpix,
            bscale=_number(header, "BSCALE", 1, url),
            bzero=_number(header, "BZERO", 0, url),
            blank=blank,
            uint=uint,
        )

    @property
    def identity(self) -> bool:
        """True when the stored values are the values (no scaling, no BLANK)."""
        return self.bscale == 1 and self.bzero == 0 and self.blank is None

    @property
    def pseudo_integer(self) -> np.dtype[Any] | None:
        """The integer type of the unsigned convention (or signed bytes), when it applies."""
        if not self.uint or self.bscale != 1:
            return None
        if self.bitpix == 8 and self.bzero == -128:
            return np.dtype(np.int8)
        unsigned = _UNSIGNED.get(self.bitpix)
        if unsigned is not None and self.bzero == 1 << (self.bitpix - 1):
            return unsigned
        return None

    def dtype(self, *, do_not_scale: bool = False) -> np.dtype[Any]:
        """The type of decoded values (native byte order)."""
        stored = _stored(self.bitpix)
        if do_not_scale or self.identity:
            return stored
        pseudo = self.pseudo_integer
        if pseudo is not None:
            return pseudo
        if self.bitpix > 16:
            return np.dtype(np.float64)
        if self.bitpix > 0:
            return np.dtype(np.float32)
        return stored


def _stored(bitpix: int) -> np.dtype[Any]:
    kinds = {8: np.uint8, 16: np.int16, 32: np.int32, 64: np.int64, -32: np.float32,
             -64: np.float64}  # fmt: skip
    return np.dtype(kinds[bitpix])


def decode(
    stored: np.ndarray[Any, Any], scaling: Scaling, *, do_not_scale: bool = False
) -> np.ndarray[Any, Any]:
    """The values of ``stored`` (big-endian pixels as read) as a new native-order array.

    ``do_not_scale`` returns the stored values, only byte-swapped, as astropy's
    ``do_not_scale_image_data=True`` does.
    """
    native = stored.astype(_stored(scaling.bitpix), copy=True)
    if do_not_scale or scaling.identity:
        return native
    pseudo = scaling.pseudo_integer
    if pseudo is not None:
        bits = pseudo.itemsize * 8
        unsigned = native.view(f"u{pseudo.itemsize}")
        unsigned ^= np.array(1 << (bits - 1), dtype=unsigned.dtype)
        return unsigned.view(pseudo)
    blanks = None
    if scaling.blank is not None:
        blanks = native == scaling.blank
    data = native.astype(scaling.dtype(), copy=False)
    if scaling.bscale != 1:
        np.multiply(data, scaling.bscale, out=data)
    if scaling.bzero != 0:
        data += scaling.bzero
    if scaling.blank and blanks is not None:  # astropy tests BLANK's truth: BLANK = 0 is inert
        data[blanks] = np.nan
    return data
