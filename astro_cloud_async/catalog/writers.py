"""Catalog writers: Parquet (a dataset directory), JSON Lines and CSV, written in batches.

Strategy: a writer takes *whole objects* (all the records of one object), buffers their rows,
and :meth:`CatalogWriter.flush` makes a batch durable in one step, so a run killed at any point
keeps every object of every flushed batch and never half an object:

* Parquet: a file killed midway has no footer and cannot be read at all, so the catalog is a
  directory of part files, each written to a hidden temporary file and renamed into place.
  Each part is typed from its own rows; :meth:`close` unifies the parts to one schema with the
  promotion rule of :mod:`.columns`, rewriting (again by rename) any part that disagrees, so a
  finished catalog reads as one table with any Parquet reader.
* JSON Lines: whole lines appended and synced per batch; values keep their JSON types.
* CSV: the same, with one header row. When ``keywords="all"`` meets a keyword after rows are
  written, the file is rewritten once with the wider header (temp + rename).

Resuming (``resume=True``) first reads which URLs the catalog holds and cuts a partial tail
(see :mod:`.resume`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

from ..errors import ConfigurationError
from ..records import HDURecord, ObjectFailed
from .columns import FIXED_COLUMNS, HEADER_COLUMN, ColumnType, value_to_text
from .failures import FailureEntry, FailureLog, failures_path
from .files import atomic_write, durable_append, fsync_directory, part_name, temp_path
from .resume import (
    CSV_FIELD_LIMIT,
    catalog_format,
    parquet_parts,
    read_parquet_state,
    repair_lines,
    url_key,
)
from .rows import ALL, KeywordColumns, group_objects, normalize_keywords, object_rows

__all__ = [
    "CSVWriter",
    "CatalogWriter",
    "JSONLinesWriter",
    "ParquetWriter",
    "open_catalog",
    "write_catalog",
]

_FIXED_NAMES = [name for name, _ in FIXED_COLUMNS]
_META = "_catalog.json"


class CatalogWriter:
    """Writes whole objects to a catalog in batches; see the module docstring.

    ``completed`` holds the keys (see :func:`~.resume.url_key`) of every object in the catalog,
    those found on opening and those written since.
    """

    format: ClassVar[str] = ""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        keywords: Iterable[str] | str | None = None,
        resume: bool = False,
        overwrite: bool = False,
    ):
        if resume and overwrite:
            raise ConfigurationError("resume and overwrite cannot be combined")
        self.path = Path(path)
        self.keywords = normalize_keywords(keywords)
        self.columns = KeywordColumns(self.keywords)
        self.completed: set[str] = set()
        self.rows_written = 0
        self.objects_written = 0
        self.cut_bytes = 0
        """Bytes of a partial tail removed on opening (JSON Lines and CSV)."""
        self._rows: list[dict[str, Any]] = []
        self._urls: list[str] = []
        self._closed = False
        self._open(resume=resume, overwrite=overwrite)

    # -- subclass hooks -------------------------------------------------------------------

    def _open(self, *, resume: bool, overwrite: bool) -> None:
        raise NotImplementedError

    def _write(self, rows: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Make the catalog final (called by :meth:`close`)."""

    # -- API ------------------------------------------------------------------------------

    @property
    def pending_objects(self) -> int:
        return len(self._urls)

    @property
    def pending_rows(self) -> int:
        return len(self._rows)

    def add(
        self, records: Sequence[HDURecord], extra: Sequence[Mapping[str, Any]] | None = None
    ) -> None:
        """Buffer one whole object (all its records, in HDU order); ``extra``: per record,
        values of fixed columns computed elsewhere (see :func:`~.rows.object_rows`)."""
        if not records:
            return
        self._rows.extend(object_rows(records, self.keywords, extra))
        self._urls.append(url_key(records[0].url))

    def flush(self) -> int:
        """Write the buffered objects durably; return how many objects were written."""
        if not self._urls:
            return 0
        rows, urls = self._rows, self._urls
        self._write(rows)
        self._rows, self._urls = [], []
        self.completed.update(urls)
        self.rows_written += len(rows)
        self.objects_written += len(urls)
        return len(urls)

    def close(self) -> None:
        """Flush and make the catalog final. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.flush()
        self._finish()

    def __enter__(self) -> CatalogWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Buffered objects are whole: keep them even when leaving on an error or Ctrl-C.
        self.close()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.path} written={self.objects_written} "
            f"pending={self.pending_objects}>"
        )

    def _refuse_existing(self, exists: bool) -> None:
        if exists:
            raise FileExistsError(
                f"{self.path} already exists: resume it (--resume) or replace it (--overwrite)"
            )


# --- Parquet ------------------------------------------------------------------------------


class ParquetWriter(CatalogWriter):
    """A Parquet dataset directory of atomically written part files."""

    format = "parquet"
    compression = "zstd"

    def _open(self, *, resume: bool, overwrite: bool) -> None:
        try:
            import pyarrow  # noqa: F401 -- fail now, not at the first flush
        except ImportError as err:
            raise ConfigurationError(
                "a Parquet catalog needs pyarrow (pip install 'astro_cloud_async[catalog]'); "
                "or write JSON Lines (.jsonl) or CSV (.csv)"
            ) from err

        path = self.path
        if path.exists() and not path.is_dir():
            raise ConfigurationError(f"{path} is a file; a Parquet catalog is a directory")
        if path.is_dir():
            ours = parquet_parts(path) or (path / _META).exists()
            if overwrite:
                if any(p for p in os.listdir(path) if not _is_catalog_file(p)):
                    raise ConfigurationError(
                        f"{path} holds files that are not part of a catalog; not overwriting"
                    )
                shutil.rmtree(path)
            elif not resume:
                self._refuse_existing(bool(ours))
        path.mkdir(parents=True, exist_ok=True)
        for name in os.listdir(path):
            if name.startswith(".") and name.endswith(".tmp"):
                (path / name).unlink(missing_ok=True)  # left by a killed run
        if resume:
            state = read_parquet_state(path)
            self.completed = {url_key(u) for u in state.urls}
            self.columns = KeywordColumns(self.keywords, state.keyword_types)
        meta = {"format": "astro_cloud_async catalog", "version": 1, "keywords": self.keywords}
        atomic_write(path / _META, json.dumps(meta).encode())
        self._run = time.time_ns()
        self._seq = 0

    def _write(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow.parquet as pq

        from .tables import rows_to_arrow

        self.columns.observe(rows)
        names = self.columns.names
        if self.keywords == ALL:
            present = {k for row in rows for k in row}
            names = [n for n in names if n in present]
        table = rows_to_arrow(rows, KeywordColumns.batch_types(names, rows), final=False)
        target = self.path / part_name(self._run, self._seq)
        self._seq += 1
        _write_parquet_atomic(pq, table, target, self.compression)

    def _finish(self) -> None:
        """Rewrite parts whose schema is not the catalog's unified schema."""
        import pyarrow.parquet as pq

        from .tables import arrow_schema, conform

        state = read_parquet_state(self.path, with_urls=False)
        schema = arrow_schema(state.keyword_types, final=True)
        for part in parquet_parts(self.path):
            if pq.read_schema(part).remove_metadata().equals(schema):
                continue
            table = conform(pq.read_table(part), schema)
            _write_parquet_atomic(pq, table, part, self.compression)


