"""Checks on what a server answered, shared by every store that speaks HTTP.

Pure functions over plain values (status codes, header strings, error bodies), no sockets, so
the HTTP, S3 and other transports apply exactly the same rules and tests drive them directly:
a ``Content-Range`` is parsed and held against the range asked for, a 416 is the end of the
object only when it starts at or past the end, and statuses become typed errors through a
table, never by reading message text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime

from ..errors import (
    AccessDeniedError,
    FetchError,
    FetchTimeoutError,
    ObjectChangedError,
    ObjectNotFoundError,
    RangeNotSatisfiableError,
    ResponseError,
    ServerError,
    ThrottledError,
)
from .base import RangeResult

__all__ = [
    "INCOMPLETE_BODY",
    "ContentRange",
    "Part",
    "check_if_match",
    "check_partial",
    "error_for_status",
    "etags_match",
    "parse_content_range",
    "past_end",
    "retry_after",
    "short_body",
    "xml_field",
]

INCOMPLETE_BODY = "IncompleteBody"
"""``FetchError.code`` of a :class:`ResponseError` for a body shorter than announced."""

# Status -> error class for answers that are not 200/206/416.
_STATUS_ERRORS: dict[int, type[FetchError]] = {
    401: AccessDeniedError,
    403: AccessDeniedError,
    404: ObjectNotFoundError,
    408: FetchTimeoutError,
    410: ObjectNotFoundError,
    412: ObjectChangedError,
    416: RangeNotSatisfiableError,
    429: ThrottledError,
    503: ThrottledError,
}


def error_for_status(
    status: int,
    url: str,
    offset: int,
    *,
    code: str | None = None,
    detail: str = "",
    retry_after: float | None = None,
) -> FetchError:
    """The typed error for an HTTP status (``code`` is the service's error code, if any;
    ``retry_after`` the seconds a throttling answer asked us to wait)."""
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ResponseError
    message = f"HTTP {status}" + (f" {code}" if code else "") + (f": {detail}" if detail else "")
    return cls(message, url=url, offset=offset, status=status, code=code, retry_after=retry_after)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The seconds a ``Retry-After`` header asks to wait: a number of seconds or an HTTP date
    (a date in the past is 0). ``None`` when absent or unreadable."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # the asctime form names no zone: HTTP dates are GMT
        when = when.replace(tzinfo=timezone.utc)
    return max(when.timestamp() - time.time(), 0.0)


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


@dataclass(frozen=True, slots=True)
class Part:
    """A checked part of a 206 answer: bytes ``first..last`` (inclusive) were sent, of which
    the first ``take`` answer the request; ``total`` is the object size if stated."""

    first: int
    last: int
    total: int | None
    take: int

    @property
    def sent(self) -> int:
        return self.last - self.first + 1


def check_partial(raw: str | None, url: str, start: int, end: int) -> Part:
    """Check a 206 answer's ``Content-Range`` against the range ``[start, end)`` asked for.

    The part must start at ``start`` and reach ``end`` (or the object's end, when it says
    where that is; with an unknown total a shorter part can only mean the end).
    """
    cr = parse_content_range(raw)
    if cr is None or cr.first is None or cr.last is None:
        raise ResponseError(
            f"206 answer without a usable Content-Range ({raw!r})",
            url=url,
            offset=start,
            status=206,
        )
    wanted_last = cr.last if cr.total is None else min(end, cr.total) - 1
    if cr.first != start or cr.last < wanted_last:
        raise ResponseError(
            f"asked bytes {start}-{end - 1}, answer holds {cr.first}-{cr.last}",
            url=url,
            offset=start,
            status=206,
        )
    return Part(cr.first, cr.last, cr.total, min(cr.last - cr.first + 1, end - start))


def short_body(url: str, offset: int, got: int, expected: int) -> ResponseError:
    """The (retryable) error for a body that ended before the bytes it announced."""
    return ResponseError(
        f"response body ended after {got} of {expected} bytes",
        url=url,
        offset=offset,
        code=INCOMPLETE_BODY,
    )


def past_end(url: str, start: int, total: int | None, etag: str | None) -> RangeResult:
    """The empty answer for a range starting at or after the end (HTTP 416).

    ``total`` is the object size if the server said it; a 416 for a range starting inside a
    known size is an error, not the end of the object.
    """
    if total is None and start == 0:
        total = 0  # nothing satisfies bytes=0-...: the object is empty
    if total is not None and start < total:
        raise RangeNotSatisfiableError(
            f"416 although the object holds {total} bytes", url=url, offset=start, status=416
        )
    return RangeResult(b"", start, total, etag)


def check_if_match(
    url: str, offset: int, expected: str | None, actual: str | None, *, label: str = "ETag"
) -> None:
    """Raise :class:`ObjectChangedError` when an answer's version tag ``actual`` is not the
    ``expected`` one the request pinned (servers that ignore ``If-Match`` are caught here)."""
    if expected is not None and not etags_match(expected, actual):
        raise ObjectChangedError(
            f"{label} is now {actual}, expected {expected}", url=url, offset=offset
        )


def etags_match(expected: str, actual: str | None) -> bool:
    """Weak comparison of two entity tags (``W/"x"`` equals ``"x"``); unknown ``actual`` passes."""
    if actual is None:
        return True
    return expected.removeprefix("W/") == actual.removeprefix("W/")


def xml_field(body: bytes, name: str) -> str | None:
    """The text of the first ``<name>`` element of an (S3-style XML) error body, if short."""
    m = re.search(rb"<" + name.encode() + rb">([^<]{1,256})</" + name.encode() + rb">", body)
    return m.group(1).decode("utf-8", "replace").strip() if m else None
