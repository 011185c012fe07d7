"""The tables the page browses: catalogs given to ``serve``, and the results of its scans.

Both are served the same way (:class:`TableSource`): pages of rows, sorted and filtered by
:mod:`.query`; one row in full with its parsed header; the footprints of the rows a query
keeps, for the sky map. A catalog is read once, when first asked for; a scan's table is
rebuilt from its rows when it has grown.

Footprints come from the catalog's ``footprint`` column (a JSON list of corners ``[[ra, dec],
...]``, degrees) or, where only ``footprint_ra``, ``footprint_dec`` and ``footprint_radius``
are filled, a circle; rows with neither are counted, not drawn.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..catalog.columns import HEADER_COLUMN
from ..fits.header import parse_header
from ..options import Options
from ..sections.read import record_from_row
from .encode import hdu_json, header_json
from .errors import BadRequestError, NotFoundError
from .query import Query, column_kind, matching_rows

if TYPE_CHECKING:
    import pyarrow

__all__ = [
    "FOOTPRINT_COLUMNS",
    "MAX_FOOTPRINTS",
    "MAX_PAGE",
    "CatalogTable",
    "TableSource",
    "Tables",
    "footprints",
    "page",
    "row_detail",
    "table_info",
]

FOOTPRINT_COLUMNS = ("footprint_ra", "footprint_dec", "footprint_radius", "footprint")
MAX_PAGE = 1000
"""Rows in one page at most."""
MAX_FOOTPRINTS = 20_000
"""Footprints sent for one map at most (the first in the query's order)."""


class TableSource(Protocol):
    """A table the page can browse."""

    id: str
    name: str
    kind: str
    options: Options
    """How to fetch bytes of its objects (for previews)."""

    def table(self) -> pyarrow.Table:
        """The table as it is now (a scan's grows: rows are only ever added)."""
        ...


class CatalogTable:
    """A catalog file given to ``serve``, read on first use."""

    kind = "catalog"

    def __init__(self, table_id: str, path: Path, options: Options) -> None:
        self.id = table_id
        self.path = path
        self.name = path.name
        self.options = options
        self._table: pyarrow.Table | None = None

    def table(self) -> pyarrow.Table:
        if self._table is None:
            self._table = _read(self.path)
        return self._table


def _read(path: Path) -> pyarrow.Table:
    """A catalog: as ``index`` writes it (any format), or one Parquet file from elsewhere."""
    if path.is_file() and path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    from ..catalog.tables import read_catalog

    return read_catalog(path)


class Tables:
    """Every table of the app, by id."""

    def __init__(self) -> None:
        self._tables: dict[str, TableSource] = {}

    def add(self, source: TableSource) -> TableSource:
        self._tables[source.id] = source
        return source

    def get(self, table_id: str) -> TableSource:
        source = self._tables.get(table_id)
        if source is None:
            raise NotFoundError(f"no table {table_id!r}")
        return source

    def remove(self, table_id: str) -> None:
        self._tables.pop(table_id, None)

    def __iter__(self) -> Iterator[TableSource]:
        return iter(list(self._tables.values()))

    @classmethod
    def of_catalogs(cls, paths: list[str | os.PathLike[str]], options: Options) -> Tables:
        tables = cls()
        for n, path in enumerate(paths):
            tables.add(CatalogTable(f"c{n}", Path(path), options))
        return tables


def _version(source: TableSource, table: pyarrow.Table) -> tuple[str, int, str]:
    """What names this state of a table: tables only grow, and columns may widen."""
    return (source.id, len(table), str(table.schema))


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def table_info(source: TableSource) -> dict[str, Any]:
    """What the page needs to show a table: its size and typed columns."""
    table = source.table()
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "rows": len(table),
        "columns": [
            {"name": f.name, "kind": column_kind(f.type)}
            for f in table.schema
            if f.name != HEADER_COLUMN
        ],
        "footprints": _has_footprints(table),
    }


def _has_footprints(table: pyarrow.Table) -> bool:
    """Whether any row has a footprint (catalogs indexed without ``--footprints`` hold the
    columns, all null)."""
    return any(
        table.column(name).null_count < len(table)
        for name in ("footprint", "footprint_ra")
        if name in table.schema.names
    )


def _rows(table: pyarrow.Table, numbers: pyarrow.Array) -> list[dict[str, Any]]:
    shown = [n for n in table.schema.names if n != HEADER_COLUMN]
    taken = table.select(shown).take(numbers)
    rows: list[dict[str, Any]] = taken.to_pylist()
    for number, row in zip(numbers.to_pylist(), rows, strict=True):
        for key, value in row.items():
            row[key] = _json_value(value)
        row["__row"] = number
    return rows


