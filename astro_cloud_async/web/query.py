"""Filters, sorting and paging of a catalog table, done by pyarrow on the server.

A filter is typed into a box under a column's name; what it means depends on the column:

* numbers: ``>100``, ``>=100``, ``<2.5``, ``<=2.5``, ``=3``, ``!=3``, a range ``10..20`` (ends
  included), or a plain number (equal to it);
* text: a plain word matches values containing it, ignoring case; ``=M31`` is exactly M31,
  ``!=M31`` anything else, ``!M31`` values not containing it, ``^tess`` values starting so;
* true/false columns: ``T``, ``F``, ``true``, ``false``, ``yes``, ``no``, ``1``, ``0``;
* any column: ``null`` keeps rows without a value, ``!null`` rows with one.

The search box matches the header text (every card) of each row, ignoring case. Filters of
several columns all apply. A filter that cannot mean anything for its column is a
:class:`~.errors.BadRequestError` naming the column, shown next to its box.

Strategy: a query becomes one ``pyarrow.compute.Expression``; the table is filtered, then
sorted with ``sort_indices`` (nulls last), and only the requested page is turned into Python
values. The matching row numbers of the last few queries are kept, so paging through a sorted,
filtered catalog of a million rows costs one sort.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BadRequestError

if TYPE_CHECKING:
    import pyarrow

__all__ = ["ROW", "Query", "column_kind", "filter_expression", "matching_rows"]

ROW = "__row"
"""The column of row numbers added to a table for queries (a row's stable id)."""

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_COMPARISON = re.compile(rf"^(>=|<=|!=|==|=|>|<)\s*({_NUMBER})$")
_RANGE = re.compile(rf"^({_NUMBER})\s*\.\.\s*({_NUMBER})$")
_TRUE = frozenset({"t", "true", "yes", "y", "1"})
_FALSE = frozenset({"f", "false", "no", "n", "0"})


def column_kind(arrow_type: Any) -> str:
    """``number``, ``bool``, ``text`` or ``other`` for an arrow type."""
    import pyarrow as pa

    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "number"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    return "other"


def _number(text: str, column: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise BadRequestError(f"{column}: {text!r} is not a number") from None


def _column_filter(column: str, kind: str, text: str) -> Any:
    import pyarrow.compute as pc

    field = pc.field(column)
    text = text.strip()
    low = text.lower()
    if low == "null":
        return field.is_null()
    if low == "!null":
        return field.is_valid()
    if kind == "number":
        m = _RANGE.match(text)
        if m:
            lo, hi = _number(m.group(1), column), _number(m.group(2), column)
            return (field >= lo) & (field <= hi)
        m = _COMPARISON.match(text)
        op, value = (m.group(1), m.group(2)) if m else ("=", text)
        number = _number(value, column)
        return {
            ">": field > number,
            ">=": field >= number,
            "<": field < number,
            "<=": field <= number,
            "=": field == number,
            "==": field == number,
            "!=": field != number,
        }[op]
    if kind == "bool":
        if low in _TRUE:
            return field == True  # noqa: E712 (an arrow expression, not a Python comparison)
        if low in _FALSE:
            return field == False  # noqa: E712
        raise BadRequestError(f"{column}: {text!r} is not true or false (T, F)")
    if kind != "text":
        raise BadRequestError(f"{column}: this column cannot be filtered")
    if text.startswith("!="):
        return field != text[2:]
    if text.startswith("=="):
        return field == text[2:]
    if text.startswith("="):
        return field == text[1:]
    if text.startswith("!"):
        return ~pc.match_substring(field, text[1:], ignore_case=True)
    if text.startswith("^"):
        return pc.starts_with(field, text[1:], ignore_case=True)
    return pc.match_substring(field, text, ignore_case=True)


def filter_expression(
    schema: pyarrow.Schema, filters: Mapping[str, str], search: str | None, search_column: str
) -> Any:
    """One expression for the column filters and the header search (None: no filter)."""
    import pyarrow.compute as pc

    parts = []
    for column, text in filters.items():
        if not text.strip():
            continue
        if column not in schema.names:
            raise BadRequestError(f"no column named {column!r} in this table")
        parts.append(_column_filter(column, column_kind(schema.field(column).type), text))
    if search and search.strip() and search_column in schema.names:
        parts.append(pc.match_substring(pc.field(search_column), search.strip(), ignore_case=True))
    if not parts:
        return None
    expression = parts[0]
    for part in parts[1:]:
        expression = expression & part
    return expression


@dataclass(frozen=True)
class Query:
    """What the page asks of a table: filters, a header search and an order."""

    filters: tuple[tuple[str, str], ...] = ()
    search: str = ""
    sort: str | None = None
    descending: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Query:
        """From the query string: ``f.COLUMN=filter``, ``search``, ``sort``, ``desc=1``."""
        filters = tuple(
            sorted((k[2:], v) for k, v in params.items() if k.startswith("f.") and v.strip())
        )
        return cls(
            filters=filters,
            search=params.get("search", ""),
            sort=params.get("sort") or None,
            descending=params.get("desc", "") in ("1", "true"),
        )


class _Cache:
    """The row numbers of the last few (table version, query) pairs."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> Any:
        value = self.entries.get(key)
        if value is not None:
            self.entries.move_to_end(key)
        return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        self.entries[key] = value
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


_CACHE = _Cache()


def matching_rows(
    table: pyarrow.Table, query: Query, *, search_column: str, version: Any
) -> pyarrow.Array:
    """The row numbers (in ``table``) that ``query`` keeps, in its order.

    ``version`` names this state of the table (a table that grows gets a new one), for the
    cache.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    key = (version, query)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    expression = filter_expression(table.schema, dict(query.filters), query.search, search_column)
    if query.sort is not None and query.sort not in table.schema.names:
        raise BadRequestError(f"no column named {query.sort!r} to sort by")
    keep = [ROW] if query.sort is None else [ROW, query.sort]
    used = {name for name, _ in query.filters}
    if query.search.strip():
        used.add(search_column)
    needed = [n for n in table.schema.names if n in used or n == query.sort]
    subset = table.select(needed).append_column(ROW, pa.array(range(len(table)), pa.int64()))
    if expression is not None:
        try:
            subset = subset.filter(expression)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as err:
            raise BadRequestError(f"this filter cannot be applied: {err}") from None
    subset = subset.select(keep)
    if query.sort is not None:
        order = "descending" if query.descending else "ascending"
        # Nulls go last (arrow's default), ties keep the table's order.
        indices = pc.sort_indices(subset, sort_keys=[(query.sort, order), (ROW, "ascending")])
        subset = subset.take(indices)
    rows = subset.column(ROW).combine_chunks()
    _CACHE.put(key, rows)
    return rows
