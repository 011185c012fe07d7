"""Cutouts around a sky position from every image of a catalog that covers it.

::

    from astro_cloud_async import Client
    from astro_cloud_async.cutouts import cutouts, write_cutouts
    from astro_cloud_async.sections import record_from_row
    from astro_cloud_async.sky import find

    async with Client() as client:
        rows = find("survey.parquet", 150.0, 2.0).to_pylist()
        async for cut in cutouts(map(record_from_row, rows), 150.0, 2.0, 64, client=client):
            print(cut.record.url, cut.data.shape, cut.header["CRPIX1"])

Each cutout equals ``astropy.nddata.Cutout2D(data, SkyCoord(ra, dec), size, wcs, mode=...)``
in pixels and WCS; only the image rows the box spans are fetched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .cutout import Cutout as Cutout
    from .cutout import CutoutPlan as CutoutPlan
    from .cutout import cutout_header as cutout_header
    from .cutout import cutouts as cutouts
    from .cutout import plan_cutout as plan_cutout
    from .files import CutoutReport as CutoutReport
    from .files import cutout_name as cutout_name
    from .files import write_cutouts as write_cutouts

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Cutout": ".cutout",
        "CutoutPlan": ".cutout",
        "CutoutReport": ".files",
        "cutout_header": ".cutout",
        "cutout_name": ".files",
        "cutouts": ".cutout",
        "plan_cutout": ".cutout",
        "write_cutouts": ".files",
    },
)