def page(source: TableSource, query: Query, offset: int, limit: int) -> dict[str, Any]:
    """Rows ``offset`` to ``offset + limit`` of those ``query`` keeps, in its order."""
    if offset < 0 or limit < 1:
        raise BadRequestError("offset must be >= 0 and limit >= 1")
    table = source.table()
    numbers = matching_rows(
        table, query, search_column=HEADER_COLUMN, version=_version(source, table)
    )
    limit = min(limit, MAX_PAGE)
    return {
        "total": len(table),
        "matched": len(numbers),
        "offset": offset,
        "rows": _rows(table, numbers.slice(offset, limit)),
    }


def row_detail(source: TableSource, number: int) -> dict[str, Any]:
    """Row ``number`` in full: its columns, ``info`` row and parsed header."""
    table = source.table()
    if not 0 <= number < len(table):
        raise NotFoundError(f"no row {number} in {source.name} ({len(table)} rows)")
    row = table.slice(number, 1).to_pylist()[0]
    text = row.get(HEADER_COLUMN)
    detail: dict[str, Any] = {
        "row": {k: _json_value(v) for k, v in row.items() if k != HEADER_COLUMN},
        "number": number,
    }
    if isinstance(text, str):
        try:
            detail["hdu"] = hdu_json(record_from_row(row))
        except (KeyError, ValueError):  # not a whole catalog row: the header alone
            header = parse_header(text.encode("ascii", errors="replace"))
            detail["hdu"] = {"cards": header_json(header)}
    return detail


def _polygon(row: dict[str, Any]) -> list[list[float]] | None:
    """Corners of a row's footprint, or a 24-gon for a centre and radius, or None."""
    text = row.get("footprint")
    if isinstance(text, str) and text:
        try:
            corners = json.loads(text)
            polygon = [[float(ra), float(dec)] for ra, dec in corners]
        except (ValueError, TypeError):
            polygon = []
        if len(polygon) >= 3 and all(math.isfinite(v) for p in polygon for v in p):
            return polygon
    ra, dec, radius = row.get("footprint_ra"), row.get("footprint_dec"), row.get("footprint_radius")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (ra, dec, radius)):
        return None
    return _circle(float(ra), float(dec), float(radius))  # type: ignore[arg-type]


def _circle(ra: float, dec: float, radius: float, n: int = 24) -> list[list[float]]:
    """Points of the small circle of ``radius`` degrees around (ra, dec)."""
    r, d0, a0 = math.radians(radius), math.radians(dec), math.radians(ra)
    points = []
    for k in range(n):
        bearing = 2 * math.pi * k / n
        d = math.asin(math.sin(d0) * math.cos(r) + math.cos(d0) * math.sin(r) * math.cos(bearing))
        a = a0 + math.atan2(
            math.sin(bearing) * math.sin(r) * math.cos(d0),
            math.cos(r) - math.sin(d0) * math.sin(d),
        )
        points.append([math.degrees(a) % 360.0, math.degrees(d)])
    return points


def footprints(source: TableSource, query: Query, by: str | None = None) -> dict[str, Any]:
    """The footprints of the rows ``query`` keeps (at most :data:`MAX_FOOTPRINTS`), each with
    its value of the column ``by`` when given (the map colours them by it)."""
    table = source.table()
    if by is not None and (by not in table.schema.names or by == HEADER_COLUMN):
        raise BadRequestError(f"no column named {by!r} to colour by")
    numbers = matching_rows(
        table, query, search_column=HEADER_COLUMN, version=_version(source, table)
    )
    present = [c for c in FOOTPRINT_COLUMNS if c in table.schema.names]
    shown: list[dict[str, Any]] = []
    missing = 0
    if present:
        label = [c for c in ("url", "hdu", "extname") if c in table.schema.names]
        extra = [by] if by is not None and by not in present + label else []
        taken = table.select(present + label + extra).take(numbers.slice(0, MAX_FOOTPRINTS))
        for number, row in zip(numbers.to_pylist(), taken.to_pylist(), strict=False):
            polygon = _polygon(row)
            if polygon is None:
                missing += 1
                continue
            name = Path(str(row.get("url") or "")).name
            item = {
                "row": number,
                "polygon": polygon,
                "label": f"{name} [{row.get('hdu')}] {row.get('extname') or ''}".strip(),
            }
            if by is not None:
                item["value"] = _json_value(row.get(by))
            shown.append(item)
    else:
        missing = len(numbers)
    return {
        "matched": len(numbers),
        "drawn": len(shown),
        "without": missing,
        "capped": len(numbers) > MAX_FOOTPRINTS,
        "footprints": shown,
    }
