"""Local files: ``file://`` URLs and plain paths, read with ``os.pread``.

A header-sized read from the page cache costs a few microseconds, less than handing it to a
thread, so reads run inline on the event loop by default (``benchmarks/bench_get_cpu.py``
measures both); ``threads=True`` moves them to the default executor for slow disks or network
file systems. Each read opens, stats and closes the file, so an ETag built from the
modification time and size comes with every answer and a changed file is noticed.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from ..errors import (
    AccessDeniedError,
    ConfigurationError,
    FetchError,
    ObjectChangedError,
    ObjectNotFoundError,
)
from ..options import Options
from .answers import etags_match
from .base import (
    ListPage,
    ObjectInfo,
    RangeResult,
    SourceKind,
    StoreBase,
    check_range,
    matches_suffix,
)

__all__ = ["LocalStore", "is_local_dir", "local_etag", "local_path"]

_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_PAGE = 1000
"""Files per listing page."""
_VISIT = 10 * _PAGE
"""Directory entries looked at for one page at most (a page of few matches stays short)."""


def local_path(url: str) -> str:
    """The filesystem path of a ``file://`` URL or a plain path (returned unchanged)."""
    if not url.lower().startswith("file:"):
        return url
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ConfigurationError("file:// URLs must name a local path", url=url)
    return url2pathname(parts.path)


def is_local_dir(url: str) -> bool:
    """Whether a ``file://`` URL or path names a directory."""
    return os.path.isdir(local_path(url))


def local_etag(st: os.stat_result) -> str:
    """An entity tag from modification time and size, as file servers make them."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def _os_error(e: OSError, url: str, offset: int) -> FetchError:
    if isinstance(e, (FileNotFoundError, NotADirectoryError)):
        return ObjectNotFoundError("no such file", url=url, offset=offset)
    if isinstance(e, PermissionError):
        return AccessDeniedError("permission denied", url=url, offset=offset)
    return FetchError(f"read failed: {e.strerror or type(e).__name__}", url=url, offset=offset)


def _read(path: str, url: str, start: int, end: int, if_match: str | None) -> RangeResult:
    try:
        fd = os.open(path, _O_FLAGS)
    except OSError as e:
        raise _os_error(e, url, start) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ObjectNotFoundError("is a directory", url=url, offset=start)
        etag = local_etag(st)
        if if_match is not None and not etags_match(if_match, etag):
            raise ObjectChangedError(
                f"ETag is now {etag}, expected {if_match}", url=url, offset=start
            )
        size = st.st_size
        if start >= size:
            return RangeResult(b"", start, size, etag)
        want = min(end, size) - start
        data = os.pread(fd, want, start)
        while len(data) < want:  # only for huge reads or a file shrinking under us
            more = os.pread(fd, want - len(data), start + len(data))
            if not more:
                break
            data += more
        return RangeResult(data, start, start + len(data) if len(data) < want else size, etag)
    except OSError as e:
        raise _os_error(e, url, start) from None
    finally:
        os.close(fd)


class LocalStore(StoreBase):
    """Reads and lists local files."""

    def __init__(self, options: Options | None = None, *, threads: bool = False):
        self._options = options or Options()
        self._threads = threads
        self._walks: dict[tuple[str, str], Iterator[tuple[str, os.stat_result]]] = {}

    def __repr__(self) -> str:
        return f"<LocalStore {'threads' if self._threads else 'inline'}>"

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult:
        check_range(url, start, end)
        path = local_path(url)
        if self._threads:
            return await asyncio.to_thread(_read, path, url, start, end, if_match)
        return _read(path, url, start, end, if_match)

    def source_kind(self, source: str) -> SourceKind:
        """A directory is listed; anything else names one file (perhaps a missing one)."""
        return SourceKind.PREFIX if is_local_dir(source) else SourceKind.OBJECT

    async def list_page(
        self,
        url_prefix: str,
        token: str | None = None,
        *,
        suffixes: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> ListPage:
        """One page of the files under a directory, recursively, in sorted order (a file lists
        itself).

        Results keep the form of ``url_prefix``: ``file://`` URLs or paths. Symbolic links to
        files are followed, links to directories are not (no cycles). A walk in progress is
        kept between pages under its token; a token whose walk is gone (another process) is
        resumed by skipping every path up to it.
        """
        root = local_path(url_prefix)
        try:
            st = os.stat(root)
        except OSError as e:
            raise _os_error(e, url_prefix, 0) from None
        if not stat.S_ISDIR(st.st_mode):
            found = (ObjectInfo(url_prefix, st.st_size, local_etag(st)),)
            return ListPage(found if matches_suffix(root, suffixes) else ())
        walk = self._walks.pop((url_prefix, token), None) if token is not None else None
        if walk is None:
            walk = _walk(root, url_prefix)
            if token is not None:
                walk = _after(walk, _parts(token))
        as_uri = url_prefix.lower().startswith("file:")
        wanted = min(limit or _PAGE, _PAGE)
        found_list: list[ObjectInfo] = []
        for visited, (path, entry_st) in enumerate(walk, 1):
            if matches_suffix(path, suffixes):
                url = _file_uri(path) if as_uri else path
                found_list.append(ObjectInfo(url, entry_st.st_size, local_etag(entry_st)))
            if len(found_list) >= wanted or visited >= _VISIT:
                self._walks[(url_prefix, path)] = walk
                return ListPage(tuple(found_list), path)
        return ListPage(tuple(found_list))

    async def aclose(self) -> None:
        self._walks.clear()


def _parts(path: str) -> tuple[str, ...]:
    return tuple(os.path.normpath(path).split(os.sep))


def _after(
    walk: Iterator[tuple[str, os.stat_result]], after: tuple[str, ...]
) -> Iterator[tuple[str, os.stat_result]]:
    """The entries of a sorted walk that come after the path ``after``."""
    for path, st in walk:
        if _parts(path) > after:
            yield path, st


def _file_uri(path: str) -> str:
    return Path(os.path.abspath(path)).as_uri()


def _walk(root: str, url: str) -> Iterator[tuple[str, os.stat_result]]:
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        raise _os_error(e, url, 0) from None
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                yield from _walk(entry.path, url)
            elif entry.is_file(follow_symlinks=True):
                yield entry.path, entry.stat(follow_symlinks=True)
        except OSError:
            continue  # vanished or unreadable while listing
