"""What every store answers with, and the one-method Protocols stores implement.

A store only fetches byte ranges and lists keys; concurrency, retries and statistics live in
:mod:`astro_cloud_async.pool`. Ranges are half-open ``[start, end)`` everywhere, and
:func:`range_header` is the single place where one becomes an HTTP ``bytes=a-b`` header.
The pure helpers here (Content-Range parsing, the retry classification) perform no I/O so the
HTTP and S3 transports share them and tests can drive them with plain values.
"""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar, runtime_checkable

from ..errors import (
    AstroCloudError,
    ConfigurationError,
    ConnectionFailedError,
    FetchError,
    FetchTimeoutError,
    ResponseError,
    ServerError,
)
from ..options import Options

__all__ = [
    "INCOMPLETE_BODY",
    "RETRYABLE_STATUS",
    "ContentRange",
    "Lister",
    "ObjectInfo",
    "RangeReader",
    "RangeResult",
    "Store",
    "StoreBase",
    "backoff_delay",
    "check_range",
    "etags_match",
    "is_retryable",
    "matches_suffix",
    "parse_content_range",
    "range_header",
]

INCOMPLETE_BODY = "IncompleteBody"
"""``FetchError.code`` of a :class:`ResponseError` for a body shorter than announced."""

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
"""HTTP statuses worth another attempt; every other 4xx is final."""


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


@runtime_checkable
class RangeReader(Protocol):
    """Reads the half-open byte range ``[start, end)`` of the object at ``url``."""

    async def get_range(
        self, url: str, start: int, end: int, *, if_match: str | None = None
    ) -> RangeResult: ...


@runtime_checkable
class Lister(Protocol):
    """Streams the objects under ``url_prefix`` (sorted by key where the backend sorts)."""

    def list(
        self, url_prefix: str, *, suffixes: tuple[str, ...] | None = None
    ) -> AsyncIterator[ObjectInfo]: ...


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


# --- ranges -------------------------------------------------------------------------------


def check_range(url: str, start: int, end: int) -> None:
    """Reject a range that no store can serve (negative or empty)."""
    if start < 0 or end <= start:
        raise ConfigurationError(f"invalid byte range [{start}, {end})", url=url, offset=start)


def range_header(start: int, end: int) -> str:
    """The HTTP Range value for the half-open range ``[start, end)``: ``bytes=start-(end-1)``."""
    return f"bytes={start}-{end - 1}"


@dataclass(frozen=True, slots=True)
class ContentRange:
    """A parsed ``Content-Range``: ``first``/``last`` inclusive, ``None`` for ``bytes */N``."""

    first: int | None
    last: int | None
    total: int | None


_CONTENT_RANGE = re.compile(
    r"^\s*bytes\s+(?:(?P<first>\d+)-(?P<last>\d+)|\*)\s*/\s*(?:(?P<total>\d+)|\*)\s*$",
    re.IGNORECASE,
)


def parse_content_range(value: str | None) -> ContentRange | None:
    """Parse ``bytes a-b/N``, ``bytes a-b/*`` or ``bytes */N``; ``None`` if absent or malformed."""
    if not value:
        return None
    m = _CONTENT_RANGE.match(value)
    if m is None:
        return None
    first, last, total = m.group("first"), m.group("last"), m.group("total")
    cr = ContentRange(
        int(first) if first is not None else None,
        int(last) if last is not None else None,
        int(total) if total is not None else None,
    )
    if cr.first is not None and cr.last is not None and cr.last < cr.first:
        return None
    if cr.first is None and cr.total is None:
        return None  # "bytes */*" says nothing
    return cr


def etags_match(expected: str, actual: str | None) -> bool:
    """Weak comparison of two entity tags (``W/"x"`` equals ``"x"``); unknown ``actual`` passes."""
    if actual is None:
        return True
    return expected.removeprefix("W/") == actual.removeprefix("W/")


def matches_suffix(key: str, suffixes: tuple[str, ...] | None) -> bool:
    """Whether ``key`` ends in one of ``suffixes`` (case-insensitive); ``None`` keeps all."""
    if suffixes is None:
        return True
    lowered = key.lower()
    return any(lowered.endswith(s.lower()) for s in suffixes)


# --- retry classification -----------------------------------------------------------------


def is_retryable(error: BaseException) -> bool:
    """Whether another attempt may succeed: server errors, throttling, time-outs, resets and
    bodies cut short. A 4xx other than 408/429 is final."""
    if isinstance(error, (ServerError, FetchTimeoutError, ConnectionFailedError)):
        return True
    if isinstance(error, ResponseError) and error.code == INCOMPLETE_BODY:
        return True
    if isinstance(error, FetchError) and error.status is not None:
        return error.status in RETRYABLE_STATUS
    if isinstance(error, AstroCloudError):
        return False
    return isinstance(error, TimeoutError)


def backoff_delay(attempt: int, options: Options, rng: random.Random | None = None) -> float:
    """Full-jitter back-off before retry number ``attempt`` (1-based), in seconds:
    uniform in ``[0, min(max_backoff, backoff * 2 ** (attempt - 1))]``."""
    ceiling = min(options.max_backoff, options.backoff * 2 ** (attempt - 1))
    return (rng or random).uniform(0.0, ceiling)
