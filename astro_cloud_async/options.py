"""The options shared by ``scan``, ``Client``, ``read_headers`` and the command line.

Names follow s3fs/fsspec habits (``anon``, ``requester_pays``, ``endpoint_url``, ``profile``)
so that users carry them over unchanged. One frozen dataclass holds them; every entry point
accepts them as keyword arguments and builds it with :meth:`Options.from_kwargs`, which
rejects unknown names with a :class:`ConfigurationError` instead of ignoring a typo.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError
from .fits.layout import BLOCK
from .fits.walker import (
    DEFAULT_FIRST_READ,
    DEFAULT_MAX_HDUS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_NEXT_READ,
)

__all__ = ["BLOCK", "DEFAULT_CONNECTIONS_PER_HOST", "Options"]

DEFAULT_CONNECTIONS_PER_HOST = 64
"""Where an adaptive per-host limit starts."""

_SECRET_FIELDS = frozenset({"auth", "headers", "account_key", "sas_token", "connection_string"})


@dataclass(frozen=True, slots=True)
class Options:
    """Settings for fetching and walking objects. All sizes are in bytes."""

    # Concurrency
    concurrency: int = 256
    """Requests in flight at once, over all objects and hosts."""
    connections_per_host: int | None = None
    """Requests in flight (and open connections) to any one host. ``None``: adaptive, starting
    at 64 (:data:`DEFAULT_CONNECTIONS_PER_HOST`) and growing toward ``concurrency`` while the
    host answers as fast as it did with fewer, shrinking back when its answers slow down (see
    :mod:`astro_cloud_async.pool.limits`); a number: a fixed bound, never exceeded."""
    max_objects_in_flight: int | None = None
    """Objects being walked at once; default: ``concurrency``."""

    # Read strategy
    first_read: int = DEFAULT_FIRST_READ
    """Size of the first read of an object (a TESS FFI's primary and first image header)."""
    next_read: int = DEFAULT_NEXT_READ
    """Size of a read after jumping over data to the next header."""
    predict_layout: bool = True
    """Fetch headers at predicted offsets all at once: the next object's, once objects of its
    kind share a layout, and an object's remaining extensions, once two in a row share a shape."""
    multi_range: bool = True
    """Ask for several ranges of one object in one request (``Range: bytes=a-b,c-d``) where a
    plain HTTP(S) server answers them; never sent to S3 or other object stores."""
    max_stream_bytes: int = 64 * 1024 * 1024
    """From a server that ignores Range, read at most this many bytes of one object's streamed
    answer; an object whose headers lie further fails with ``RangeNotSupportedError``."""

    # Retries and time-outs
    retries: int = 5
    """Retries after the first attempt of one request (so ``retries + 1`` attempts at most)."""
    backoff: float = 0.1
    """Base of the exponential back-off with full jitter, in seconds."""
    max_backoff: float = 10.0
    timeout: float = 30.0
    """Seconds allowed for one request, from sending it to its last byte; for plain HTTP(S),
    where aiohttp bounds each wait, seconds allowed for the answer to start and for each read
    of its body (so a long streamed answer is not cut while it flows)."""
    connect_timeout: float = 10.0

    # Object stores (S3; ``anon``, ``requester_pays`` and ``endpoint_url`` serve GCS and Azure too)
    anon: bool = False
    """Send no credentials: public buckets and containers."""
    requester_pays: bool = False
    endpoint_url: str | None = None
    """The service endpoint of the URLs' service: an S3-compatible server, a GCS emulator, an
    Azure blob endpoint."""
    region: str | None = None
    profile: str | None = None

    # Google Cloud Storage
    project: str | None = None
    """The project billed for requester-pays reads (sent as ``userProject``)."""

    # Azure Blob Storage
    account_name: str | None = None
    """The storage account of ``az://`` and ``abfs://`` URLs."""
    account_key: str | None = None
    """The account's key, for Shared Key signing (else ``AZURE_STORAGE_KEY``)."""
    sas_token: str | None = None
    """A shared access signature (else ``AZURE_STORAGE_SAS_TOKEN``, or one in the URL)."""
    connection_string: str | None = None
    """An Azure connection string (else ``AZURE_STORAGE_CONNECTION_STRING``)."""

    # HTTP
    headers: Mapping[str, str] = field(default_factory=dict)
    """Extra request headers for HTTP(S) stores (e.g. an API token)."""
    auth: Any = None
    """Credentials for HTTP(S) stores: a ``(login, password)`` pair, an ``aiohttp.BasicAuth``,
    or a ready ``Authorization`` header value such as ``"Bearer ..."``."""

    # Listing
    suffixes: tuple[str, ...] | None = None
    """Keep only listed keys ending in one of these (e.g. ``(".fits", ".fits.fz")``)."""

    # Bounds
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    """An object with no END card within this many header bytes is an error."""
    max_hdus: int = DEFAULT_MAX_HDUS

    def __post_init__(self) -> None:
        for name in (
            "concurrency",
            "connections_per_host",
            "first_read",
            "next_read",
            "max_stream_bytes",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigurationError(f"{name} must be at least 1, got {value}")
        if self.retries < 0:
            raise ConfigurationError(f"retries must be >= 0, got {self.retries}")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ConfigurationError("timeouts must be positive")
        if self.anon and self.requester_pays:
            raise ConfigurationError("anon=True and requester_pays=True cannot be combined")
        if isinstance(self.suffixes, str):
            object.__setattr__(self, "suffixes", (self.suffixes,))

    @property
    def host_limits(self) -> tuple[int, int]:
        """Where each host's limit of requests in flight starts, and how high it may grow."""
        fixed = self.connections_per_host
        if fixed is not None:
            return fixed, fixed
        start = min(DEFAULT_CONNECTIONS_PER_HOST, self.concurrency)
        return start, max(start, self.concurrency)

    @classmethod
    def from_kwargs(cls, options: Options | None = None, /, **kwargs: Any) -> Options:
        """Build options from keyword arguments, on top of ``options`` when given."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ConfigurationError(f"unknown option(s): {', '.join(unknown)}")
        base = options if options is not None else cls()
        return dataclasses.replace(base, **kwargs) if kwargs else base

    def __repr__(self) -> str:
        # Never show auth, header values, keys or SAS tokens: they may hold secrets.
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS:
                value = "<hidden>" if value else value
            if value != f.default and not (f.name == "headers" and not value):
                shown.append(f"{f.name}={value!r}")
        return f"Options({', '.join(shown)})"
