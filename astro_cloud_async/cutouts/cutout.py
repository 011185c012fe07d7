"""Cutouts around a sky position, as ``astropy.nddata.Cutout2D`` makes them, reading only rows.

Strategy: the geometry is astropy's own, so the result is Cutout2D's to the pixel: the target
goes to pixel coordinates with ``skycoord_to_pixel(..., mode="all")`` (distortions included),
and ``overlap_slices`` decides which part of the image the box covers and where it lands in the
cutout (its rounding rules included). The covered part is then read through
:mod:`astro_cloud_async.sections`, which fetches only the rows it spans, and placed in an array
of the cutout's shape filled with ``fill_value`` where the box leaves the image (``partial``
mode) or trimmed to the overlap (``trim``). The header is the HDU's own, its structure cards
and checksums dropped, with every ``CRPIXn`` (alternate WCSs included) shifted by the cutout's
origin, which is what Cutout2D does to the WCS (SIP and TPV distortion are tied to CRPIX and
follow it).

:func:`cutouts` runs this for many records at once through ``read_sections`` (bounded, results
in completion order, a failure value instead of an exception per record).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..client import Client
from ..errors import ConfigurationError
from ..records import HDURecord
from ..sections.errors import NotAnImageError
from ..sections.read import SectionFailed, image_layout, read_sections

if TYPE_CHECKING:
    import astropy.io.fits

__all__ = ["Cutout", "CutoutPlan", "cutout_header", "cutouts", "plan_cutout"]

Array = np.ndarray[Any, Any]
Mode = Literal["partial", "trim"]

_STRUCTURE = frozenset(
    {
        "SIMPLE",
        "XTENSION",
        "BITPIX",
        "NAXIS",
        "EXTEND",
        "PCOUNT",
        "GCOUNT",
        "GROUPS",
        "BSCALE",
        "BZERO",
        "BLANK",
        "CHECKSUM",
        "DATASUM",
        "END",
        "ZIMAGE",
    }
)
_NAXIS = re.compile(r"NAXIS\d+")
_CRPIX = re.compile(r"CRPIX([12])([A-Z]?)")


@dataclass(frozen=True, slots=True)
class CutoutPlan:
    """Where a cutout lies in its image: the part read, and where it goes in the cutout."""

    record: HDURecord
    shape: tuple[int, int]
    """The cutout's shape, (ny, nx)."""
    slices_original: tuple[slice, slice]
    slices_cutout: tuple[slice, slice]
    position: tuple[float, float]
    """The target in the image, 0-based (x, y)."""

    @property
    def origin(self) -> tuple[int, int]:
        """The image pixel (x, y) of the cutout's pixel (0, 0), which may lie outside the image
        (Cutout2D's ``_origin_original_true``)."""
        return (
            self.slices_original[1].start - self.slices_cutout[1].start,
            self.slices_original[0].start - self.slices_cutout[0].start,
        )


@dataclass(frozen=True, slots=True)
class Cutout:
    """A cutout: its pixels and its header (the WCS shifted to it)."""

    plan: CutoutPlan
    data: Array
    header: astropy.io.fits.Header

    @property
    def record(self) -> HDURecord:
        return self.plan.record

    def hdu(self) -> astropy.io.fits.PrimaryHDU:
        from astropy.io import fits

        return fits.PrimaryHDU(self.data, self.header)


def _wcs(record: HDURecord) -> Any:
    from astropy.wcs import WCS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FITSFixedWarning: the header is what it is
        return WCS(record.fits)


