"""What a store can do beyond one range per request, and what each HTTP host does with Range.

Plain HTTP servers differ and nothing in a request tells which kind answers: most honour one
range and answer several at once with ``multipart/byteranges`` (nginx, Apache, Caddy); some
honour one range only and answer several with the whole body (nginx ``max_ranges 1``, Apache
``MaxRanges 1``); some ignore Range altogether (nginx ``max_ranges 0``: a 200 and the whole body
to every GET). Object stores (S3, GCS, Azure and their kin) honour one range and never several.
So each host's answers move it through a small transition table (:data:`TRANSITIONS`, kept by
:class:`HostRanges`), and the walk reads the state to choose between one multi-range request,
parallel single ranges and one streamed answer per object. An object store, known by its host
name or by the headers it answers with, is never asked for two ranges at once.

The Protocols say what a store offers on top of :class:`~.base.RangeReader`: several ranges in
one request (plain HTTP only; object stores and local files are read one range per request),
and a body read in order (every store: a server that ignores Range, a compressed object).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .base import RangeResult

__all__ = [
    "OBJECT_STORE_HEADERS",
    "OBJECT_STORE_HOSTS",
    "TRANSITIONS",
    "Answer",
    "HostRanges",
    "MultiRangeReader",
    "RangeSupport",
    "RangesResult",
    "SequentialBody",
    "StreamOpener",
    "is_object_store_host",
    "origin",
]


class RangeSupport(enum.Enum):
    """What a host does with Range, as far as its answers have shown."""

    UNKNOWN = "unknown"
    """Nothing answered yet."""
    RANGES = "ranges"
    """Honours one range per request; several at once not tried yet."""
    MULTI = "multi"
    """Answers several ranges in one request."""
    SINGLE = "single"
    """Honours one range per request but not several (they come back whole or cut to one)."""
    OBJECT_STORE = "object store"
    """An object store: one range per request, never several (for good)."""
    NONE = "none"
    """Ignores Range: every GET is answered 200 with the whole body."""

    @property
    def multi_allowed(self) -> bool:
        """Whether several ranges may be asked for in one request."""
        return self is RangeSupport.RANGES or self is RangeSupport.MULTI


class Answer(enum.Enum):
    """What one answer showed about its host."""

    PARTIAL = "206 to one range"
    FULL = "200 to a range: Range ignored"
    MULTIPART = "several ranges answered in one"
    REFUSED = "several ranges asked, fewer answered"
    OBJECT_STORE = "an object store answered"


_S = RangeSupport
_A = Answer
TRANSITIONS: Mapping[tuple[RangeSupport, Answer], RangeSupport] = {
    (_S.UNKNOWN, _A.PARTIAL): _S.RANGES,
    (_S.UNKNOWN, _A.FULL): _S.NONE,
    (_S.UNKNOWN, _A.MULTIPART): _S.MULTI,
    (_S.UNKNOWN, _A.REFUSED): _S.SINGLE,
    (_S.RANGES, _A.PARTIAL): _S.RANGES,
    (_S.RANGES, _A.FULL): _S.NONE,
    (_S.RANGES, _A.MULTIPART): _S.MULTI,
    (_S.RANGES, _A.REFUSED): _S.SINGLE,
    (_S.MULTI, _A.PARTIAL): _S.MULTI,
    (_S.MULTI, _A.FULL): _S.NONE,
    (_S.MULTI, _A.MULTIPART): _S.MULTI,
    (_S.MULTI, _A.REFUSED): _S.SINGLE,
    (_S.SINGLE, _A.PARTIAL): _S.SINGLE,
    (_S.SINGLE, _A.FULL): _S.NONE,
    (_S.SINGLE, _A.MULTIPART): _S.SINGLE,
    (_S.SINGLE, _A.REFUSED): _S.SINGLE,
    (_S.NONE, _A.PARTIAL): _S.RANGES,  # the server changed (or only some paths ignore Range)
    (_S.NONE, _A.FULL): _S.NONE,
    (_S.NONE, _A.MULTIPART): _S.MULTI,
    (_S.NONE, _A.REFUSED): _S.NONE,
    **{(state, _A.OBJECT_STORE): _S.OBJECT_STORE for state in RangeSupport},
    **{(_S.OBJECT_STORE, answer): _S.OBJECT_STORE for answer in Answer},
}
"""The state a host moves to on each kind of answer. An object store never leaves its state."""

OBJECT_STORE_HOSTS = (
    ".amazonaws.com",
    "storage.googleapis.com",
    ".storage.googleapis.com",
    ".blob.core.windows.net",
    ".r2.cloudflarestorage.com",
    ".digitaloceanspaces.com",
    ".wasabisys.com",
    ".backblazeb2.com",
    ".linodeobjects.com",
    ".aliyuncs.com",
    ".myqcloud.com",
    ".cloud-object-storage.appdomain.cloud",
)
"""Host-name endings of object stores reached over plain HTTPS."""

OBJECT_STORE_HEADERS = (
    "x-amz-request-id",
    "x-goog-generation",
    "x-goog-stored-content-length",
    "x-ms-request-id",
    "x-oss-request-id",
    "x-cos-request-id",
)
"""Answer headers only object stores (S3 and S3-compatible, GCS, Azure, OSS, COS) send."""


_ORIGINS: dict[str, str] = {}
_MAX_ORIGINS = 4096


def origin(url: str) -> str:
    """``scheme://host:port`` of an absolute URL, lower-cased and without credentials (as
    ``urlsplit`` finds the authority, without its cost: this runs several times for every
    request, so the answers for the URLs in use are kept)."""
    found = _ORIGINS.get(url)
    if found is None:
        if len(_ORIGINS) >= _MAX_ORIGINS:
            _ORIGINS.clear()
        found = _ORIGINS[url] = _origin(url)
    return found


def _origin(url: str) -> str:
    sep = url.find("://")
    if sep < 0:
        return ""
    start = sep + 3
    end = len(url)
    for mark in "/?#":
        i = url.find(mark, start, end)
        if i >= 0:
            end = i
    authority = url[start:end]
    at = authority.rfind("@")
    if at >= 0:
        authority = authority[at + 1 :]
    return f"{url[:sep]}://{authority}".lower()


def is_object_store_host(host_origin: str, extra: Sequence[str] = ()) -> bool:
    """Whether ``host_origin`` (from :func:`origin`) is an object store's, by its name.

    ``extra`` holds further origins known to be object stores (a configured S3 endpoint)."""
    if host_origin in extra:
        return True
    authority = host_origin.partition("://")[2]
    if authority.startswith("["):  # an IPv6 literal
        host = authority[: authority.find("]") + 1]
    else:
        host = authority.partition(":")[0].rstrip(".")
    return any(host.endswith(end) or host == end.lstrip(".") for end in OBJECT_STORE_HOSTS)


class HostRanges:
    """Each host's :class:`RangeSupport`, moved by :data:`TRANSITIONS` as answers come.

    Keyed by :func:`origin`; the ``max_hosts`` most recently changed hosts are kept. Object
    stores are recognised by name (``object_stores``: further origins, such as a configured S3
    endpoint) before anything is sent, and by their answer headers while a host is new.
    """

    __slots__ = ("_hosts", "_max", "_object_stores")

    def __init__(self, *, object_stores: Sequence[str] = (), max_hosts: int = 4096) -> None:
        self._hosts: OrderedDict[str, RangeSupport] = OrderedDict()
        self._max = max_hosts
        self._object_stores = tuple(origin(u) or u.lower() for u in object_stores)

    def support(self, url: str) -> RangeSupport:
        """What the host of ``url`` has shown it does with Range."""
        host = origin(url)
        state = self._hosts.get(host)
        if state is None:
            state = (
                RangeSupport.OBJECT_STORE
                if is_object_store_host(host, self._object_stores)
                else RangeSupport.UNKNOWN
            )
            self._set(host, state)
        return state

    def record(
        self, url: str, answer: Answer, headers: Mapping[str, str] | None = None
    ) -> RangeSupport:
        """Move the host of ``url`` on ``answer``; ``headers`` are the answer's, looked at for
        the marks of an object store while the host has not answered several ranges."""
        host = origin(url)
        state = self._hosts.get(host)
        if state is None:
            state = self.support(url)
        if (
            headers is not None
            and state is not RangeSupport.MULTI
            and state is not RangeSupport.OBJECT_STORE
            and any(name in headers for name in OBJECT_STORE_HEADERS)
        ):
            answer = Answer.OBJECT_STORE
        new = TRANSITIONS[(state, answer)]
        if new is not state:
            self._set(host, new)
        return new

    def _set(self, host: str, state: RangeSupport) -> None:
        self._hosts[host] = state
        self._hosts.move_to_end(host)
        if len(self._hosts) > self._max:
            self._hosts.popitem(last=False)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for state in self._hosts.values():
            counts[state.value] = counts.get(state.value, 0) + 1
        return f"<HostRanges {counts}>"


@dataclass(frozen=True, slots=True)
class RangesResult:
    """The answer to several ranges asked at once.

    ``parts`` hold the bytes the answer gave (a part may span more than one range asked, or
    be empty for a range at or past the end of the object); ``missing`` are the ranges asked
    that it did not give, to be asked again; ``discarded`` counts body bytes read and dropped
    (the framing of a multipart answer, the gaps between ranges of an answer that merged
    them or of a whole body).
    """

    parts: tuple[RangeResult, ...]
    missing: tuple[tuple[int, int], ...] = ()
    discarded: int = 0

    @property
    def data_bytes(self) -> int:
        return sum(len(p.data) for p in self.parts)


@runtime_checkable
class MultiRangeReader(Protocol):
    """Reads several ranges of one object in one request where the host answers them."""

    def range_support(self, url: str) -> RangeSupport: ...

    async def get_ranges(
        self, url: str, ranges: Sequence[tuple[int, int]], *, if_match: str | None = None
    ) -> RangesResult: ...


class SequentialBody(Protocol):
    """An open answer read front to back: the object's bytes from ``position`` on.

    ``ranged`` is False when the server ignored Range (the body starts at byte 0 and runs to
    the end of the object); ``received`` counts every body byte read off the wire, kept or
    skipped.
    """

    @property
    def position(self) -> int: ...

    @property
    def end(self) -> int | None: ...

    @property
    def object_size(self) -> int | None: ...

    @property
    def etag(self) -> str | None: ...

    @property
    def last_modified(self) -> str | None: ...

    @property
    def ranged(self) -> bool: ...

    @property
    def received(self) -> int: ...

    @property
    def skipped(self) -> int: ...

    async def read(self, n: int) -> bytes: ...

    async def skip(self, n: int) -> int: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class StreamOpener(Protocol):
    """Opens an object's body from byte ``start`` (to ``end``, or its end), to read in order.

    With ``end``, the first bytes (all of ``[start, end)``, or the first ``prefetch`` of them)
    are read before the body is returned, so that a failure on the way belongs to the request
    and is retried with it."""

    async def open_stream(
        self,
        url: str,
        start: int,
        end: int | None = None,
        *,
        if_match: str | None = None,
        prefetch: int | None = None,
    ) -> SequentialBody: ...
