"""The sources of a job: its arguments, then the lines of its URL files, streamed.

A URL file is never read whole (a list of ten million URLs is fine); blank lines and lines
starting with ``#`` are skipped. :func:`asource_lines` reads standard input without blocking
the event loop (the local executor); :func:`source_lines` reads it plainly (the Dask executor
lists on the client before any task runs).
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator, Iterable, Iterator

from .job import IndexJob

__all__ = ["asource_lines", "expected_objects", "source_lines"]


def _clean(line: str) -> str | None:
    line = line.strip()
    return line if line and not line.startswith("#") else None


def _file_lines(name: str) -> Iterator[str]:
    if name == "-":
        yield from sys.stdin
        return
    with open(name, encoding="utf-8") as f:
        yield from f


def source_lines(job: IndexJob) -> Iterator[str]:
    """The job's sources, then its URL files' lines (``-``: standard input)."""
    yield from job.sources
    for name in job.from_files:
        for line in _file_lines(name):
            if (source := _clean(line)) is not None:
                yield source


async def _stdin_lines() -> AsyncIterator[str]:
    stream = sys.stdin.buffer
    if stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        for raw in stream:
            yield raw.decode()
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), stream
    )
    try:
        while raw := await reader.readline():
            yield raw.decode()
    finally:
        transport.close()


async def asource_lines(job: IndexJob) -> AsyncIterator[str]:
    """:func:`source_lines` for an event loop: a pipe on standard input never blocks it."""
    for source in job.sources:
        yield source
    for name in job.from_files:
        lines: AsyncIterator[str] = _stdin_lines() if name == "-" else _aiter(_file_lines(name))
        async for line in lines:
            if (cleaned := _clean(line)) is not None:
                yield cleaned


async def _aiter(items: Iterable[str]) -> AsyncIterator[str]:
    for item in items:  # a local file: short reads
        yield item


def expected_objects(job: IndexJob) -> int | None:
    """How many objects the run should see, when that is cheap to know: every source is an
    object URL (no folder or prefix to list) and the URL files are regular files, whose lines
    are counted (fast, whatever their length). ``None`` otherwise."""
    total = 0
    for source in job.sources:
        if source.endswith("/") or ("://" not in source and os.path.isdir(source)):
            return None
        total += 1
    for name in job.from_files:
        if name == "-" or not os.path.isfile(name):
            return None
        with open(name, "rb") as f:
            while chunk := f.read(1 << 20):
                total += chunk.count(b"\n")
    return total