def plan_cutout(
    record: HDURecord,
    ra: float,
    dec: float,
    size: int | tuple[int, int],
    *,
    mode: Mode = "partial",
) -> CutoutPlan | None:
    """Where the ``size`` (pixels: ``n`` or ``(ny, nx)``) cutout around ``(ra, dec)``
    (degrees, ICRS) lies in ``record``'s image; ``None`` when the box misses the image.

    Raises :class:`NotAnImageError` for HDUs that are not 2-D images.
    """
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.nddata.utils import NoOverlapError, overlap_slices
    from astropy.wcs.utils import skycoord_to_pixel

    layout = image_layout(record)
    if len(layout.shape) != 2:
        raise NotAnImageError(
            f"a cutout needs a 2-D image, this one has {len(layout.shape)} axes", url=record.url
        )
    ny, nx = (size, size) if isinstance(size, int) else size
    if ny < 1 or nx < 1:
        raise ConfigurationError(f"cutout size must be at least 1 pixel, got {size}")
    wcs = _wcs(record)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, y = skycoord_to_pixel(SkyCoord(ra * u.deg, dec * u.deg, frame="icrs"), wcs, mode="all")
    x, y = float(x), float(y)
    if not (np.isfinite(x) and np.isfinite(y)):
        return None
    try:
        large, small = overlap_slices(layout.shape, (ny, nx), (y, x), mode=mode)
    except NoOverlapError:
        return None
    return CutoutPlan(
        record=record,
        shape=(ny, nx)
        if mode == "partial"
        else (large[0].stop - large[0].start, large[1].stop - large[1].start),
        slices_original=(large[0], large[1]),
        slices_cutout=(small[0], small[1]),
        position=(x, y),
    )


def cutout_header(plan: CutoutPlan) -> astropy.io.fits.Header:
    """The cutout's header: the HDU's cards less structure and checksums, CRPIXn shifted."""
    from astropy.io import fits

    source = plan.record.fits.copy()  # the record's header is shared: never change it
    header = fits.Header(
        [c for c in source.cards if c.keyword not in _STRUCTURE and not _NAXIS.fullmatch(c.keyword)]
    )
    x0, y0 = plan.origin
    for axis, shift in (("1", x0), ("2", y0)):
        found = [k for k in header if (m := _CRPIX.fullmatch(k)) and m.group(1) == axis]
        if not found:
            header[f"CRPIX{axis}"] = 0.0 - shift
        for keyword in found:
            header[keyword] = float(header[keyword]) - shift
    name = plan.record.url.rsplit("/", 1)[-1]
    header.add_history(f"Cutout of {name}[{plan.record.index}] from pixel x={x0}, y={y0}")
    return header


def _fill(dtype: np.dtype[Any], fill_value: float | None) -> Any:
    if fill_value is not None:
        return fill_value
    return np.nan if dtype.kind == "f" else 0


async def cutouts(
    records: Iterable[HDURecord] | AsyncIterable[HDURecord],
    ra: float,
    dec: float,
    size: int | tuple[int, int],
    *,
    client: Client,
    mode: Mode = "partial",
    fill_value: float | None = None,
    max_in_flight: int | None = None,
    gap: int | None = None,
) -> AsyncGenerator[Cutout | SectionFailed, None]:
    """The cutout around ``(ra, dec)`` from every record, as they complete.

    Records whose image the box misses are skipped; a record that cannot be read gives a
    :class:`SectionFailed`. ``fill_value`` fills the part of a ``partial`` cutout outside the
    image (default NaN for float images, 0 for integer ones, which cannot hold NaN). ``gap``
    is passed to the section reader (rows closer than that many bytes are fetched together).
    """
    plans: dict[tuple[str, int], CutoutPlan] = {}
    failed: list[SectionFailed] = []

    async def chosen() -> AsyncGenerator[HDURecord, None]:
        async for record in _aiter(records):
            try:
                plan = plan_cutout(record, ra, dec, size, mode=mode)
            except (NotAnImageError, ConfigurationError) as err:
                failed.append(SectionFailed(record, err.with_url(record.url)))
                continue
            if plan is not None:
                plans[(record.url, record.index)] = plan
                yield record

    def key(record: HDURecord) -> tuple[slice, slice]:
        return plans[(record.url, record.index)].slices_original

    options: dict[str, Any] = {} if gap is None else {"gap": gap}
    async for result in read_sections(
        chosen(), key, client=client, max_in_flight=max_in_flight, **options
    ):
        while failed:
            yield failed.pop()
        if isinstance(result, SectionFailed):
            yield result
            continue
        record, pixels = result
        plan = plans.pop((record.url, record.index))
        if mode == "partial" and pixels.shape != plan.shape:
            data = np.empty(plan.shape, dtype=pixels.dtype)
            data[...] = _fill(pixels.dtype, fill_value)
            data[plan.slices_cutout] = pixels
        else:
            data = pixels
        yield Cutout(plan=plan, data=data, header=cutout_header(plan))
    while failed:
        yield failed.pop()


async def _aiter(
    items: Iterable[HDURecord] | AsyncIterable[HDURecord],
) -> AsyncGenerator[HDURecord, None]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