def _is_catalog_file(name: str) -> bool:
    return name == _META or name.endswith((".parquet", ".tmp"))


def _write_parquet_atomic(pq: Any, table: Any, target: Path, compression: str) -> None:
    tmp = temp_path(target)
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f, compression=compression)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


# --- JSON Lines ---------------------------------------------------------------------------


class JSONLinesWriter(CatalogWriter):
    """One JSON object per line, appended per batch."""

    format = "jsonl"

    def _open(self, *, resume: bool, overwrite: bool) -> None:
        exists = self.path.exists() and self.path.stat().st_size > 0
        if overwrite:
            self.path.unlink(missing_ok=True)
        elif resume:
            state = repair_lines(self.path, "jsonl")
            self.completed = {url_key(u) for u in state.urls}
            self.cut_bytes = state.cut_bytes
        else:
            self._refuse_existing(exists)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        self.columns.observe(rows)
        text = "".join(json.dumps(row) + "\n" for row in rows)
        durable_append(self.path, text.encode())


# --- CSV ----------------------------------------------------------------------------------


class CSVWriter(CatalogWriter):
    """Comma-separated values with one header row; values as text, empty where null."""

    format = "csv"

    def _open(self, *, resume: bool, overwrite: bool) -> None:
        exists = self.path.exists() and self.path.stat().st_size > 0
        self._file_columns: list[str] = []
        if overwrite:
            self.path.unlink(missing_ok=True)
        elif resume:
            state = repair_lines(self.path, "csv")
            self.completed = {url_key(u) for u in state.urls}
            self.cut_bytes = state.cut_bytes
            self._file_columns = state.columns
            # Keep the file's column order; chosen keywords it lacks go after them.
            kept = [c for c in state.columns if c not in _FIXED_NAMES and c != HEADER_COLUMN]
            types = dict.fromkeys(kept, ColumnType.NULL)
            if self.keywords != ALL:
                types.update((k, ColumnType.NULL) for k in self.keywords if k not in types)
            self.columns.types = types
        else:
            self._refuse_existing(exists)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _wanted_columns(self) -> list[str]:
        return [*_FIXED_NAMES, *self.columns.names, HEADER_COLUMN]

    def _write(self, rows: list[dict[str, Any]]) -> None:
        self.columns.observe(rows)
        wanted = self._wanted_columns()
        if self._file_columns and self._file_columns != wanted:
            self._rewrite(wanted, rows)
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if not self._file_columns:
            # A new file (or one holding only a header): start it with the header row.
            self.path.unlink(missing_ok=True)
            writer.writerow(wanted)
            self._file_columns = wanted
        for row in rows:
            writer.writerow(_csv_fields(row, wanted))
        durable_append(self.path, buffer.getvalue().encode())

    def _rewrite(self, wanted: list[str], rows: list[dict[str, Any]]) -> None:
        """Rewrite the file with a wider header, then the new rows; replace it in one step."""
        csv.field_size_limit(CSV_FIELD_LIMIT)
        tmp = temp_path(self.path)
        try:
            with (
                open(self.path, newline="", encoding="utf-8") as src,
                open(tmp, "w", newline="", encoding="utf-8") as dst,
            ):
                reader = csv.reader(src)
                old = next(reader)
                writer = csv.writer(dst, lineterminator="\n")
                writer.writerow(wanted)
                for fields in reader:
                    writer.writerow(
                        _csv_fields(dict(zip(old, fields, strict=False)), wanted, text=True)
                    )
                for row in rows:
                    writer.writerow(_csv_fields(row, wanted))
                dst.flush()
                os.fsync(dst.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_directory(self.path.parent)
        self._file_columns = wanted


def _csv_fields(row: dict[str, Any], columns: list[str], *, text: bool = False) -> list[str]:
    if text:
        return [row.get(c) or "" for c in columns]
    return ["" if (v := row.get(c)) is None else value_to_text(v) for c in columns]


# --- entry points -------------------------------------------------------------------------

_WRITERS: dict[str, type[CatalogWriter]] = {
    "parquet": ParquetWriter,
    "jsonl": JSONLinesWriter,
    "csv": CSVWriter,
}


def open_catalog(
    path: str | os.PathLike[str],
    *,
    keywords: Iterable[str] | str | None = None,
    format: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> CatalogWriter:
    """An incremental writer for the catalog at ``path``, chosen by ``format`` or suffix."""
    cls = _WRITERS[catalog_format(path, format)]
    return cls(path, keywords=keywords, resume=resume, overwrite=overwrite)


def write_catalog(
    records: Iterable[HDURecord | ObjectFailed],
    path: str | os.PathLike[str],
    *,
    keywords: Iterable[str] | str | None = None,
    format: str | None = None,
    overwrite: bool = False,
    batch_objects: int = 1000,
) -> list[FailureEntry]:
    """Write a scan's output to a catalog at ``path``; return the failures.

    Failed objects are listed in ``<path>.failures.jsonl`` (see :mod:`.failures`) and left out
    of the catalog.
    """
    failures: list[FailureEntry] = []
    log = FailureLog(failures_path(path))
    if overwrite:
        log.remove()
    with open_catalog(path, keywords=keywords, format=format, overwrite=overwrite) as writer:
        for item in group_objects(records):
            if isinstance(item, ObjectFailed):
                failures.append(FailureEntry.from_failure(item))
                continue
            writer.add(item)
            if writer.pending_objects >= batch_objects:
                writer.flush()
    if failures:
        log.rewrite(failures)
    return failures
