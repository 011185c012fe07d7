"""A preview of an image HDU: a cutout read with :func:`~astro_cloud_async.sections.read_section`,
scaled with astropy's ZScale, as a PNG.

The cutout is the central part of the image, at most :data:`PREVIEW_SIDE` pixels a side (of the
first plane of a cube), so a preview costs the rows it covers, whatever the image's size. Pixels
are scaled as DS9 and astropy's ``ZScaleInterval`` do (the display range from a sample of the
pixels, robust to stars and cosmic rays) and written as an 8-bit greyscale PNG, north-up as FITS
images are shown (row 1 at the bottom).
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

from ..client import Client
from ..records import HDURecord
from ..sections.errors import NotAnImageError
from ..sections.read import image_layout, read_section

__all__ = ["PREVIEW_SIDE", "png_grey", "preview_png", "zscale_bytes"]

PREVIEW_SIDE = 512


def cutout_key(shape: tuple[int, ...], side: int = PREVIEW_SIDE) -> tuple[Any, ...]:
    """The central ``side`` x ``side`` section of the first plane of an image of ``shape``."""
    if len(shape) < 2:
        raise NotAnImageError(f"a {len(shape)}-D array has no 2-D preview")
    key: list[Any] = [0] * (len(shape) - 2)
    for n in shape[-2:]:
        take = min(n, side)
        start = (n - take) // 2
        key.append(slice(start, start + take))
    return tuple(key)


def zscale_bytes(data: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """``data`` scaled to 0..255 by ZScale (non-finite pixels black)."""
    from astropy.visualization import ZScaleInterval

    values = np.asarray(data, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, dtype=np.uint8)
    low, high = ZScaleInterval().get_limits(values[finite])
    span = high - low if high > low else 1.0
    scaled = np.clip((np.where(finite, values, low) - low) / span, 0.0, 1.0)
    return np.asarray(np.round(scaled * 255), dtype=np.uint8)


def png_grey(pixels: np.ndarray[Any, np.dtype[np.uint8]]) -> bytes:
    """An 8-bit greyscale PNG of a 2-D array (first row at the top)."""
    height, width = pixels.shape

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = np.zeros((height, width + 1), dtype=np.uint8)  # filter byte 0 (None) per row
    rows[:, 1:] = pixels
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)),
            chunk(b"IEND", b""),
        ]
    )


async def preview_png(record: HDURecord, client: Client) -> tuple[bytes, dict[str, Any]]:
    """The PNG preview of ``record`` and what it shows (the section, its value range)."""
    layout = image_layout(record)
    key = cutout_key(layout.shape)
    data = await read_section(record, key, client=client)
    pixels = zscale_bytes(data)[::-1]
    info = {
        "shape": list(layout.shape),
        "section": [[k.start, k.stop] if isinstance(k, slice) else k for k in key],
    }
    return png_grey(np.ascontiguousarray(pixels)), info
