"""From a URL to the store that reads it.

:class:`Stores` owns everything with a socket for one set of options: one lean HTTP/1.1
client for the GETs of plain HTTP(S) hosts, S3, GCS and Azure (or the caller's aiohttp
session for all), one S3 store per (endpoint, region), one GCS store, one Azure store, a
local store. Stores are made on first use, synchronously, and their sockets open on their
first request; a service's code (botocore for S3, google-auth for GCS) is imported only when
a URL of that service comes. HTTPS URLs of Google's and
Azure's storage hosts (and URLs under an Azure connection string's blob endpoint) go to those
services' stores, since only they can sign and list them.
The whole set closes through one ``AsyncExitStack``; a session passed in is never closed.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType
from typing import TYPE_CHECKING

import aiohttp

from ..errors import ConfigurationError
from ..options import Options
from . import azure, gcs, s3
from .azure.config import configured_endpoint
from .base import Store
from .capabilities import origin as _origin
from .http import HTTPStore
from .http1 import Http1Client
from .local import LocalStore
from .transport import lean_client

if TYPE_CHECKING:
    from aiobotocore.session import AioSession

__all__ = ["Stores", "url_scheme"]


_SCHEME_ALIASES = {"s3a": "s3", "gcs": "gs", "abfs": "az", "abfss": "az"}


def url_scheme(url: str) -> str:
    """``"s3"``, ``"gs"``, ``"az"``, ``"http"``, ``"https"``, ``"file"`` (also for plain paths)
    or another scheme; aliases (``s3a``, ``gcs``, ``abfs``, ``abfss``) give their service's."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        return "file"
    scheme = scheme.lower()
    return _SCHEME_ALIASES.get(scheme, scheme)


