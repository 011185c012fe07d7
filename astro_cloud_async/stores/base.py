"""What every store answers with, and the small Protocols stores implement.

A store only fetches byte ranges and lists keys; concurrency, retries and statistics live in
:mod:`astro_cloud_async.pool`. Ranges are half-open ``[start, end)`` everywhere, and
:func:`range_header` is the single place where one becomes an HTTP ``bytes=a-b`` header.
Listing is paged: one :meth:`Lister.list_page` call is one request, so the pool can retry and
count each page like any other request. Each store also says what a source names
(:meth:`Lister.source_kind`), so that the rules of one service (an S3 key with a dot in its
last part is an object) stay in that service's store.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar, runtime_checkable
from urllib.parse import quote, unquote, urlsplit

from ..errors import ConfigurationError

__all__ = [
    "ListPage",
    "Lister",
    "ObjectInfo",
    "RangeReader",
    "RangeResult",
    "SourceKind",
    "Store",
    "StoreBase",
    "body_range",
    "check_range",
    "key_kind",
    "listed_url_maker",
    "matches_suffix",
    "range_header",
]


@dataclass(frozen=True, slots=True)
class RangeResult:
    """The bytes ``[start, start + len(data))`` of one object.

    ``data`` is shorter than asked only at the end of the object (empty when ``start`` is at or
    past the end). ``object_size`` is the total size when the answer states it. ``discarded``
    counts body bytes read off the wire but not returned (a server that ignored Range).
    """

    data: bytes
    start: int
    object_size: int | None
    etag: str | None
    discarded: int = 0
    last_modified: str | None = None
    """The answer's ``Last-Modified``, kept where there is no ETag to tell versions apart."""

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    @property
    def at_eof(self) -> bool:
        """True when this answer reaches the end of the object, as far as it says."""
        return self.object_size is not None and self.end >= self.object_size

    def __repr__(self) -> str:
        return f"<RangeResult [{self.start}, {self.end}) of {self.object_size} etag={self.etag}>"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One listed object."""

    url: str
    size: int | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a listing; ``token`` continues it (``None``: this was the last page)."""

    objects: tuple[ObjectInfo, ...]
    token: str | None = None


class SourceKind(enum.Enum):
    """What a source names, as far as its store can tell without a request."""

    OBJECT = "object"
    """One object: read it."""
    PREFIX = "prefix"
    """A folder or key prefix: list it."""
    UNKNOWN = "unknown"
    """Either (an S3 key without a dot): one short listing tells."""


@runtime_checkable
class RangeReader(Protocol):
    """Reads the half-open byte range ``[start, end)`` of the object at ``url``."""

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult: ...


@runtime_checkable
class Lister(Protocol):
    """Lists objects under a prefix, one page (one request) per call, in key order."""

    def source_kind(self, source: str) -> SourceKind: ...

    async def list_page(
        self,
        url_prefix: str,
        token: str | None = None,
        *,
        suffixes: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> ListPage: ...


_S = TypeVar("_S")


@runtime_checkable
class Store(RangeReader, Lister, Protocol):
    """A range reader and lister that owns its connections until :meth:`aclose`."""

    async def aclose(self) -> None: ...

    async def __aenter__(self: _S) -> _S: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class StoreBase:
    """Async-context-manager plumbing shared by the concrete stores."""

    async def aclose(self) -> None:
        """Release what the store owns (nothing by default)."""

    async def __aenter__(self: _S) -> _S:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def key_kind(key: str) -> SourceKind:
    """What a bucket's key names, without a request: the bucket itself (``""``) or a key
    ending in ``/`` is a prefix, a key whose last part has a dot (``.../frame.fits``) an object
    (a list of ten million keys must not cost ten million LISTs); any other key may be either."""
    if key == "" or key.endswith("/"):
        return SourceKind.PREFIX
    if "." in key.rsplit("/", 1)[-1]:
        return SourceKind.OBJECT
    return SourceKind.UNKNOWN


def listed_url_maker(url_prefix: str, key: str, safe: str = "/-_.~") -> Callable[[str], str]:
    """Make listed objects' HTTP(S) URLs in the form the prefix was given: the prefix's URL
    up to where its (percent-encoded) ``key`` starts, then each listed key, encoded."""
    parts = urlsplit(url_prefix)
    path = parts.path
    head = path if path.endswith("/") else path + "/"
    for i in range(len(path), -1, -1):
        if (i == 0 or path[i - 1] == "/") and unquote(path[i:]) == key:
            head = path[:i]
            break
    base = f"{parts.scheme}://{parts.netloc}{head}"
    return lambda name: base + quote(name, safe=safe)


def check_range(url: str, start: int, end: int) -> None:
    """Reject a range that no store can serve (negative or empty)."""
    if start < 0 or end <= start:
        raise ConfigurationError(f"invalid byte range [{start}, {end})", url=url, offset=start)


def range_header(start: int, end: int) -> str:
    """The HTTP Range value for the half-open range ``[start, end)``: ``bytes=start-(end-1)``."""
    return f"bytes={start}-{end - 1}"


def body_range(url: str, start: int, end: int | None) -> str:
    """The Range value of a body from ``start`` to ``end`` (checked), or to the end of the
    object when ``end`` is None (``bytes=start-``)."""
    if end is None:
        return f"bytes={start}-"
    check_range(url, start, end)
    return range_header(start, end)


def matches_suffix(key: str, suffixes: tuple[str, ...] | None) -> bool:
    """Whether ``key`` ends in one of ``suffixes`` (case-insensitive); ``None`` keeps all."""
    if suffixes is None:
        return True
    lowered = key.lower()
    return any(lowered.endswith(s.lower()) for s in suffixes)
