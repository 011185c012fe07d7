"""What an existing catalog already holds, and repairing the tail a killed run left behind.

Strategy: the catalog itself is the record of finished work; there is no separate journal to
fall out of step with it. A Parquet catalog is a directory of part files each renamed into
place whole, so every part is complete and the URLs in them are done. A JSON Lines or CSV
catalog is appended to, so a kill can leave a partial last line, or (a write cut between two
lines) only some rows of the last object: every row carries ``n_hdus``, so an object counts as
done only when all its rows are there, and :func:`repair_lines` cuts the file back to the end
of the last whole object before a run appends to it again.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .columns import HEADER_COLUMN, ColumnType, promote

__all__ = [
    "CSV_FIELD_LIMIT",
    "CatalogState",
    "catalog_format",
    "completed_urls",
    "parquet_parts",
    "read_parquet_state",
    "repair_lines",
    "url_key",
]

FORMATS = ("parquet", "jsonl", "csv")
CSV_FIELD_LIMIT = 2**31 - 1
"""The csv module's field size bound, raised: a ``header`` field holds a whole header."""
_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}


def catalog_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The format of the catalog at ``path``: ``format`` if given, else from the suffix
    (``.jsonl``/``.ndjson``, ``.csv``; anything else is a Parquet dataset directory)."""
    if format is not None:
        fmt = format.lower()
        if fmt in ("json", "ndjson"):
            fmt = "jsonl"
        if fmt not in FORMATS:
            raise ConfigurationError(f"unknown catalog format {format!r}; use one of {FORMATS}")
        return fmt
    return _SUFFIXES.get(Path(path).suffix.lower(), "parquet")


@dataclass
class CatalogState:
    """What a catalog holds: finished URLs, its columns, and what repair cut off."""

    urls: set[str] = field(default_factory=set)
    columns: list[str] = field(default_factory=list)
    """Column names, in order (CSV: its header; Parquet: union over parts)."""
    keyword_types: dict[str, ColumnType] = field(default_factory=dict)
    rows: int = 0
    cut_bytes: int = 0
    """Bytes removed from the tail by :func:`repair_lines`."""


def url_key(url: str) -> str:
    """The form under which an object is known to a catalog: local paths (or ``file://``
    URLs) become absolute paths; other URLs lose secrets (see ``redact_url``)."""
    from urllib.parse import unquote, urlsplit

    from ..errors import redact_url

    if url.startswith("file://"):
        return os.path.abspath(unquote(urlsplit(url).path))
    if "://" not in url:
        return os.path.abspath(os.path.expanduser(url))
    return redact_url(url) or url


# --- Parquet ------------------------------------------------------------------------------


def parquet_parts(directory: Path) -> list[Path]:
    """The part files of a Parquet catalog, oldest first."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    return [directory / n for n in names if n.endswith(".parquet") and n[0] not in "._"]


def arrow_column_type(arrow_type: Any) -> ColumnType:
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return ColumnType.NULL
    if pa.types.is_boolean(arrow_type):
        return ColumnType.BOOL
    if pa.types.is_integer(arrow_type):
        return ColumnType.INT64
    if pa.types.is_floating(arrow_type):
        return ColumnType.FLOAT64
    return ColumnType.STRING


def read_parquet_state(directory: Path, *, with_urls: bool = True) -> CatalogState:
    """URLs, columns and keyword types of a Parquet catalog directory."""
    import pyarrow.parquet as pq

    from .columns import FIXED_COLUMNS

    fixed = {name for name, _ in FIXED_COLUMNS} | {HEADER_COLUMN}
    state = CatalogState()
    seen: dict[str, None] = {}
    for part in parquet_parts(directory):
        schema = pq.read_schema(part)
        for f in schema:
            seen.setdefault(f.name)
            if f.name not in fixed:
                old = state.keyword_types.get(f.name, ColumnType.NULL)
                state.keyword_types[f.name] = promote(old, arrow_column_type(f.type))
        if with_urls:
            urls = pq.read_table(part, columns=["url"]).column("url").to_pylist()
            state.urls.update(u for u in urls if u is not None)
            state.rows += len(urls)
    state.columns = list(seen)
    return state


# --- JSON Lines and CSV -------------------------------------------------------------------


def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from f


def _csv_row(line: bytes) -> list[str]:
    csv.field_size_limit(CSV_FIELD_LIMIT)
    return next(csv.reader([line.decode("utf-8", errors="replace").rstrip("\r\n")]))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def repair_lines(path: Path, format: str, *, repair: bool = True) -> CatalogState:
    """Read a JSON Lines or CSV catalog; with ``repair``, cut it back to its last whole object.

    Raises :class:`ConfigurationError` when a line that is not the last cannot be read as a
    catalog row (the file is not a catalog, or was edited): nothing is cut then.
    """
    state = CatalogState()
    if not path.exists():
        return state
    size = path.stat().st_size
    offset = 0
    good_end = 0
    index: dict[str, int] = {}
    current: str | None = None
    rows = expected = 0
    pending_rows = 0
    lines = _lines(path)
    lineno = 0
    if format == "csv":
        first = next(lines, b"")
        lineno = 1
        if first.endswith(b"\n"):
            state.columns = _csv_row(first)
            index = {name: i for i, name in enumerate(state.columns)}
            if not {"url", "hdu", "n_hdus"} <= index.keys():
                raise ConfigurationError(f"{path} is not a catalog: its first line is no header")
            offset = good_end = len(first)
    bad_line: int | None = None
    for line in lines:
        lineno += 1
        if not line.endswith(b"\n"):
            break
        try:
            if format == "csv":
                fields = _csv_row(line)
                url, hdu, n = (
                    fields[index["url"]],
                    _int(fields[index["hdu"]]),
                    _int(fields[index["n_hdus"]]),
                )
            else:
                row = json.loads(line)
                url, hdu, n = row["url"], row.get("hdu"), row.get("n_hdus")
        except (ValueError, KeyError, IndexError, TypeError):
            bad_line = lineno
            offset += len(line)
            continue
        if bad_line is not None:
            raise ConfigurationError(f"{path}: line {bad_line} is not a catalog row")
        if not isinstance(url, str) or not isinstance(hdu, int) or not isinstance(n, int):
            bad_line = lineno
            offset += len(line)
            continue
        if url != current or hdu == 0:
            current, rows, expected = url, 0, n
        rows += 1
        pending_rows += 1
        offset += len(line)
        if rows == expected:
            state.urls.add(url)
            state.rows += pending_rows
            pending_rows = 0
            good_end = offset
            current = None
    if repair and good_end < size:
        with open(path, "rb+") as f:
            f.truncate(good_end)
        state.cut_bytes = size - good_end
    return state


def completed_urls(path: str | os.PathLike[str], format: str | None = None) -> set[str]:
    """The URLs whose every HDU is in the catalog at ``path`` (read only, nothing repaired)."""
    p = Path(path)
    fmt = catalog_format(p, format)
    if fmt == "parquet":
        return read_parquet_state(p).urls
    return repair_lines(p, fmt, repair=False).urls
