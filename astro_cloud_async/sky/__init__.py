"""Where images lie on the sky, and which of them cover a position.

:mod:`.footprints` computes an image's footprint (centre, corners, bounding radius) from its
header's WCS with astropy; the index job stores it in the catalog's ``footprint_*`` columns.
:func:`find` answers "which HDUs cover this position" from such a catalog, with a polygon test
on the sphere (:mod:`.sphere`)::

    from astro_cloud_async.sky import find

    rows = find("survey.parquet", ra=150.0, dec=2.0, radius=5)   # a pyarrow.Table
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from .footprints import Footprint as Footprint
    from .footprints import footprint as footprint
    from .footprints import footprint_columns as footprint_columns
    from .query import find as find
    from .sphere import contains as contains
    from .sphere import separation as separation

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Footprint": ".footprints",
        "contains": ".sphere",
        "find": ".query",
        "footprint": ".footprints",
        "footprint_columns": ".footprints",
        "separation": ".sphere",
    },
)
