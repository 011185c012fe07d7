"""Every exception the package raises.

One base class, :class:`AstroCloudError`, and specific subclasses that also inherit the builtin
a caller would naturally catch (a missing object is a ``FileNotFoundError``, a bad FITS object a
``ValueError``, a time-out a ``TimeoutError``). Each carries the URL of the object and, where it
is known, the byte offset at which the problem was found.

This module imports only the standard library: the I/O-free FITS core raises these too.
Messages and reprs never hold credentials: URLs are passed through :func:`redact_url` first.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .fits.cards import Card
    from .fits.header import Header

__all__ = [
    "AccessDeniedError",
    "AstroCloudError",
    "CompressedDataError",
    "CompressedObjectError",
    "CompressedStreamLimitError",
    "ConfigurationError",
    "ConnectionFailedError",
    "FITSError",
    "FetchError",
    "FetchTimeoutError",
    "HeaderTooLargeError",
    "InvalidHeaderError",
    "NotFITSError",
    "ObjectChangedError",
    "ObjectNotFoundError",
    "RangeNotSatisfiableError",
    "RangeNotSupportedError",
    "ResponseError",
    "ServerError",
    "ThrottledError",
    "TooManyHDUsError",
    "TruncatedHeaderError",
    "redact_url",
]

# Query parameters that carry secrets in presigned URLs (SigV4, SigV2, GCS, Azure SAS).
_SECRET_QUERY = re.compile(
    r"^(x-amz-(signature|credential|security-token)|signature|awsaccesskeyid|"
    r"x-goog-(signature|credential)|sig|token|access_token|api_key|apikey|key)$",
    re.IGNORECASE,
)


def redact_url(url: str | None) -> str | None:
    """Return ``url`` with user:password and secret query parameters replaced by ``REDACTED``."""
    if url is None:
        return None
    if "@" not in url and "?" not in url:
        return url  # no user part, no query: nothing to hide (the common case, kept cheap)
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "REDACTED@" + netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_QUERY.match(k) for k, _ in pairs):
            query = urlencode(
                [(k, "REDACTED" if _SECRET_QUERY.match(k) else v) for k, v in pairs], safe="/"
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class AstroCloudError(Exception):
    """Base class of every error raised by astro_cloud_async.

    ``url`` is the object concerned (credentials removed) and ``offset`` the byte offset in it
    where the problem lies, when known.
    """

    def __init__(self, message: str, *, url: str | None = None, offset: int | None = None):
        self.message = message
        self.url = redact_url(url)
        self.offset = offset
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.url is not None:
            where.append(self.url)
        if self.offset is not None:
            where.append(f"at byte {self.offset}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, url={self.url!r}, offset={self.offset!r})"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keeps errors picklable (Dask ships them between processes).
        return _rebuild, (type(self), self.message, self.url, self.offset, self.__dict__)

    def with_url(self, url: str) -> AstroCloudError:
        """Set the URL if none is set yet (the FITS core does not know it); return ``self``."""
        if self.url is None:
            self.url = redact_url(url)
        return self


def _rebuild(
    cls: type[AstroCloudError],
    message: str,
    url: str | None,
    offset: int | None,
    state: dict[str, object],
) -> AstroCloudError:
    err = cls.__new__(cls)
    AstroCloudError.__init__(err, message, url=url, offset=offset)
    err.__dict__.update(state)
    return err


class ConfigurationError(AstroCloudError, ValueError):
    """An option or URL that cannot work (unknown scheme, bad value)."""


class CompressedObjectError(ConfigurationError):
    """A read that needs byte offsets in the stored object (an image section, a cutout, a
    data checksum, a kerchunk reference) asked of a record of a gzip or bzip2 object, whose
    offsets are in the decompressed stream: it needs an uncompressed copy of the object."""


# --- FITS content -------------------------------------------------------------------------


class FITSError(AstroCloudError, ValueError):
    """The bytes are not a FITS object this package can walk."""


class NotFITSError(FITSError):
    """The object does not start with a SIMPLE (or XTENSION) card."""


class HeaderTooLargeError(FITSError):
    """No END card within the configured header size bound."""


class TruncatedHeaderError(FITSError):
    """The object ends inside a header, before its END card.

    ``header`` holds what was read of that header (``ended`` false), so its cards can be
    looked at: a file cut short in transfer, or written by software that left END out.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        offset: int | None = None,
        header: Header | None = None,
    ):
        self.header = header
        super().__init__(message, url=url, offset=offset)

    @property
    def cards(self) -> tuple[Card, ...]:
        """The cards read before the object ended (none when nothing was kept)."""
        return self.header.cards if self.header is not None else ()


class InvalidHeaderError(FITSError):
    """A header whose structural keywords (BITPIX, NAXISn, PCOUNT, GCOUNT) cannot be used."""


class TooManyHDUsError(FITSError):
    """More HDUs than the configured bound."""


class CompressedDataError(FITSError):
    """A gzip or bzip2 object whose compressed stream is damaged (bad data, a failed check,
    bytes after the last gzip member that start no member); ``offset`` counts the compressed
    bytes read when it was found."""


# --- Fetching -----------------------------------------------------------------------------


class FetchError(AstroCloudError):
    """Reading bytes from a store failed.

    ``status`` and ``code`` are the HTTP status and the service's error code, when an answer
    came; ``retry_after`` the seconds it asked to wait before another attempt (its
    ``Retry-After`` header, sent with 429 and 503), when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        offset: int | None = None,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ):
        self.status = status
        self.code = code
        self.retry_after = retry_after
        super().__init__(message, url=url, offset=offset)


class ObjectNotFoundError(FetchError, FileNotFoundError):
    """The object (or bucket) does not exist: HTTP 404, S3 NoSuchKey / NoSuchBucket."""


class AccessDeniedError(FetchError, PermissionError):
    """HTTP 401/403, S3 AccessDenied and friends."""


class FetchTimeoutError(FetchError, TimeoutError):
    """A request did not complete within its time-out (after the allowed retries)."""


class ConnectionFailedError(FetchError, ConnectionError):
    """The connection could not be made or was reset (after the allowed retries)."""


class ServerError(FetchError):
    """The server answered 5xx (after the allowed retries)."""


class ThrottledError(ServerError):
    """The server kept asking us to slow down (503 SlowDown, 429) after the allowed retries."""


class RangeNotSatisfiableError(FetchError):
    """HTTP 416 where the object was expected to hold the requested bytes."""


class RangeNotSupportedError(FetchError):
    """The server ignores Range and the object's headers lie beyond what one streamed answer
    may cost (the ``max_stream_bytes`` option)."""


class CompressedStreamLimitError(RangeNotSupportedError):
    """A gzip or bzip2 object, read as one stream, whose headers lie beyond
    ``max_stream_bytes`` compressed bytes; ``offset`` is where the walk stood in the
    decompressed stream."""


class ResponseError(FetchError):
    """An answer that does not match the request: wrong Content-Range, short body, bad status."""


class ObjectChangedError(FetchError):
    """The object changed (new ETag) between two reads of one scan."""
