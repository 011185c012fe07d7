"""Image sections (cutouts) and whole images, read from an index of HDU records.

An :class:`~astro_cloud_async.HDURecord` (from a scan, or rebuilt from a catalog row with
:func:`record_from_row`) says where an image's pixels start and how they are stored, so a
section needs only the byte ranges of the rows it covers::

    from astro_cloud_async import Client
    from astro_cloud_async.sections import read_section, read_sections

    async with Client(anon=True) as client:
        (primary, image) = await client.read_headers("s3://bucket/frame.fits")
        cutout = await read_section(image, (slice(100, 164), slice(200, 264)), client=client)

:mod:`.plan` computes the ranges (no I/O), :mod:`.decode` turns big-endian pixels into the
values astropy gives, :mod:`.read` fetches. Only image HDUs are supported (primary arrays and
IMAGE extensions); tables, tile-compressed images and random groups raise
:class:`NotAnImageError`.
"""

from __future__ import annotations

from .decode import Scaling, decode
from .errors import NotAnImageError, SectionIndexError, TruncatedDataError
from .plan import (
    DEFAULT_GAP,
    DEFAULT_MAX_REQUEST,
    ImageLayout,
    SectionPlan,
    normalize_key,
    plan_section,
    split_ranges,
)
from .read import (
    RangeFetcher,
    SectionFailed,
    SectionFetcher,
    SectionResult,
    image_layout,
    plan_for,
    read_data,
    read_section,
    read_sections,
    record_from_row,
)

__all__ = [
    "DEFAULT_GAP",
    "DEFAULT_MAX_REQUEST",
    "ImageLayout",
    "NotAnImageError",
    "RangeFetcher",
    "Scaling",
    "SectionFailed",
    "SectionFetcher",
    "SectionIndexError",
    "SectionPlan",
    "SectionResult",
    "TruncatedDataError",
    "decode",
    "image_layout",
    "normalize_key",
    "plan_for",
    "plan_section",
    "read_data",
    "read_section",
    "read_sections",
    "record_from_row",
    "split_ranges",
]
