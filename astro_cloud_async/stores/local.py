"""Local files: ``file://`` URLs and plain paths, read with ``os.pread``.

A header-sized read from the page cache costs a few microseconds, less than handing it to a
thread, so reads run inline on the event loop by default (``benchmarks/bench_get_cpu.py``
measures both); ``threads=True`` moves them to the default executor for slow disks or network
file systems. Each read opens, stats and closes the file, so an ETag built from the
modification time and size comes with every answer and a changed file is noticed. A body read
in order (:meth:`LocalStore.open_stream`, for a compressed file) keeps its file open instead,
and is read the same way, piece by piece.
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
    ObjectNotFoundError,
)
from ..options import Options
from .answers import check_if_match
from .base import (
    ListPage,
    ObjectInfo,
    RangeResult,
    SourceKind,
    StoreBase,
    check_range,
    matches_suffix,
)

__all__ = ["FileBody", "LocalStore", "is_local_dir", "local_etag", "local_path"]

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
    fd, st = _open(path, url, start, if_match)
    try:
        etag = local_etag(st)
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


def _open(path: str, url: str, start: int, if_match: str | None) -> tuple[int, os.stat_result]:
    """An open descriptor of the file and its stat, checked against ``if_match``."""
    try:
        fd = os.open(path, _O_FLAGS)
    except OSError as e:
        raise _os_error(e, url, start) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ObjectNotFoundError("is a directory", url=url, offset=start)
        check_if_match(url, start, if_match, local_etag(st))
    except BaseException:
        os.close(fd)
        raise
    return fd, st


class FileBody:
    """Bytes ``[position, end)`` of a local file, read in order from a descriptor kept open
    (:class:`~.capabilities.SequentialBody`); ``threads``: reads in the default executor."""

    __slots__ = (
        "_fd",
        "_position",
        "_received",
        "_skipped",
        "_threads",
        "_url",
        "end",
        "etag",
        "object_size",
    )

    last_modified = None
    ranged = True

    def __init__(
        self, fd: int, st: os.stat_result, url: str, start: int, end: int, *, threads: bool
    ) -> None:
        self._fd = fd
        self._url = url
        self._position = start
        self._received = 0
        self._skipped = 0
        self._threads = threads
        self.end = max(start, min(end, st.st_size))
        self.etag = local_etag(st)
        self.object_size = st.st_size

    @property
    def position(self) -> int:
        return self._position

    @property
    def received(self) -> int:
        return self._received

    @property
    def skipped(self) -> int:
        return self._skipped

    def _pread(self, n: int, at: int) -> bytes:
        try:
            return os.pread(self._fd, n, at)
        except OSError as e:
            raise _os_error(e, self._url, at) from None

    async def read(self, n: int) -> bytes:
        """The next ``n`` bytes; fewer only where the body ends."""
        want = max(0, min(n, self.end - self._position))
        if want == 0 or self._fd < 0:
            return b""
        at = self._position
        if self._threads:
            data = await asyncio.to_thread(self._pread, want, at)
        else:
            data = self._pread(want, at)
        self._position += len(data)
        self._received += len(data)
        if len(data) < want:
            self.end = self._position  # the file shrank under us: it ends here
        return data

    async def skip(self, n: int) -> int:
        """Move on ``n`` bytes without reading them (within the body)."""
        step = max(0, min(n, self.end - self._position))
        self._position += step
        return step

    async def prefetch(self, start: int, end: int) -> None:
        """Nothing to do ahead for a local file: reads are served as they come."""

    async def aclose(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __repr__(self) -> str:
        return f"<FileBody at {self._position} of [..{self.end}) size={self.object_size}>"


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

    async def open_stream(
        self,
        url: str,
        start: int,
        end: int | None = None,
        *,
        if_match: str | None = None,
        prefetch: int | None = None,
    ) -> FileBody:
        """Bytes ``[start, end)`` of the file (``end`` None: to its end) as a body read in
        order from one open descriptor; the caller closes it."""
        if end is not None:
            check_range(url, start, end)
        path = local_path(url)
        fd, st = _open(path, url, start, if_match)
        return FileBody(
            fd, st, url, start, st.st_size if end is None else end, threads=self._threads
        )

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
