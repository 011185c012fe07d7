"""Which HDUs of a catalog cover a position: :func:`find`.

Strategy: three sieves, each on fewer rows than the one before, so a query never decodes what
it does not need. (1) Over every row, only three numeric columns are read (Parquet reads a
column without the others): a declination band, ``|dec - footprint_dec| <= footprint_radius +
radius``, then the exact angular distance to the footprint's centre against the same bound.
(2) The rows left (a handful) are taken whole from their part files, the ``header`` column
included. (3) Their four corners go through the polygon test on the sphere
(:func:`.sphere.contains`). Parquet catalogs (a dataset directory or one file) are read this
way; JSON Lines and CSV catalogs are read whole and filtered in memory. A ``pyarrow.Table``
catalog is filtered as it is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..catalog.resume import catalog_format, parquet_parts
from ..catalog.tables import read_catalog, unify
from ..errors import ConfigurationError
from .sphere import contains, separation, unit_vectors

if TYPE_CHECKING:
    import pyarrow

__all__ = ["find", "parquet_files"]

_POSITION = ["footprint_ra", "footprint_dec", "footprint_radius"]


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files of a catalog: a dataset directory's parts, or the one file."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ConfigurationError(f"{path}: no such catalog", url=str(path))
    parts = parquet_parts(path) or sorted(path.glob("*.parquet"))
    return parts


def _require_footprints(table: pyarrow.Table) -> None:
    column = table.column("footprint_ra")
    if len(column) and column.null_count == len(column):
        raise ConfigurationError(
            "no row of the catalog has a footprint: index it with --footprints "
            "(footprints=True in an IndexJob)"
        )


def _check_position(ra: float, dec: float, radius: float) -> None:
    if not (np.isfinite(ra) and np.isfinite(dec) and -90 <= dec <= 90):
        raise ConfigurationError(f"not a sky position: RA {ra}, Dec {dec}")
    if not (np.isfinite(radius) and radius >= 0):
        raise ConfigurationError(f"radius must be >= 0, got {radius}")


def _near(table: pyarrow.Table, ra: float, dec: float, radius: float) -> Any:
    """Indices of the rows whose bounding circle comes within ``radius`` of the position."""
    fra = table.column("footprint_ra").to_numpy(zero_copy_only=False)
    fdec = table.column("footprint_dec").to_numpy(zero_copy_only=False)
    frad = table.column("footprint_radius").to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        band = np.abs(fdec - dec) <= frad + radius  # NaN (no footprint) is never in it
    rows = np.flatnonzero(band)
    if len(rows):
        close = separation(ra, dec, fra[rows], fdec[rows]) <= frad[rows] + radius
        rows = rows[close]
    return rows


def _polygon_filter(table: pyarrow.Table, ra: float, dec: float, radius: float) -> pyarrow.Table:
    """The rows of ``table`` whose footprint holds the position (within ``radius``)."""
    if len(table) == 0:
        return table
    corners = np.array(
        [json.loads(text) for text in table.column("footprint").to_pylist()], dtype=float
    )
    centres = unit_vectors(
        table.column("footprint_ra").to_numpy(zero_copy_only=False),
        table.column("footprint_dec").to_numpy(zero_copy_only=False),
    )
    inside = contains(
        unit_vectors(corners[..., 0], corners[..., 1]), centres, unit_vectors(ra, dec), radius
    )
    return table.filter(inside)


def _from_parquet(files: list[Path], ra: float, dec: float, radius: float) -> pyarrow.Table:
    import pyarrow as pa
    import pyarrow.dataset as ds

    dataset = ds.dataset([str(f) for f in files], format="parquet")
    missing = [name for name in [*_POSITION, "footprint"] if name not in dataset.schema.names]
    if missing:
        raise ConfigurationError(
            f"the catalog has no footprint columns ({', '.join(missing)}): index it again "
            "with --footprints (footprints=True in an IndexJob)"
        )
    fragments = list(dataset.get_fragments())
    small = dataset.to_table(columns=_POSITION)
    _require_footprints(small)
    rows = _near(small, ra, dec, radius)
    if not len(rows):
        return _empty(dataset.schema)
    counts = np.array([f.count_rows() for f in fragments])
    starts = np.concatenate(([0], np.cumsum(counts)))
    which = np.searchsorted(starts, rows, side="right") - 1
    pieces = []
    for index in np.unique(which):
        local = rows[which == index] - starts[index]
        pieces.append(fragments[index].take(pa.array(local)))
    return _polygon_filter(unify(pieces), ra, dec, radius)


def _empty(schema: Any) -> pyarrow.Table:
    return schema.empty_table()


def find(
    catalog: str | os.PathLike[str] | pyarrow.Table,
    ra: float,
    dec: float,
    radius: float = 0.0,
    *,
    format: str | None = None,
) -> pyarrow.Table:
    """The rows of ``catalog`` whose footprint holds the position ``(ra, dec)`` (degrees, ICRS
    or whatever frame the headers use), as a ``pyarrow.Table`` with the catalog's columns.

    ``radius`` (arcseconds) also takes footprints whose edges pass within that distance.
    ``catalog`` is a catalog path (Parquet dataset directory or file, JSON Lines, CSV) or a
    table. Rows without a footprint (no celestial WCS, or footprints not computed) never match.
    """
    radius_deg = float(radius) / 3600.0
    ra, dec = float(ra) % 360.0, float(dec)
    _check_position(ra, dec, radius_deg)
    if not isinstance(catalog, (str, os.PathLike)):
        table = catalog
    else:
        path = Path(catalog)
        if catalog_format(path, format) == "parquet":
            return _from_parquet(parquet_files(path), ra, dec, radius_deg)
        table = read_catalog(path, format=format)
    for name in [*_POSITION, "footprint"]:
        if name not in table.column_names:
            raise ConfigurationError(f"the catalog has no {name} column")
    _require_footprints(table)
    near = table.take(_near(table.select(_POSITION), ra, dec, radius_deg))
    return _polygon_filter(near, ra, dec, radius_deg)