class Stores:
    """The stores for one set of options; an async context manager.

    ``https_as_s3`` makes HTTPS URLs of S3 objects (AWS forms, or URLs under
    ``options.endpoint_url``) S3 objects, signed with the credential chain, instead of plain
    HTTP resources.
    """

    def __init__(
        self,
        options: Options | None = None,
        http_session: aiohttp.ClientSession | None = None,
        *,
        botocore_session: AioSession | None = None,
        https_as_s3: bool = False,
    ):
        self.options = options or Options()
        self._http_session = http_session
        """The caller's aiohttp session: when given, it carries every request."""
        self._session_given = http_session is not None
        self._lean_client: Http1Client | None = None
        self._botocore_session = botocore_session
        self._https_as_s3 = https_as_s3
        self._stack = AsyncExitStack()
        self._http: HTTPStore | None = None
        self._local: LocalStore | None = None
        self._s3: dict[tuple[str | None, str | None], s3.S3Store] = {}
        self._gcs: gcs.GCSStore | None = None
        self._azure: azure.AzureStore | None = None
        self._azure_endpoint: str | None = configured_endpoint(self.options, connection_only=True)
        self._plain_origins: set[str] = set()
        """``scheme://host`` of HTTP(S) URLs known to be no cloud's, so read by the HTTP store."""
        self._endpoint_origins = {
            _origin(endpoint)
            for endpoint in (self._azure_endpoint, self.options.endpoint_url)
            if endpoint is not None
        }
        self._closed = False

    async def __aenter__(self) -> Stores:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every store made here, then the lean client (a caller's session stays open)."""
        self._closed = True
        await self._stack.aclose()
        self._http = None
        self._local = None
        self._gcs = None
        self._azure = None
        self._s3.clear()

    def __repr__(self) -> str:
        made = (["http"] if self._http else []) + (["local"] if self._local else [])
        made += (["gcs"] if self._gcs else []) + (["azure"] if self._azure else [])
        made += [f"s3({endpoint or 'aws'}, {region})" for endpoint, region in self._s3]
        return f"<Stores {', '.join(made) or 'none yet'}>"

    # --- one store per kind ---------------------------------------------------------------

    def _lean(self) -> Http1Client | None:
        """The lean client shared by the HTTP, S3, GCS and Azure stores (None when the caller
        gave an aiohttp session: theirs is used for everything)."""
        if self._session_given:
            return None
        if self._lean_client is None:
            self._lean_client = lean_client(self.options)
            self._stack.push_async_callback(self._lean_client.close)
        return self._lean_client

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("Stores used after aclose()")

    def s3_store(self, region: str | None = None, endpoint_url: str | None = None) -> s3.S3Store:
        """The S3 store for an (endpoint, region); the options' own by default."""
        self._check_open()
        key = (endpoint_url or self.options.endpoint_url, region or self.options.region)
        store = self._s3.get(key)
        if store is None:
            store = s3.S3Store(
                self.options,
                http_session=self._http_session,
                client=self._lean(),
                botocore_session=self._botocore_session,
                region=key[1],
                endpoint_url=key[0],
            )
            self._stack.push_async_callback(store.aclose)
            self._s3[key] = store
        return store

    def gcs_store(self) -> gcs.GCSStore:
        """The Google Cloud Storage store."""
        self._check_open()
        if self._gcs is None:
            self._gcs = gcs.GCSStore(
                self.options, http_session=self._http_session, client=self._lean()
            )
            self._stack.push_async_callback(self._gcs.aclose)
        return self._gcs

    def azure_store(self) -> azure.AzureStore:
        """The Azure Blob Storage store."""
        self._check_open()
        if self._azure is None:
            self._azure = azure.AzureStore(
                self.options, http_session=self._http_session, client=self._lean()
            )
            self._stack.push_async_callback(self._azure.aclose)
        return self._azure

    def http_store(self) -> HTTPStore:
        self._check_open()
        if self._http is None:
            # The caller's aiohttp session when given, else the shared lean client.
            self._http = HTTPStore(self.options, self._http_session, client=self._lean())
            self._stack.push_async_callback(self._http.aclose)
        return self._http

    def local_store(self) -> LocalStore:
        self._check_open()
        if self._local is None:
            self._local = LocalStore(self.options)
            self._stack.push_async_callback(self._local.aclose)
        return self._local

    def for_url(self, url: str) -> Store:
        """The store that reads ``url``."""
        scheme = url_scheme(url)
        if scheme == "s3":
            return self.s3_store()
        if scheme == "gs":
            return self.gcs_store()
        if scheme == "az":
            return self.azure_store()
        if scheme in ("http", "https"):
            origin = _origin(url)
            if origin in self._plain_origins:
                return self.http_store()
            if gcs.is_gcs_https(url):
                return self.gcs_store()
            if azure.parse_azure_https(url, endpoint=self._azure_endpoint) is not None:
                return self.azure_store()
            loc = self._s3_location(url)
            if loc is None:
                self._learn_plain(origin)
                return self.http_store()
            if self.options.endpoint_url is not None and loc.region is None:
                return self.s3_store()
            return self.s3_store(region=loc.region)
        if scheme == "file":
            return self.local_store()
        raise ConfigurationError(f"unsupported URL scheme {scheme!r}", url=url)

    def _s3_location(self, url: str) -> s3.S3Location | None:
        if not self._https_as_s3:
            return None
        return s3.parse_s3_https(url, endpoint_url=self.options.endpoint_url)

    def _learn_plain(self, origin: str) -> None:
        """Remember ``origin`` as plain HTTP when no URL on it could be a cloud's: the clouds
        tell their URLs by host, except under a configured endpoint, so an object URL on the
        same host that no cloud claims settles it for every URL there."""
        if origin in self._endpoint_origins or len(self._plain_origins) >= _MAX_PLAIN_ORIGINS:
            return
        probe = origin + "/bucket/key"
        if (
            gcs.is_gcs_https(probe)
            or azure.parse_azure_https(probe, endpoint=self._azure_endpoint) is not None
            or self._s3_location(probe) is not None
        ):
            return
        self._plain_origins.add(origin)


_MAX_PLAIN_ORIGINS = 4096
