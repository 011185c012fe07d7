"""Catalog rows as tables: ``pyarrow.Table`` and ``astropy.table.Table``, and reading back.

Strategy: every table is built from rows by one function, :func:`rows_to_arrow`, given the
column names and types (decided by :mod:`.columns`); the astropy table is converted from the
arrow one, so both agree by construction. :func:`read_catalog` reads any of the three formats
back and applies the same typing rule, so an interrupted Parquet catalog whose parts disagree
(an integer column that later met a float) still reads as one consistent table.

pyarrow is imported only when a table is asked for: the JSON Lines and CSV writers work
without it.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..records import HDURecord, ObjectFailed
from .columns import FIXED_COLUMNS, HEADER_COLUMN, ColumnType, coerce, promote, type_of
from .resume import CSV_FIELD_LIMIT, arrow_column_type, catalog_format, parquet_parts
from .rows import KeywordColumns, Keywords, group_objects, normalize_keywords, object_rows

if TYPE_CHECKING:
    import astropy.table
    import pyarrow

__all__ = [
    "arrow_schema",
    "arrow_to_astropy",
    "read_catalog",
    "rows_to_arrow",
    "to_arrow",
    "to_astropy",
    "unify",
]

_FIXED_TYPES = dict(FIXED_COLUMNS)


def _arrow_type(kind: ColumnType) -> Any:
    import pyarrow as pa

    return {
        ColumnType.NULL: pa.null(),
        ColumnType.BOOL: pa.bool_(),
        ColumnType.INT64: pa.int64(),
        ColumnType.FLOAT64: pa.float64(),
        ColumnType.STRING: pa.string(),
    }[kind]


def arrow_schema(keyword_types: Mapping[str, ColumnType], *, final: bool = False) -> Any:
    """The schema of a catalog with these keyword columns (``final``: null becomes string)."""
    import pyarrow as pa

    fields = [pa.field(name, _arrow_type(kind)) for name, kind in FIXED_COLUMNS]
    for name, kind in keyword_types.items():
        if final and kind is ColumnType.NULL:
            kind = ColumnType.STRING
        fields.append(pa.field(name, _arrow_type(kind)))
    fields.append(pa.field(HEADER_COLUMN, pa.string()))
    return pa.schema(fields)


def rows_to_arrow(
    rows: Sequence[Mapping[str, Any]], keyword_types: Mapping[str, ColumnType], *, final: bool
) -> pyarrow.Table:
    """Rows as a table with the fixed columns, these keyword columns and the header text."""
    import pyarrow as pa

    schema = arrow_schema(keyword_types, final=final)
    arrays = []
    for f in schema:
        kind = _FIXED_TYPES.get(f.name) or arrow_column_type(f.type)
        if f.name == HEADER_COLUMN:
            kind = ColumnType.STRING
        values = [coerce(row.get(f.name), kind) for row in rows]
        arrays.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def conform(table: pyarrow.Table, schema: Any) -> pyarrow.Table:
    """``table`` with ``schema``'s columns, in its order: missing ones null, others promoted."""
    import pyarrow as pa

    if table.schema.equals(schema):
        return table
    arrays = []
    for f in schema:
        if f.name not in table.column_names:
            arrays.append(pa.nulls(len(table), type=f.type))
            continue
        column = table.column(f.name)
        if column.type.equals(f.type):
            arrays.append(column)
        elif pa.types.is_string(f.type):
            kind = ColumnType.STRING
            arrays.append(pa.array([coerce(v, kind) for v in column.to_pylist()], type=f.type))
        else:
            arrays.append(column.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def unify(tables: Sequence[pyarrow.Table]) -> pyarrow.Table:
    """Catalog tables (parts of one catalog) as one, their keyword columns' types promoted by
    the catalog rule, as :func:`read_catalog` does for the parts of a Parquet catalog."""
    import pyarrow as pa

    types: dict[str, ColumnType] = {}
    fixed = set(_FIXED_TYPES) | {HEADER_COLUMN}
    for t in tables:
        for f in t.schema:
            if f.name not in fixed:
                old = types.get(f.name, ColumnType.NULL)
                types[f.name] = promote(old, arrow_column_type(f.type))
    schema = arrow_schema(types, final=True)
    if not tables:
        return schema.empty_table()
    return pa.concat_tables([conform(t, schema) for t in tables])


def _catalog_rows(
    results: Iterable[HDURecord | ObjectFailed], keywords: Keywords
) -> tuple[list[dict[str, Any]], KeywordColumns]:
    columns = KeywordColumns(keywords)
    rows: list[dict[str, Any]] = []
    for item in group_objects(results):
        if isinstance(item, ObjectFailed):
            continue
        rows.extend(object_rows(item, keywords))
    columns.observe(rows)
    return rows, columns


def to_arrow(
    records: Iterable[HDURecord | ObjectFailed], *, keywords: Iterable[str] | str | None = None
) -> pyarrow.Table:
    """HDU records (a scan's output; failures are skipped) as a ``pyarrow.Table``, one row
    per HDU with the catalog's columns."""
    rows, columns = _catalog_rows(records, normalize_keywords(keywords))
    return rows_to_arrow(rows, columns.types, final=True)


def to_astropy(
    records: Iterable[HDURecord | ObjectFailed], *, keywords: Iterable[str] | str | None = None
) -> astropy.table.Table:
    """HDU records as an ``astropy.table.Table`` (masked where a keyword is absent)."""
    return arrow_to_astropy(to_arrow(records, keywords=keywords))


def arrow_to_astropy(table: pyarrow.Table) -> astropy.table.Table:
    """A catalog ``pyarrow.Table`` as an astropy table.

    Columns with nulls become masked columns. The ``header`` column is kept as Python strings
    (an object column) so that one long header does not widen every row's storage.
    """
    import numpy as np
    import pyarrow as pa
    from astropy.table import Column, MaskedColumn, Table

    out = Table()
    for name in table.column_names:
        column = table.column(name)
        mask = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        kind = arrow_column_type(column.type)
        if name == HEADER_COLUMN:
            data: Any = np.empty(len(column), dtype=object)
            data[:] = column.to_pylist()
        elif kind is ColumnType.NULL or kind is ColumnType.STRING:
            data = np.array(["" if v is None else v for v in column.to_pylist()], dtype=str)
        elif kind is ColumnType.BOOL:
            data = np.asarray(column.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        elif kind is ColumnType.INT64:
            data = np.asarray(column.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        else:
            filled = column.fill_null(pa.scalar(0.0, type=column.type))
            data = np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.float64)
        if mask.any():
            out[name] = MaskedColumn(data, name=name, mask=mask)
        else:
            out[name] = Column(data, name=name)
    return out


# --- reading back -------------------------------------------------------------------------

_INT = re.compile(r"[+-]?\d+")


def _parse_text(text: str) -> Any:
    """A CSV field back to a value: the inverse of :func:`.columns.value_to_text`."""
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    if _INT.fullmatch(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _rows_table(rows: list[dict[str, Any]]) -> pyarrow.Table:
    fixed = set(_FIXED_TYPES) | {HEADER_COLUMN}
    types: dict[str, ColumnType] = {}
    for row in rows:
        for name, value in row.items():
            if name not in fixed:
                types[name] = promote(types.get(name, ColumnType.NULL), type_of(value))
    return rows_to_arrow(rows, types, final=True)


def read_catalog(path: str | os.PathLike[str], *, format: str | None = None) -> pyarrow.Table:
    """Read a catalog written by this package (any format) as one ``pyarrow.Table``.

    Keyword columns are typed by the catalog rule over the whole file (CSV text is parsed back
    to bool, int, float or string first). Partial tails of an interrupted JSON Lines or CSV
    catalog are left out, as a resumed run would cut them.
    """
    import pyarrow.parquet as pq

    p = Path(path)
    fmt = catalog_format(p, format)
    if fmt == "parquet":
        return unify([pq.read_table(part) for part in parquet_parts(p)])
    from .resume import repair_lines

    complete = repair_lines(p, fmt, repair=False)
    rows: list[dict[str, Any]] = []
    with open(p, newline="", encoding="utf-8") as f:
        if fmt == "jsonl":
            for line in f:
                if len(rows) >= complete.rows:
                    break
                rows.append(json.loads(line))
        else:
            csv.field_size_limit(CSV_FIELD_LIMIT)
            reader = csv.reader(f)
            names = next(reader, [])
            for fields in reader:
                if len(rows) >= complete.rows:
                    break
                rows.append(
                    {
                        n: (
                            v
                            if n in (HEADER_COLUMN, "url", "extname", "xtension", "etag")
                            else _parse_text(v)
                        )
                        if v != ""
                        else None
                        for n, v in zip(names, fields, strict=False)
                    }
                )
    return _rows_table(rows)
